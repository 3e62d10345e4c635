#include "http/auth.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>

namespace regevent {
namespace {

const std::string token = "s3cr3t-T0ken";

TEST(bearer_matches, right_token_matches) {
  EXPECT_TRUE(bearer_matches("Bearer s3cr3t-T0ken", token));
}

TEST(bearer_matches, wrong_token_is_refused) {
  EXPECT_FALSE(bearer_matches("Bearer wrong", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-t0ken", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-T0kem", token));
}

TEST(bearer_matches, prefix_and_extension_of_the_token_are_refused) {
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-T0ke", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-T0kenX", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-T0ken ", token));
}

TEST(bearer_matches, other_schemes_are_refused) {
  EXPECT_FALSE(bearer_matches("Basic s3cr3t-T0ken", token));
  EXPECT_FALSE(bearer_matches("Token s3cr3t-T0ken", token));
  EXPECT_FALSE(bearer_matches("s3cr3t-T0ken", token));
  EXPECT_FALSE(bearer_matches("Bearers3cr3t-T0ken", token));
  EXPECT_FALSE(bearer_matches("Bearer:s3cr3t-T0ken", token));
  EXPECT_FALSE(bearer_matches("XBearer s3cr3t-T0ken", token));
}

TEST(bearer_matches, scheme_is_case_insensitive) {
  // RFC 7235 §2.1: the auth-scheme is a case-insensitive token.
  EXPECT_TRUE(bearer_matches("bearer s3cr3t-T0ken", token));
  EXPECT_TRUE(bearer_matches("BEARER s3cr3t-T0ken", token));
  EXPECT_TRUE(bearer_matches("bEaReR s3cr3t-T0ken", token));
}

TEST(bearer_matches, only_letters_fold_case_in_the_scheme) {
  // Folding with `| 0x20` on every byte would take NUL for the space.
  EXPECT_FALSE(
      bearer_matches(std::string_view("Bearer\0s3cr3t-T0ken", 19), token));
  EXPECT_FALSE(bearer_matches("Bearer\ts3cr3t-T0ken", token));
}

TEST(bearer_matches, token_comparison_is_case_sensitive) {
  EXPECT_FALSE(bearer_matches("Bearer S3CR3T-T0KEN", token));
}

TEST(bearer_matches, empty_presented_token_never_matches) {
  EXPECT_FALSE(bearer_matches("", token));
  EXPECT_FALSE(bearer_matches("Bearer", token));
  EXPECT_FALSE(bearer_matches("Bearer ", token));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
  EXPECT_FALSE(bearer_matches("", ""));
}

TEST(bearer_matches, empty_configured_token_matches_nothing) {
  EXPECT_FALSE(bearer_matches("Bearer anything", ""));
  EXPECT_FALSE(bearer_matches("Bearer  ", ""));
}

TEST(bearer_matches, extra_space_is_part_of_the_token) {
  EXPECT_FALSE(bearer_matches("Bearer  s3cr3t-T0ken", token));
}

TEST(bearer_matches, tokens_with_any_bytes_compare_whole) {
  std::string binary("a\0b", 3);
  EXPECT_TRUE(bearer_matches("Bearer " + binary, binary));
  EXPECT_FALSE(bearer_matches(std::string("Bearer a"), binary));
  std::string long_token(4096, 'x');
  EXPECT_TRUE(bearer_matches("Bearer " + long_token, long_token));
  EXPECT_FALSE(bearer_matches("Bearer " + long_token + "x", long_token));
}

// --- API tokens with roles ------------------------------------------------

config auth_config(const std::string& yaml) {
  return load_config_from_string("auth:\n" + yaml);
}

/// What `printf %s TEXT | sha256sum` prints.
std::string sha256_hex(const std::string& text) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  for (unsigned char c : d) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

TEST(api_caller_of, finds_the_admin_token_and_hashed_tokens_with_their_roles) {
  ASSERT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto c = auth_config("  admin_token: root-token\n  api_tokens: [\"ci:read:"
                       + sha256_hex("reader-token") + "\", \"ops:admin:"
                       + sha256_hex("ops-token") + "\"]\n");
  auto admin = api_caller_of("Bearer root-token", c.auth);
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->name, "admin");
  EXPECT_TRUE(admin->admin);
  auto reader = api_caller_of("Bearer reader-token", c.auth);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->name, "ci");
  EXPECT_FALSE(reader->admin);
  auto ops = api_caller_of("bearer ops-token", c.auth);
  ASSERT_TRUE(ops);
  EXPECT_EQ(ops->name, "ops");
  EXPECT_TRUE(ops->admin);
  for (const char* wrong :
       {"Bearer reader-tokem", "Bearer ", "", "Basic reader-token",
        "Bearer reader-token ", "Bearer 3d2b1f8a"})
    EXPECT_FALSE(api_caller_of(wrong, c.auth)) << wrong;
  // The hash is what is configured, never the token itself.
  EXPECT_FALSE(api_caller_of(std::string("Bearer ") + sha256_hex("reader-token"),
                             c.auth));
}

TEST(api_caller_of, refuses_malformed_token_entries_at_load) {
  auto hex = sha256_hex("x");
  for (const std::string& bad :
       {std::string("ci:read"), "ci:write:" + hex, ":read:" + hex,
        "c i:read:" + hex, "ci:read:" + hex.substr(1), "ci:read:" + hex + "0",
        "ci:read:" + std::string(64, 'g')})
    EXPECT_THROW(auth_config("  api_tokens: [\"" + bad + "\"]\n"),
                 config_error)
        << bad;
  EXPECT_THROW(auth_config("  api_tokens: [\"ci:read:" + hex + "\", \"ci:admin:"
                           + hex + "\"]\n"),
               config_error);
  EXPECT_THROW(auth_config("  admin_token: t\n  api_tokens: [\"admin:read:" + hex
                           + "\"]\n"),
               config_error);
  EXPECT_NO_THROW(auth_config("  api_tokens: [\"ci.bot-1:read:" + hex + "\"]\n"));
  // One token under two names (perhaps two roles) is refused.
  EXPECT_THROW(auth_config("  api_tokens: [\"a:read:" + hex + "\", \"b:admin:"
                           + hex + "\"]\n"),
               config_error);
  // A token pasted whole instead of its hash is not repeated in the error
  // (which reaches the log).
  try {
    auth_config("  api_tokens: [\"ci:read:pasted-plain-token-instead\"]\n");
    ADD_FAILURE() << "a plain token was taken for a hash";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).find("pasted-plain-token"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("auth.api_tokens[0]"),
              std::string::npos)
        << e.what();
  }
}

// --- failed authentications ------------------------------------------------

TEST(auth_limiter, refuses_a_client_past_its_failures_until_the_window_ends) {
  auth_limiter limiter(3, std::chrono::seconds(60));
  auto t0 = auth_limiter::clock_type::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.retry_after("10.0.0.1", t0), 0u) << i;
    limiter.failed("10.0.0.1", t0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(limiter.retry_after("10.0.0.1", t0 + std::chrono::seconds(3)), 57u);
  // Others are not held up.
  EXPECT_EQ(limiter.retry_after("10.0.0.2", t0), 0u);
  EXPECT_EQ(limiter.retry_after("10.0.0.1", t0 + std::chrono::seconds(59)),
            1u);
  EXPECT_EQ(limiter.retry_after("10.0.0.1", t0 + std::chrono::seconds(60)),
            0u);
  // A new window starts from nothing.
  limiter.failed("10.0.0.1", t0 + std::chrono::seconds(61));
  EXPECT_EQ(limiter.retry_after("10.0.0.1", t0 + std::chrono::seconds(61)), 0u);
}

TEST(auth_limiter, zero_failures_is_no_limit_and_clients_are_bounded) {
  auth_limiter off(0, std::chrono::seconds(60));
  auto t0 = auth_limiter::clock_type::now();
  for (int i = 0; i < 100; ++i)
    off.failed("10.0.0.1", t0);
  EXPECT_EQ(off.retry_after("10.0.0.1", t0), 0u);
  auth_limiter small(2, std::chrono::seconds(60), 2);
  small.failed("a", t0);
  small.failed("b", t0);
  // Past the bound, new addresses share one entry: a flood of fresh ones
  // is limited as one client, and holds up only new addresses.
  small.failed("c", t0);
  EXPECT_EQ(small.retry_after("d", t0), 0u);
  small.failed("d", t0);
  EXPECT_GT(small.retry_after("c", t0), 0u);
  EXPECT_GT(small.retry_after("e", t0), 0u);
  EXPECT_EQ(small.retry_after("a", t0), 0u);
  // Once the windows end, entries go oldest first and new ones are
  // tracked on their own again.
  auto later = t0 + std::chrono::seconds(61);
  EXPECT_EQ(small.retry_after("e", later), 0u);
  small.failed("c", later);
  EXPECT_EQ(small.retry_after("c", later), 0u);
  small.failed("c", later);
  EXPECT_GT(small.retry_after("c", later), 0u);
  EXPECT_EQ(small.retry_after("e", later), 0u);
}

TEST(auth_limiter, a_right_token_marks_its_address_known_good) {
  auth_limiter limiter(1, std::chrono::seconds(60));
  EXPECT_FALSE(limiter.known_good("10.0.0.9"));
  limiter.succeeded("10.0.0.9");
  EXPECT_TRUE(limiter.known_good("10.0.0.9"));
  EXPECT_FALSE(limiter.known_good("10.0.0.8"));
}

TEST(address_of, cuts_the_port_the_server_appends) {
  EXPECT_EQ(address_of("127.0.0.1:40000"), "127.0.0.1");
  // As the server writes IPv6: without brackets. A host holds a /64.
  EXPECT_EQ(address_of("2001:db8::1:2:40000"), "2001:db8::/64");
  EXPECT_EQ(address_of("2001:db8::9:40001"), "2001:db8::/64");
  EXPECT_EQ(address_of("2001:db8:0:1::9:40001"), "2001:db8:0:1::/64");
  EXPECT_EQ(address_of("[::1]:40000"), "::/64");
  // An IPv4 client on a dual-stack socket is its IPv4 address.
  EXPECT_EQ(address_of("::ffff:127.0.0.1:40000"), "127.0.0.1");
}

} // namespace
} // namespace regevent
