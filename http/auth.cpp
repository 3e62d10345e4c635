#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <algorithm>

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

void auth_limiter::expire(clock_type::time_point now) {
  // Windows start in the order entries were made: the expired ones are at
  // the front, so that expiring costs only what it removes.
  while (!order_.empty()) {
    const auto& [client, start] = order_.front();
    auto it = clients_.find(client);
    // Not there, or made anew since (a later window): only the order entry
    // goes.
    bool current = it != clients_.end() && it->second.window_start == start;
    if (current && now < start + window_)
      break;
    if (current)
      clients_.erase(it);
    order_.pop_front();
  }
  if (now >= overflow_.window_start + window_)
    overflow_ = entry{};
}

auth_limiter::entry* auth_limiter::entry_of(const std::string& client,
                                            bool create,
                                            clock_type::time_point now) {
  auto it = clients_.find(client);
  if (it != clients_.end()) {
    if (now >= it->second.window_start + window_) {
      // Its window is over: a new one starts with this failure.
      if (!create)
        return nullptr;
      it->second = entry{now, 0};
      order_.emplace_back(client, now);
    }
    return &it->second;
  }
  if (clients_.size() >= max_clients_) {
    // Past the bound, new addresses share one entry: a flood of fresh
    // addresses (an IPv6 host has many) is limited as one client.
    if (create && overflow_.failures == 0)
      overflow_.window_start = now;
    return &overflow_;
  }
  if (!create)
    return nullptr;
  order_.emplace_back(client, now);
  return &clients_.emplace(client, entry{now, 0}).first->second;
}

uint32_t auth_limiter::retry_after(const std::string& client,
                                   clock_type::time_point now) {
  if (max_failures_ == 0)
    return 0;
  std::lock_guard<std::mutex> guard(mtx_);
  expire(now);
  const auto* e = entry_of(client, false, now);
  if (e == nullptr || e->failures < max_failures_
      || now >= e->window_start + window_)
    return 0;
  auto left = std::chrono::ceil<std::chrono::seconds>(e->window_start + window_
                                                       - now)
                  .count();
  return static_cast<uint32_t>(std::max<long long>(1, left));
}

void auth_limiter::failed(const std::string& client,
                          clock_type::time_point now) {
  if (max_failures_ == 0)
    return;
  std::lock_guard<std::mutex> guard(mtx_);
  expire(now);
  ++entry_of(client, true, now)->failures;
}

bool auth_limiter::known_good(const std::string& client) {
  std::lock_guard<std::mutex> guard(mtx_);
  return good_.count(client) > 0;
}

void auth_limiter::succeeded(const std::string& client) {
  std::lock_guard<std::mutex> guard(mtx_);
  // Bounded: the registries that notify are few.
  if (good_.size() < max_good)
    good_.insert(client);
}

std::string address_of(const std::string& remote) {
  std::string text = remote;
  if (!text.empty() && text.front() == '[') {
    auto end = text.find(']');
    text = end == std::string::npos ? text : text.substr(1, end - 1);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    // The server writes `address:port`, an IPv6 address without brackets
    // too: the port is after the last colon.
    text = text.substr(0, colon);
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(text, ec);
  if (ec || !address.is_v6())
    return text;
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6)
        .to_string();
  // One host holds a whole /64: it is one client.
  return boost::asio::ip::make_network_v6(v6, 64).canonical().to_string();
}

} // namespace regevent
