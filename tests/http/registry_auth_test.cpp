#include "http/registry_auth.hpp"

#include <gtest/gtest.h>

namespace regevent {
namespace {

using namespace std::chrono_literals;

TEST(www_authenticate, parses_a_bearer_challenge_with_commas_in_quotes) {
  auto challenges = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",)"
      R"(scope="repository:team/app:pull,push")");
  ASSERT_EQ(challenges.size(), 1u);
  const auto& c = challenges[0];
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.param("realm"), "https://auth.example/token");
  EXPECT_EQ(c.param("service"), "registry.example");
  EXPECT_EQ(c.param("scope"), "repository:team/app:pull,push");
  EXPECT_EQ(c.param("error"), "");
}

TEST(www_authenticate, unescapes_quotes_and_tolerates_spaces_and_case) {
  auto challenges = parse_www_authenticate(
      R"(BEARER  Realm = "http://a/t?x=1,y=2" , error="insufficient_scope",)"
      R"( scope="repository:a:pull repository:b:pull",x="say \"hi\"")");
  ASSERT_EQ(challenges.size(), 1u);
  const auto& c = challenges[0];
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.param("realm"), "http://a/t?x=1,y=2");
  EXPECT_EQ(c.param("error"), "insufficient_scope");
  EXPECT_EQ(c.param("scope"), "repository:a:pull repository:b:pull");
  EXPECT_EQ(c.param("x"), "say \"hi\"");
}

TEST(www_authenticate, splits_several_challenges) {
  auto challenges = parse_www_authenticate(
      R"(Basic realm="Registry Realm", Bearer realm="https://a/token",)"
      R"(service=reg,scope="repository:x:pull")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "basic");
  EXPECT_EQ(challenges[0].param("realm"), "Registry Realm");
  EXPECT_EQ(challenges[1].scheme, "bearer");
  EXPECT_EQ(challenges[1].param("service"), "reg");
  EXPECT_EQ(challenges[1].param("scope"), "repository:x:pull");
}

TEST(www_authenticate, keeps_what_precedes_a_malformed_rest) {
  auto challenges
      = parse_www_authenticate(R"(Bearer realm="https://a/token",scope="open)");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].param("realm"), "https://a/token");
  EXPECT_EQ(challenges[0].param("scope"), "");
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_TRUE(parse_www_authenticate(" , ").empty());
}

TEST(link_header, finds_the_next_page) {
  EXPECT_EQ(next_link(R"(</v2/_catalog?last=b&n=2>; rel="next")"),
            "/v2/_catalog?last=b&n=2");
  EXPECT_EQ(next_link(R"(<https://r/v2/x/tags/list?n=1&last=a>; rel="prev", )"
                      R"(<https://r/v2/x/tags/list?n=1&last=c>;rel=next)"),
            "https://r/v2/x/tags/list?n=1&last=c");
  EXPECT_FALSE(next_link(R"(</v2/_catalog?last=b&n=2>; rel="prev")"));
  EXPECT_FALSE(next_link(""));
  EXPECT_FALSE(next_link("</v2/_catalog?last=b"));
}

TEST(token_cache, keeps_a_token_per_scope_until_shortly_before_expiry) {
  token_cache cache;
  auto now = token_cache::clock::now();
  cache.store("repository:a:pull", "A", 300s, now);
  cache.store("repository:a:pull,push", "AP", 300s, now);
  EXPECT_EQ(cache.find("repository:a:pull", now), "A");
  EXPECT_EQ(cache.find("repository:a:pull,push", now), "AP");
  EXPECT_FALSE(cache.find("repository:b:pull", now));
  // Renewed 10 s before it expires.
  EXPECT_EQ(cache.find("repository:a:pull", now + 289s), "A");
  EXPECT_FALSE(cache.find("repository:a:pull", now + 290s));
  // A short-lived token is renewed at half its life.
  cache.store("registry:catalog:*", "C", 8s, now);
  EXPECT_EQ(cache.find("registry:catalog:*", now + 3s), "C");
  EXPECT_FALSE(cache.find("registry:catalog:*", now + 4s));
  cache.drop("repository:a:pull,push");
  EXPECT_FALSE(cache.find("repository:a:pull,push", now));
}

} // namespace
} // namespace regevent
