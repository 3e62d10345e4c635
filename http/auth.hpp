#pragma once

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace regevent {

/// Whether an Authorization header carries `Bearer <token>`. Compares
/// SHA-256 digests with CRYPTO_memcmp, so that neither the content nor the
/// length of the secret leaks through timing.
bool bearer_matches(std::string_view authorization, const std::string& token);

/// Who called the management API, by the token presented.
struct api_caller {
  /// The token's name: `admin` for auth.admin_token, else its
  /// auth.api_tokens name.
  std::string name;
  /// Every route; otherwise GET and HEAD only.
  bool admin = false;
};

/// The caller whose token the Authorization header carries (the admin
/// token, or one whose SHA-256 is in auth.api_tokens); nothing when none
/// matches. Digests are compared with CRYPTO_memcmp.
std::optional<api_caller> api_caller_of(std::string_view authorization,
                                        const config::auth_section& auth);

/// Failed authentications per client address: past `max_failures` within
/// a window of `window` from the first, the address is refused (429) until
/// that window ends. Thread-safe; bounded: expired entries go as new ones
/// come, and past `max_clients` addresses a new one is not tracked.
class auth_limiter {
public:
  using clock_type = std::chrono::steady_clock;

  auth_limiter(uint32_t max_failures, std::chrono::seconds window,
               size_t max_clients = 65'536);

  /// Seconds until `client` may try again; 0: now.
  uint32_t retry_after(const std::string& client, clock_type::time_point now);
  void failed(const std::string& client, clock_type::time_point now);

private:
  struct entry {
    clock_type::time_point window_start;
    uint32_t failures = 0;
  };
  const uint32_t max_failures_;
  const std::chrono::seconds window_;
  const size_t max_clients_;
  std::mutex mtx_;
  std::map<std::string, entry> clients_;
};

/// The address part of the server's `address:port` (`[v6]:port` too), as
/// the limiter keys clients: one client's connections share it.
std::string address_of(const std::string& remote);

} // namespace regevent
