#include "config/http_url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace regevent {
namespace {

http_url parsed(const std::string& url) {
  std::string error;
  auto u = parse_http_url(url, error);
  EXPECT_TRUE(u) << url << ": " << error;
  return u ? *u : http_url{};
}

std::string refused(const std::string& url) {
  std::string error;
  auto u = parse_http_url(url, error);
  EXPECT_FALSE(u) << url << " parsed";
  return error;
}

TEST(http_url, default_ports_are_implied_and_left_out_of_host) {
  auto plain = parsed("http://Example.COM");
  EXPECT_FALSE(plain.tls);
  EXPECT_EQ(plain.host, "example.com");
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.host_header, "example.com");
  EXPECT_EQ(plain.target, "/");
  auto tls = parsed("HTTPS://example.com:443/");
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.port, 443);
  EXPECT_EQ(tls.host_header, "example.com");
  auto other = parsed("https://example.com:8443/x");
  EXPECT_EQ(other.port, 8443);
  EXPECT_EQ(other.host_header, "example.com:8443");
}

TEST(http_url, target_keeps_path_and_query_as_written_without_fragment) {
  EXPECT_EQ(parsed("http://h/a/b/?x=1&y=%20z#frag").target, "/a/b/?x=1&y=%20z");
  EXPECT_EQ(parsed("http://h?q").target, "/?q");
  EXPECT_EQ(parsed("http://h/a%2Fb").target, "/a%2Fb");
}

TEST(http_url, addresses_are_marked_and_ipv6_gets_brackets_in_host) {
  auto v4 = parsed("http://127.0.0.1:8080/");
  EXPECT_TRUE(v4.host_is_address);
  EXPECT_EQ(v4.host_header, "127.0.0.1:8080");
  auto v6 = parsed("https://[::1]:9443/");
  EXPECT_TRUE(v6.host_is_address);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.host_header, "[::1]:9443");
  EXPECT_FALSE(parsed("https://localhost/").host_is_address);
}

TEST(http_url, refuses_what_is_not_an_absolute_http_url) {
  EXPECT_NE(refused("ftp://h/").find("scheme 'ftp'"), std::string::npos);
  EXPECT_NE(refused("h/path").find("no scheme"), std::string::npos);
  EXPECT_NE(refused("http:///x").find("no host"), std::string::npos);
  EXPECT_NE(refused("http://h:0/").find("out of range"), std::string::npos);
  EXPECT_NE(refused("http://h:65536/").find("out of range"), std::string::npos);
  EXPECT_NE(refused("http://h:123456789012345678901/").find("out of range"),
            std::string::npos);
  EXPECT_NE(refused("http://h/a b").find("not a valid URL"), std::string::npos);
  EXPECT_NE(refused(std::string("http://h/a\0b", 12)).find("NUL"),
            std::string::npos);
  auto credentials = refused("https://user:pa55@h/");
  EXPECT_NE(credentials.find("credentials"), std::string::npos);
  EXPECT_EQ(credentials.find("pa55"), std::string::npos);
}

} // namespace
} // namespace regevent
