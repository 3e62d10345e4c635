#pragma once

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

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

/// Failed authentications per client: past `max_failures` within a window
/// of `window` from the first, the client is refused (429) until that
/// window ends. Thread-safe and bounded: expired entries go first (in the
/// order they were made); past `max_clients` clients, new ones share one
/// entry, so a flood of fresh addresses is limited as one.
class auth_limiter {
public:
  using clock_type = std::chrono::steady_clock;

  auth_limiter(uint32_t max_failures, std::chrono::seconds window,
               size_t max_clients = 65'536);

  /// Seconds until `client` may try again; 0: now.
  uint32_t retry_after(const std::string& client, clock_type::time_point now);
  void failed(const std::string& client, clock_type::time_point now);

  /// A client that presented the notification endpoint's right token (a
  /// registry): its tokens are always compared, whatever others guessed
  /// from its address, so that it is never slowed.
  bool known_good(const std::string& client);
  void succeeded(const std::string& client);

private:
  struct entry {
    clock_type::time_point window_start{};
    uint32_t failures = 0;
  };
  static constexpr size_t max_good = 1024;

  void expire(clock_type::time_point now);
  entry* entry_of(const std::string& client, bool create,
                  clock_type::time_point now);

  const uint32_t max_failures_;
  const std::chrono::seconds window_;
  const size_t max_clients_;
  std::mutex mtx_;
  std::map<std::string, entry> clients_;
  /// Each entry's client and window start, oldest first.
  std::deque<std::pair<std::string, clock_type::time_point>> order_;
  entry overflow_;
  std::set<std::string> good_;
};

/// The client key of the server's `address:port` (`[v6]:port` too): the
/// address; an IPv6 one's /64 (one host holds all of it), an IPv4-mapped
/// one's IPv4 address.
std::string address_of(const std::string& remote);

} // namespace regevent
