#include "persistence/event.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace regevent {
namespace {

/// 2026-11-27T23:01:07Z.
constexpr timestamp_us base = 1'795'820'467'000'000;

bool parses(const std::string& text, timestamp_us& out) {
  return parse_rfc3339(text, out);
}

TEST(rfc3339, registry_nanoseconds_truncate_to_microseconds) {
  timestamp_us t = 0;
  ASSERT_TRUE(parses("2026-11-27T23:01:07.134855237Z", t));
  EXPECT_EQ(t, base + 134'855);
}

TEST(rfc3339, fractions_of_any_length) {
  timestamp_us t = 0;
  ASSERT_TRUE(parses("2026-11-27T23:01:07Z", t));
  EXPECT_EQ(t, base);
  ASSERT_TRUE(parses("2026-11-27T23:01:07.5Z", t));
  EXPECT_EQ(t, base + 500'000);
  ASSERT_TRUE(parses("2026-11-27T23:01:07.000001Z", t));
  EXPECT_EQ(t, base + 1);
  ASSERT_TRUE(parses("2026-11-27T23:01:07.35494589Z", t));
  EXPECT_EQ(t, base + 354'945);
}

TEST(rfc3339, offsets_convert_to_utc) {
  timestamp_us t = 0;
  ASSERT_TRUE(parses("2026-11-28T01:31:07+02:30", t));
  EXPECT_EQ(t, base);
  ASSERT_TRUE(parses("2026-11-27T18:01:07.25-05:00", t));
  EXPECT_EQ(t, base + 250'000);
  ASSERT_TRUE(parses("2026-11-27T23:01:07z", t));
  EXPECT_EQ(t, base);
}

TEST(rfc3339, malformed_text_is_refused) {
  for (const char* text :
       {"", "yesterday", "2026-11-27", "2026-11-27T23:01:07",
        "2026-11-27T23:01:07.Z", "2026-11-27T23:01:07Zjunk",
        "2026-11-27T23:01:07+0200", "2026-11-27T23:01:07+02",
        "2026-11-27T23:01:07+2:00", "2026-11-27T23:01:07+02:0",
        "2026-11-27T23:01:07+02:00junk", "2026-11-27T23:01:07+-1:-1",
        "2026-11-27T23:01:07 +02:00", "2026-11-27T23:01:07+"}) {
    timestamp_us t = 7;
    EXPECT_FALSE(parses(text, t)) << text;
  }
}

TEST(rfc3339, format_gives_milliseconds_in_utc) {
  EXPECT_EQ(format_rfc3339(base + 134'855), "2026-11-27T23:01:07.134Z");
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(-1'000), "1969-12-31T23:59:59.999Z");
}

TEST(rfc3339, format_parses_back) {
  timestamp_us t = 0;
  ASSERT_TRUE(parses(format_rfc3339(base + 7'000), t));
  EXPECT_EQ(t, base + 7'000);
}

TEST(now_us, is_the_wall_clock_in_microseconds) {
  // time(2) as the independent clock: a steady clock, or milli- or
  // nanoseconds, fall outside the bracket.
  const auto before = static_cast<timestamp_us>(std::time(nullptr));
  const auto now = now_us();
  const auto after = static_cast<timestamp_us>(std::time(nullptr));
  EXPECT_GE(now, before * 1'000'000);
  EXPECT_LT(now, (after + 1) * 1'000'000);
}

} // namespace
} // namespace regevent
