#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The pieces of the Registry API v2 that are pure text: the challenges of
/// `WWW-Authenticate`, the `Link` of a paged list, and the tokens the
/// Bearer flow caches. Apart from the client so that they are tested
/// without a server.
namespace regevent {

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1):
/// `Bearer realm="https://auth/token",service="registry",scope="..."`.
struct auth_challenge {
  /// Lower case: "bearer", "basic".
  std::string scheme;
  /// Parameter names lower case, values unquoted and unescaped.
  std::map<std::string, std::string> params;

  /// The parameter's value, empty when absent.
  std::string param(const std::string& name) const;
};

/// Every challenge in one header value, in order. Quoted values may hold
/// commas, `=` and escaped quotes; a malformed rest of the header ends the
/// list (what was parsed before it is kept).
std::vector<auth_challenge> parse_www_authenticate(std::string_view value);

/// The target of the `rel="next"` link of a `Link` header
/// (`</v2/_catalog?last=b&n=2>; rel="next"`), as written (relative or
/// absolute); nothing when there is none.
std::optional<std::string> next_link(std::string_view value);

/// Bearer tokens of one registry by scope, valid until shortly before they
/// expire. Thread-safe: the copy workers share a registry's client.
class token_cache {
public:
  using clock = std::chrono::steady_clock;

  /// The token for `scope`, if one is cached and not about to expire.
  std::optional<std::string> find(const std::string& scope,
                                  clock::time_point now = clock::now()) const;

  /// Keeps `token` for `scope`, `expires_in` from `now`, to be renewed
  /// `defaults::registry::token_renew_margin_s` before (or at half its
  /// lifetime when that is shorter).
  void store(const std::string& scope, std::string token,
             std::chrono::seconds expires_in,
             clock::time_point now = clock::now());

  /// Forgets the token of `scope`: the registry refused it.
  void drop(const std::string& scope);

private:
  struct entry {
    std::string token;
    clock::time_point renew_at;
  };
  mutable std::mutex mtx_;
  std::map<std::string, entry> tokens_;
};

} // namespace regevent
