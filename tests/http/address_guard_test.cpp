// The SSRF guard of webhook targets: every refused range, public addresses
// through, the allow-list letting exactly its networks pass, and IPv6 forms
// that carry an IPv4 address judged as that address.

#include "http/address_guard.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace regevent {
namespace {

namespace ip = boost::asio::ip;

std::string refusal(const address_guard& g, const std::string& a) {
  return g.refusal(ip::make_address(a));
}

/// Each refused range by its first, a middle and its last address, with the
/// kind its reason names.
const std::vector<std::pair<std::string, std::string>> refused_addresses{
    {"0.0.0.0", "'this network'"},
    {"0.255.255.255", "'this network'"},
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"10.0.0.0", "private"},
    {"10.1.2.3", "private"},
    {"10.255.255.255", "private"},
    {"172.16.0.1", "private"},
    {"172.31.255.255", "private"},
    {"192.168.0.1", "private"},
    {"192.168.255.255", "private"},
    {"169.254.0.1", "link-local"},
    {"169.254.255.255", "link-local"},
    {"169.254.169.254", "cloud metadata"},
    {"100.64.0.1", "CGNAT"},
    {"100.127.255.255", "CGNAT"},
    {"192.0.0.1", "IETF protocol assignment"},
    {"192.0.0.170", "IETF protocol assignment"},
    {"198.18.0.1", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"240.0.0.1", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"fe80::1", "link-local"},
    {"febf:ffff::1", "link-local"},
    {"fc00::1", "unique-local"},
    {"fdff:ffff::1", "unique-local"},
    {"fd00:ec2::254", "cloud metadata"},
    {"ff02::1", "multicast"},
    {"ff0e::1", "multicast"},
    {"fec0::1", "site-local"},
    // IPv4 in IPv6: mapped, compatible and NAT64 are their IPv4 address.
    {"::ffff:127.0.0.1", "loopback"},
    {"::ffff:169.254.169.254", "cloud metadata"},
    {"::ffff:10.1.2.3", "private"},
    {"::127.0.0.1", "loopback"},
    {"::192.168.1.1", "private"},
    {"64:ff9b::7f00:1", "loopback"},
};

TEST(address_guard, every_refused_range_is_refused_and_named) {
  address_guard guard;
  for (const auto& [address, kind] : refused_addresses) {
    auto why = refusal(guard, address);
    EXPECT_EQ(why.rfind(address + " is ", 0), 0u) << address << ": " << why;
    EXPECT_NE(why.find(kind), std::string::npos) << address << ": " << why;
  }
  EXPECT_EQ(refusal(guard, "127.0.0.1"), "127.0.0.1 is a loopback address");
  EXPECT_EQ(refusal(guard, "169.254.169.254"),
            "169.254.169.254 is a cloud metadata address");
}

TEST(address_guard, public_addresses_pass) {
  address_guard guard;
  for (const char* a : {"93.184.216.34",
                        "8.8.8.8",
                        "1.1.1.1",
                        "9.255.255.255",
                        "11.0.0.0",
                        "172.15.255.255",
                        "172.32.0.0",
                        "192.167.255.255",
                        "192.169.0.0",
                        "169.253.255.255",
                        "169.255.0.0",
                        "100.63.255.255",
                        "100.128.0.0",
                        "192.0.1.1",
                        "198.17.255.255",
                        "198.20.0.0",
                        "223.255.255.255",
                        "2606:4700::1111",
                        "2001:4860:4860::8888",
                        "::2:0:0:1",
                        "fbff::1",
                        "fe7f::1",
                        "::ffff:93.184.216.34",
                        "64:ff9b::5db8:d822"})
    EXPECT_EQ(refusal(guard, a), "") << a;
}

TEST(address_guard, the_allow_list_lets_exactly_its_networks_through) {
  address_guard guard({"127.0.0.0/8", "::1/128", "10.1.0.0/16",
                       "169.254.169.254/32", "fd12:3456::/32"});
  for (const char* a : {"127.0.0.1", "127.9.9.9", "::1", "10.1.2.3",
                        "10.1.255.255", "169.254.169.254", "fd12:3456::1",
                        "::ffff:127.0.0.1", "::ffff:10.1.0.1"})
    EXPECT_EQ(refusal(guard, a), "") << a;
  for (const char* a : {"10.2.0.1", "10.0.255.255", "169.254.169.253",
                        "fd12:3457::1", "::2", "192.168.1.1", "fe80::1"})
    EXPECT_NE(refusal(guard, a), "") << a;
  // One host, /32: only that address.
  address_guard one({"192.168.1.10/32"});
  EXPECT_EQ(refusal(one, "192.168.1.10"), "");
  EXPECT_NE(refusal(one, "192.168.1.11"), "");
}

TEST(address_guard, an_ipv6_allow_list_of_mapped_addresses_holds_them) {
  address_guard guard({"::ffff:127.0.0.0/104"});
  EXPECT_EQ(refusal(guard, "::ffff:127.0.0.1"), "");
  EXPECT_NE(refusal(guard, "127.0.0.1"), "")
      << "an IPv4 address is judged by the IPv4 allow-list";
}

TEST(address_guard, the_key_names_the_canonical_allow_list) {
  EXPECT_EQ(address_guard().key(), "");
  address_guard guard({"::1/128", "127.0.0.1/8"});
  EXPECT_EQ(guard.key(), "127.0.0.0/8,::1/128");
}

TEST(address_guard, a_network_that_does_not_parse_is_refused) {
  for (const char* bad :
       {"127.0.0.1", "127.0.0.0/33", "localhost/8", "::1/129", ""})
    EXPECT_THROW(address_guard({bad}), std::invalid_argument) << bad;
}

TEST(address_guard, hosts_are_judged_by_every_address_they_resolve_to) {
  address_guard guard;
  EXPECT_EQ(guard.host_refusal("127.0.0.1"),
            "127.0.0.1 is a loopback address; allow it with "
            "webhooks.allow_networks");
  EXPECT_EQ(guard.host_refusal("93.184.216.34"), "");
  EXPECT_NE(guard.host_refusal("::1").find("::1 is a loopback address"),
            std::string::npos);
  auto why = guard.host_refusal("localhost");
  EXPECT_EQ(why.rfind("localhost resolves to ", 0), 0u) << why;
  EXPECT_NE(why.find("a loopback address; allow it with "
                     "webhooks.allow_networks"),
            std::string::npos)
      << why;
  EXPECT_EQ(address_guard({"127.0.0.0/8", "::1/128"}).host_refusal("localhost"),
            "");
  why = guard.host_refusal("nothing.invalid");
  EXPECT_EQ(why.rfind("nothing.invalid does not resolve", 0), 0u) << why;
}

} // namespace
} // namespace regevent
