// Harbor's replication filter patterns, as bmatcuk/doublestar matches them
// for Harbor: cases from Harbor's filter documentation and doublestar's
// own examples.

#include "config/doublestar.hpp"

#include <gtest/gtest.h>

namespace regevent {
namespace {

TEST(doublestar, a_star_stays_within_one_component) {
  EXPECT_TRUE(doublestar_match("library/*", "library/nginx"));
  EXPECT_FALSE(doublestar_match("library/*", "library/team/nginx"));
  EXPECT_FALSE(doublestar_match("library/*", "other/nginx"));
  EXPECT_TRUE(doublestar_match("lib*/ng*", "library/nginx"));
  EXPECT_TRUE(doublestar_match("*", "latest"));
  EXPECT_FALSE(doublestar_match("*", "a/b"));
}

TEST(doublestar, a_double_star_spans_components) {
  EXPECT_TRUE(doublestar_match("**", "library/team/nginx"));
  EXPECT_TRUE(doublestar_match("library/**", "library/nginx"));
  EXPECT_TRUE(doublestar_match("library/**", "library/team/nginx"));
  EXPECT_FALSE(doublestar_match("library/**", "other/nginx"));
  EXPECT_TRUE(doublestar_match("**/nginx", "library/team/nginx"));
  EXPECT_TRUE(doublestar_match("a/**/b", "a/b"));
  EXPECT_TRUE(doublestar_match("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(doublestar_match("a/**/b", "a/x/y/c"));
}

TEST(doublestar, question_marks_classes_and_alternatives) {
  EXPECT_TRUE(doublestar_match("v1.?", "v1.2"));
  EXPECT_FALSE(doublestar_match("v1.?", "v1.10"));
  EXPECT_TRUE(doublestar_match("v[0-9]*", "v2.0"));
  EXPECT_FALSE(doublestar_match("v[0-9]*", "vx"));
  EXPECT_TRUE(doublestar_match("{latest,stable}", "stable"));
  EXPECT_FALSE(doublestar_match("{latest,stable}", "edge"));
  EXPECT_TRUE(
      doublestar_match("library/{nginx,redis-{5,6}}", "library/redis-6"));
  EXPECT_TRUE(doublestar_match("{library,team}/**", "team/a/b"));
  EXPECT_TRUE(doublestar_match("v{,1}", "v"));
}

TEST(doublestar, a_malformed_pattern_matches_nothing) {
  EXPECT_FALSE(doublestar_match("{latest", "latest"));
  EXPECT_FALSE(doublestar_match("{latest", "{latest"));
  EXPECT_FALSE(doublestar_match("v[0-9", "v1"));
}

TEST(doublestar, an_exact_name_matches_only_itself) {
  EXPECT_TRUE(doublestar_match("library/nginx", "library/nginx"));
  EXPECT_FALSE(doublestar_match("library/nginx", "library/nginx2"));
  EXPECT_FALSE(doublestar_match("library/nginx", "library"));
  EXPECT_FALSE(doublestar_match("", "a"));
}

} // namespace
} // namespace regevent
