#include "config/percent.hpp"

#include <gtest/gtest.h>

#include <string>

namespace regevent {
namespace {

TEST(percent, encode_keeps_only_unreserved_characters) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b/c?d#e&f=g+h%i@j:k"),
            "a%20b%2Fc%3Fd%23e%26f%3Dg%2Bh%25i%40j%3Ak");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(percent, encode_leaves_no_line_break_or_header_delimiter) {
  // The Link header is built from query values: CR LF must not survive.
  auto encoded = percent_encode("x\r\nX-Injected: 1;<>,\"");
  EXPECT_EQ(encoded, "x%0D%0AX-Injected%3A%201%3B%3C%3E%2C%22");
}

TEST(percent, encode_writes_every_byte_of_utf8_and_nul) {
  EXPECT_EQ(percent_encode("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(percent_encode(std::string("a\0b", 3)), "a%00b");
}

TEST(percent, decode_reverses_escapes_of_either_case) {
  EXPECT_EQ(percent_decode("pa%40ss%2fword%2F"), "pa@ss/word/");
  EXPECT_EQ(percent_decode("caf%C3%A9"), "caf\xc3\xa9");
  EXPECT_EQ(percent_decode("no escapes"), "no escapes");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(percent, decode_keeps_plus_and_malformed_escapes) {
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%ZZ%4"), "%ZZ%4");
}

TEST(percent, decode_keeps_a_nul_inside_the_string) {
  // Cutting the value at the NUL would hide it from callers that must
  // refuse it.
  EXPECT_EQ(percent_decode("a%00b"), std::string("a\0b", 3));
}

TEST(percent, decode_of_encode_is_the_identity) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c)
    every_byte += static_cast<char>(c);
  EXPECT_EQ(percent_decode(percent_encode(every_byte)), every_byte);
}

} // namespace
} // namespace regevent
