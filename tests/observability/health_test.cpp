#include "actors/observability/health.hpp"

#include <gtest/gtest.h>

namespace regevent {
namespace {

TEST(health, reports_the_most_urgent_reason_first) {
  health h;
  EXPECT_EQ(h.not_ready_reason(), "");
  h.set_failed("pull_counter died 4 times");
  EXPECT_EQ(h.not_ready_reason(), "pull_counter died 4 times");
  h.database_ok = false;
  EXPECT_EQ(h.not_ready_reason(), "database unreachable");
  h.shutting_down = true;
  EXPECT_EQ(h.not_ready_reason(), "shutting down");
}

} // namespace
} // namespace regevent
