#include "http/auth.hpp"

#include <gtest/gtest.h>

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

} // namespace
} // namespace regevent
