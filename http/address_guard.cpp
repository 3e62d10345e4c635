#include "http/address_guard.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <stdexcept>
#include <utility>

namespace regevent {

namespace ip = boost::asio::ip;

namespace {

/// Whether `net` holds `a`. Not asio's is_subnet_of: that one wants a
/// strictly longer prefix, so a /32 or /128 would hold nothing.
bool contains(const ip::network_v4& net, const ip::address_v4& a) {
  return ip::network_v4(a, net.prefix_length()).canonical() == net;
}

bool contains(const ip::network_v6& net, const ip::address_v6& a) {
  return ip::network_v6(a, net.prefix_length()).canonical() == net;
}

template<class Network>
struct refused_range {
  Network net;
  /// What an address in it is, with its article: "a loopback address".
  const char* what;
};

/// The IPv4 ranges a webhook may not reach unless allow-listed; the first
/// match names the address, so narrower ranges come before wider ones.
const std::vector<refused_range<ip::network_v4>>& refused_v4() {
  static const std::vector<refused_range<ip::network_v4>> ranges{
      {ip::make_network_v4("0.0.0.0/8"), "a 'this network' address"},
      {ip::make_network_v4("127.0.0.0/8"), "a loopback address"},
      {ip::make_network_v4("10.0.0.0/8"), "a private address"},
      {ip::make_network_v4("172.16.0.0/12"), "a private address"},
      {ip::make_network_v4("192.168.0.0/16"), "a private address"},
      {ip::make_network_v4("169.254.169.254/32"), "a cloud metadata address"},
      {ip::make_network_v4("169.254.0.0/16"), "a link-local address"},
      {ip::make_network_v4("100.64.0.0/10"), "a shared (CGNAT) address"},
      {ip::make_network_v4("192.0.0.0/24"),
       "an IETF protocol assignment address"},
      {ip::make_network_v4("198.18.0.0/15"), "a benchmarking address"},
      {ip::make_network_v4("224.0.0.0/4"), "a multicast address"},
      {ip::make_network_v4("255.255.255.255/32"), "a broadcast address"},
      {ip::make_network_v4("240.0.0.0/4"), "a reserved address"},
  };
  return ranges;
}

const std::vector<refused_range<ip::network_v6>>& refused_v6() {
  static const std::vector<refused_range<ip::network_v6>> ranges{
      {ip::make_network_v6("::/128"), "an unspecified address"},
      {ip::make_network_v6("::1/128"), "a loopback address"},
      {ip::make_network_v6("fe80::/10"), "a link-local address"},
      {ip::make_network_v6("fec0::/10"), "a site-local address"},
      {ip::make_network_v6("fd00:ec2::254/128"), "a cloud metadata address"},
      {ip::make_network_v6("fc00::/7"), "a unique-local address"},
      {ip::make_network_v6("ff00::/8"), "a multicast address"},
  };
  return ranges;
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (::ffff:0:0/96),
/// IPv4-compatible (::/96 but :: and ::1) and NAT64 (64:ff9b::/96, RFC
/// 6052), each of which a stack or a gateway may turn into that IPv4
/// address.
std::optional<ip::address_v4> embedded_v4(const ip::address_v6& a) {
  static const auto mapped = ip::make_network_v6("::ffff:0:0/96");
  static const auto compatible = ip::make_network_v6("::/96");
  static const auto nat64 = ip::make_network_v6("64:ff9b::/96");
  bool carries
      = contains(mapped, a) || contains(nat64, a)
        || (contains(compatible, a) && !a.is_unspecified() && !a.is_loopback());
  if (!carries)
    return std::nullopt;
  auto bytes = a.to_bytes();
  return ip::address_v4(
      ip::address_v4::bytes_type{bytes[12], bytes[13], bytes[14], bytes[15]});
}

} // namespace

struct address_guard::networks {
  std::vector<ip::network_v4> v4;
  std::vector<ip::network_v6> v6;

  bool allow(const ip::address_v4& a) const {
    for (const auto& n : v4)
      if (contains(n, a))
        return true;
    return false;
  }
  bool allow(const ip::address_v6& a) const {
    for (const auto& n : v6)
      if (contains(n, a))
        return true;
    return false;
  }

  /// What makes `a` refused (with its article), or nullptr.
  const char* refused(const ip::address& a) const {
    if (a.is_v6()) {
      auto v6 = a.to_v6();
      if (allow(v6))
        return nullptr;
      if (auto v4 = embedded_v4(v6))
        return refused(ip::address(*v4));
      for (const auto& r : refused_v6())
        if (contains(r.net, v6))
          return r.what;
      return nullptr;
    }
    auto v4 = a.to_v4();
    if (allow(v4))
      return nullptr;
    for (const auto& r : refused_v4())
      if (contains(r.net, v4))
        return r.what;
    return nullptr;
  }
};

address_guard::address_guard(const std::vector<std::string>& allow_networks) {
  auto nets = std::make_shared<networks>();
  for (const auto& text : allow_networks) {
    boost::system::error_code ec;
    if (text.find(':') != std::string::npos) {
      auto n = ip::make_network_v6(text, ec);
      if (!ec)
        nets->v6.push_back(n.canonical());
    } else {
      auto n = ip::make_network_v4(text, ec);
      if (!ec)
        nets->v4.push_back(n.canonical());
    }
    if (ec)
      throw std::invalid_argument("webhooks.allow_networks: '" + text
                                  + "' is not a CIDR network (address/prefix)");
  }
  for (const auto& n : nets->v4)
    key_ += (key_.empty() ? "" : ",") + n.to_string();
  for (const auto& n : nets->v6)
    key_ += (key_.empty() ? "" : ",") + n.to_string();
  allow_ = std::move(nets);
}

std::string address_guard::refusal(const ip::address& a) const {
  const char* what = allow_->refused(a);
  return what ? a.to_string() + " is " + what : std::string{};
}

std::string address_guard::host_refusal(const std::string& host) const {
  boost::system::error_code ec;
  const std::string hint = "; allow it with webhooks.allow_networks";
  auto literal = ip::make_address(host, ec);
  if (!ec) {
    auto why = refusal(literal);
    return why.empty() ? why : why + hint;
  }
  // Blocking, on the caller's thread: getaddrinfo has no cancellation, and
  // a policy is written rarely. No AI_ADDRCONFIG: every address the name
  // has counts, also of a family this host cannot reach today.
  boost::asio::io_context ioc;
  ip::tcp::resolver resolver(ioc);
  auto results
      = resolver.resolve(host, "80", ip::tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    return host + " does not resolve"
           + (ec ? " (" + ec.message() + ")" : std::string{});
  for (const auto& entry : results) {
    auto a = entry.endpoint().address();
    if (const char* what = allow_->refused(a))
      return host + " resolves to " + a.to_string() + ", " + what + hint;
  }
  return {};
}

} // namespace regevent
