#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <iterator>

namespace regevent {

namespace {

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size())
    return {};
  // Case folding applies to the letters only: `| 0x20` on every byte
  // would also take NUL for the space.
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  for (size_t i = 0; i < scheme.size(); ++i)
    if (lower(authorization[i]) != lower(scheme[i]))
      return {};
  return authorization.substr(scheme.size());
}

std::string sha256_bytes(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return std::string(reinterpret_cast<const char*>(d), SHA256_DIGEST_LENGTH);
}

bool same_digest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

bool bearer_matches(std::string_view authorization, const std::string& token) {
  auto presented = bearer_token(authorization);
  return !presented.empty()
         && same_digest(sha256_bytes(presented), sha256_bytes(token));
}

std::optional<api_caller> api_caller_of(std::string_view authorization,
                                        const config::auth_section& auth) {
  auto presented = bearer_token(authorization);
  if (presented.empty())
    return std::nullopt;
  auto digest = sha256_bytes(presented);
  std::optional<api_caller> found;
  if (!auth.admin_token.empty()
      && same_digest(digest, sha256_bytes(auth.admin_token)))
    found = api_caller{"admin", true};
  // Every entry is compared, found or not: the time taken does not tell
  // which one matched.
  for (const auto& t : auth.tokens)
    if (same_digest(digest, t.sha256) && !found)
      found = api_caller{t.name, t.admin};
  return found;
}

auth_limiter::auth_limiter(uint32_t max_failures, std::chrono::seconds window,
                           size_t max_clients)
    : max_failures_(max_failures), window_(window), max_clients_(max_clients) {}

uint32_t auth_limiter::retry_after(const std::string& client,
                                   clock_type::time_point now) {
  if (max_failures_ == 0)
    return 0;
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = clients_.find(client);
  if (it == clients_.end())
    return 0;
  auto ends = it->second.window_start + window_;
  if (now >= ends) {
    clients_.erase(it);
    return 0;
  }
  if (it->second.failures < max_failures_)
    return 0;
  auto left = std::chrono::ceil<std::chrono::seconds>(ends - now).count();
  return static_cast<uint32_t>(std::max<long long>(1, left));
}

void auth_limiter::failed(const std::string& client,
                          clock_type::time_point now) {
  if (max_failures_ == 0)
    return;
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = clients_.find(client);
  if (it != clients_.end() && now >= it->second.window_start + window_) {
    clients_.erase(it);
    it = clients_.end();
  }
  if (it == clients_.end()) {
    if (clients_.size() >= max_clients_) {
      // Many addresses at once: drop the ones whose window is over before
      // taking a new one; a flood of fresh addresses is not tracked.
      for (auto i = clients_.begin(); i != clients_.end();)
        i = now >= i->second.window_start + window_ ? clients_.erase(i)
                                                    : std::next(i);
      if (clients_.size() >= max_clients_)
        return;
    }
    it = clients_.emplace(client, entry{now, 0}).first;
  }
  ++it->second.failures;
}

std::string address_of(const std::string& remote) {
  if (!remote.empty() && remote.front() == '[') {
    auto end = remote.find(']');
    return end == std::string::npos ? remote : remote.substr(1, end - 1);
  }
  // The server writes `address:port`, an IPv6 address without brackets
  // too: the port is after the last colon.
  auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

} // namespace regevent
