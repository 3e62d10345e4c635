#include "persistence/secret_box.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace regevent {
namespace {

// Two keys as `openssl rand -base64 32` prints them (test values).
const std::string key_a = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
const std::string key_b = "Wm9x3mSxN7hZ2C6kq0bq8u3i2vQ0n1rC0yR4v9oYQ1k=";

TEST(secret_box, a_sealed_value_opens_with_its_key_and_column_only) {
  secret_box a(key_a), b(key_b);
  auto sealed = a.seal("Bearer s3cret-token", "webhook_targets.auth_header");
  EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
  EXPECT_EQ(sealed.find("s3cret"), std::string::npos);
  EXPECT_EQ(a.open(sealed, "webhook_targets.auth_header"),
            std::optional<std::string>("Bearer s3cret-token"));
  // Another key, or the value copied into another column: nothing.
  EXPECT_EQ(b.open(sealed, "webhook_targets.auth_header"), std::nullopt);
  EXPECT_EQ(a.open(sealed, "webhook_targets.secret"), std::nullopt);
}

TEST(secret_box, each_seal_is_fresh_and_tampering_is_caught) {
  secret_box a(key_a);
  auto one = a.seal("same", "c");
  auto two = a.seal("same", "c");
  EXPECT_NE(one, two); // a new nonce each time
  // Flip one character of the cipher text.
  auto tampered = one;
  auto& c = tampered[tampered.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(a.open(tampered, "c"), std::nullopt);
  EXPECT_EQ(a.open("v1:not base64!", "c"), std::nullopt);
  EXPECT_EQ(a.open("plain text", "c"), std::nullopt);
}

TEST(secret_box, keys_must_be_32_bytes_of_base64_and_empty_stays_empty) {
  EXPECT_THROW(secret_box("c2hvcnQ="), std::invalid_argument);
  EXPECT_THROW(secret_box("not base64 at all"), std::invalid_argument);
  secret_box none("");
  EXPECT_FALSE(none.has_key());
  EXPECT_EQ(none.seal("", "c"), "");
  EXPECT_THROW(none.seal("x", "c"), std::logic_error);
  EXPECT_EQ(none.open("", "c"), std::optional<std::string>(""));
  EXPECT_EQ(none.open(secret_box(key_a).seal("x", "c"), "c"), std::nullopt);
}

} // namespace
} // namespace regevent
