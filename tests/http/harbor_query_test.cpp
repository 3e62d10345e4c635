#include "http/harbor_query.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace regevent {
namespace {

using match = query_term::match;
using values = std::vector<std::string>;

/// One key of each type, and keys that only filter or only sort.
constexpr list_key test_keys[] = {
    {"name", key_type::text, true, true},
    {"size", key_type::integer, true, true},
    {"public", key_type::boolean, true, false},
    {"push_time", key_type::time, true, true},
    {"repo_count", key_type::integer, false, true},
    {"project_id", key_type::integer, true, true},
    {"creation_time", key_type::time, true, true},
};

template<size_t N = std::size(test_keys)>
list_query accepted(const std::string& q, const std::string& sort = "",
                    const list_key (&keys)[N] = test_keys) {
  list_query out;
  auto error = parse_list_query(q, sort, keys, out);
  EXPECT_FALSE(error) << "q=" << q << " sort=" << sort << ": "
                      << error.value_or("");
  return out;
}

template<size_t N = std::size(test_keys)>
std::string refused(const std::string& q, const std::string& sort = "",
                    const list_key (&keys)[N] = test_keys) {
  list_query out;
  auto error = parse_list_query(q, sort, keys, out);
  EXPECT_TRUE(error) << "accepted q=" << q << " sort=" << sort;
  return error.value_or("");
}

/// The only term of q, or an empty one (after a failed expectation).
query_term only_term(const std::string& q) {
  auto out = accepted(q);
  EXPECT_EQ(out.terms.size(), 1u) << "q=" << q;
  return out.terms.empty() ? query_term{} : out.terms.front();
}

#define EXPECT_CONTAINS(text, part)                                            \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                   \
      << "\"" << (text) << "\" lacks \"" << (part) << "\""

const std::string kv_message
    = "the query string must contain \"=\" and the key/value cannot be empty";

// --- the forms of q ----------------------------------------------------------

TEST(harbor_query_q, empty_q_and_sort_ask_nothing) {
  auto out = accepted("", "");
  EXPECT_TRUE(out.terms.empty());
  EXPECT_TRUE(out.sort.empty());
}

TEST(harbor_query_q, output_is_cleared_first) {
  list_query out;
  out.terms.push_back({"stale", match::exact, {"x"}});
  out.sort.push_back({"stale", true});
  EXPECT_FALSE(parse_list_query("name=a", "", test_keys, out));
  ASSERT_EQ(out.terms.size(), 1u);
  EXPECT_EQ(out.terms[0].key, "name");
  EXPECT_TRUE(out.sort.empty());
}

TEST(harbor_query_q, exact_text_is_taken_as_written) {
  auto t = only_term("name=library/nginx");
  EXPECT_EQ(t.key, "name");
  EXPECT_EQ(t.kind, match::exact);
  EXPECT_EQ(t.values, values{"library/nginx"});
  // Harbor trims no exact value.
  EXPECT_EQ(only_term("name= a ").values, values{" a "});
  // The key ends at the first `=`.
  EXPECT_EQ(only_term("name=a=b").values, values{"a=b"});
}

TEST(harbor_query_q, backslash_escapes_an_exact_value) {
  for (auto [q, value] : {std::pair{"name=\\~a", "~a"},
                          {"name=\\[1~2]", "[1~2]"},
                          {"name=\\{a}", "{a}"},
                          {"name=\\(a)", "(a)"},
                          {"name=\\\\a", "\\a"}}) {
    auto t = only_term(q);
    EXPECT_EQ(t.kind, match::exact) << q;
    EXPECT_EQ(t.values, values{value}) << q;
  }
}

TEST(harbor_query_q, fuzzy_text) {
  auto t = only_term("name=~ngin");
  EXPECT_EQ(t.kind, match::fuzzy);
  EXPECT_EQ(t.values, values{"ngin"});
  EXPECT_EQ(only_term("name=~~").values, values{"~"});
  // Not trimmed, as Harbor's parseFuzzyMatchValue.
  EXPECT_EQ(only_term("name=~ a").values, values{" a"});
}

TEST(harbor_query_q, fuzzy_needs_a_character_after_the_tilde) {
  auto e = refused("name=~");
  EXPECT_CONTAINS(e,
                  "invalid query string value: ~: fuzzy match value must "
                  "start with \"~\" and contain at least 1 other characters");
}

TEST(harbor_query_q, fuzzy_needs_a_text_key) {
  EXPECT_CONTAINS(refused("size=~1"),
                  "\"size\" is an integer key: it takes no fuzzy match");
  EXPECT_CONTAINS(refused("public=~t"),
                  "\"public\" is a boolean key: it takes no fuzzy match");
  EXPECT_CONTAINS(refused("push_time=~2021"),
                  "\"push_time\" is a time key: it takes no fuzzy match");
}

TEST(harbor_query_q, integer_range) {
  auto t = only_term("size=[1~10]");
  EXPECT_EQ(t.kind, match::range);
  EXPECT_EQ(t.values, (values{"1", "10"}));
  EXPECT_EQ(only_term("size=[~10]").values, (values{"", "10"}));
  EXPECT_EQ(only_term("size=[5~]").values, (values{"5", ""}));
  // Ends are trimmed of space, then of quotes.
  EXPECT_EQ(only_term("size=[ 5 ~ 7 ]").values, (values{"5", "7"}));
  EXPECT_EQ(only_term("size=['5'~\"7\"]").values, (values{"5", "7"}));
}

TEST(harbor_query_q, a_quoted_empty_end_is_a_value_not_an_open_end) {
  EXPECT_CONTAINS(refused("size=[\"\"~5]"), "\"size\" needs a 64-bit integer");
}

TEST(harbor_query_q, time_range_in_both_harbor_layouts) {
  auto t = only_term("push_time=[2021-01-01T00:00:00~2021-01-02 00:00:00]");
  EXPECT_EQ(t.kind, match::range);
  EXPECT_EQ(t.values, (values{"1609459200000000", "1609545600000000"}));
  EXPECT_EQ(only_term("push_time=[~2021-01-02T00:00:00Z]").values,
            (values{"", "1609545600000000"}));
}

TEST(harbor_query_q, malformed_ranges_answer_harbors_message) {
  const std::string shape = "range must start with \"[\", end with \"]\" and "
                            "contains only one \"~\"";
  for (auto q :
       {"size=[1~2~3]", "size=[1~2", "size=[12]", "size=[", "size=[~]]~"})
    EXPECT_CONTAINS(refused(q), shape) << q;
  EXPECT_CONTAINS(refused("size=[1~2~3]"),
                  "invalid query string value: [1~2~3]: ");
  for (auto q : {"size=[~]", "size=[ ~ ]"})
    EXPECT_CONTAINS(refused(q), "min and max at least one should be set in "
                                "range")
        << q;
}

TEST(harbor_query_q, range_needs_an_integer_or_time_key) {
  EXPECT_CONTAINS(refused("name=[a~b]"),
                  "\"name\" is a text key: it takes no range");
  EXPECT_CONTAINS(refused("public=[0~1]"),
                  "\"public\" is a boolean key: it takes no range");
}

TEST(harbor_query_q, or_list) {
  auto t = only_term("size={1 2  3}");
  EXPECT_EQ(t.kind, match::any_of);
  EXPECT_EQ(t.values, (values{"1", "2", "3"}));
  // Split on spaces only, then each value trimmed of space and quotes.
  EXPECT_EQ(only_term("name={'a' \"b\" \"\" c\t}").values,
            (values{"a", "b", "c"}));
  EXPECT_EQ(only_term("name={\"x y\"}").values, (values{"x", "y"}));
  EXPECT_EQ(only_term("public={true 0}").values, (values{"1", "0"}));
  EXPECT_EQ(only_term("push_time={2021-01-01T00:00:00}").values,
            values{"1609459200000000"});
}

TEST(harbor_query_q, list_values_are_trimmed_of_unicode_space_as_go_does) {
  // U+00A0 and U+3000 around, U+2003 inside a value of one item.
  EXPECT_EQ(only_term("size={\xC2\xA0"
                      "5\xE3\x80\x80}")
                .values,
            values{"5"});
  EXPECT_EQ(only_term("size=[\xE2\x80\x83"
                      "1~2]")
                .values,
            (values{"1", "2"}));
  // A byte that is not UTF-8 stops the trim (and is no integer).
  EXPECT_CONTAINS(refused("size={5\xFF}"), "\"size\" needs a 64-bit integer");
}

TEST(harbor_query_q, an_empty_or_list_is_refused) {
  EXPECT_CONTAINS(refused("name={}"), "the list of \"name\" in q is empty");
  EXPECT_CONTAINS(refused("name={ \"\" '' }"),
                  "the list of \"name\" in q is empty");
}

TEST(harbor_query_q, malformed_lists_answer_harbors_message) {
  EXPECT_CONTAINS(refused("name={a b"),
                  "invalid query string value: {a b: or list must start "
                  "with \"{\" and end with \"}\"");
  EXPECT_CONTAINS(refused("name={"), "or list must start with");
  EXPECT_CONTAINS(refused("name=(a b"),
                  "and list must start with \"(\" and end with \")\"");
  EXPECT_CONTAINS(refused("name=("), "and list must start with");
}

TEST(harbor_query_q, list_values_are_checked_by_type) {
  EXPECT_CONTAINS(refused("size={1 x}"), "\"size\" needs a 64-bit integer, "
                                         "not \"x\"");
}

TEST(harbor_query_q, and_lists_are_kept_as_all_of_terms) {
  // Harbor's ORM skips them; regevent applies what the client asked for.
  auto out = accepted("name=(a b),size=(1 7)");
  ASSERT_EQ(out.terms.size(), 2u);
  EXPECT_EQ(out.terms[0].kind, match::all_of);
  EXPECT_EQ(out.terms[0].values, (values{"a", "b"}));
  EXPECT_EQ(out.terms[1].values, (values{"1", "7"}));
  EXPECT_CONTAINS(refused("size=(1 x)"), "\"size\" needs a 64-bit integer");
}

TEST(harbor_query_q, integer_values_are_normalized) {
  EXPECT_EQ(only_term("size=42").values, values{"42"});
  // A plus must reach Harbor's second unescape as `%2B`.
  EXPECT_EQ(only_term("size=%2B5").values, values{"5"});
  EXPECT_EQ(only_term("size=-0").values, values{"0"});
  EXPECT_EQ(only_term("size=007").values, values{"7"});
  EXPECT_EQ(only_term("size=-9223372036854775808").values,
            values{"-9223372036854775808"});
  EXPECT_EQ(only_term("size=9223372036854775807").values,
            values{"9223372036854775807"});
}

TEST(harbor_query_q, values_that_are_no_integer_are_refused) {
  for (auto v : {"9223372036854775808", "-9223372036854775809", "1.5", "1e3",
                 "0x10", "%2B-5", "-", "%2B", " 5", "5 ", "abc", "1_000"})
    EXPECT_CONTAINS(refused(std::string("size=") + v),
                    "\"size\" needs a 64-bit integer, not \"");
  EXPECT_CONTAINS(refused("size=1.5"),
                  "\"size\" needs a 64-bit integer, not \"1.5\"");
}

TEST(harbor_query_q, boolean_values_are_normalized) {
  for (auto v : {"true", "TRUE", "True", "1"})
    EXPECT_EQ(only_term(std::string("public=") + v).values, values{"1"}) << v;
  for (auto v : {"false", "FALSE", "0"})
    EXPECT_EQ(only_term(std::string("public=") + v).values, values{"0"}) << v;
  for (auto v : {"yes", "t", "2", "truee"})
    EXPECT_CONTAINS(refused(std::string("public=") + v),
                    "\"public\" needs true or false, not \"" + std::string(v)
                        + "\"");
}

TEST(harbor_query_q, time_values_are_microseconds) {
  for (auto v : {"2021-03-04T05:06:07", "2021-03-04 05:06:07",
                 "2021-03-04T05:06:07Z", "2021-03-04T07:06:07%2B02:00"})
    EXPECT_EQ(only_term(std::string("push_time=") + v).values,
              values{"1614834367000000"})
        << v;
  EXPECT_CONTAINS(refused("push_time=2021-02-30T00:00:00"),
                  "\"push_time\" needs a time");
  EXPECT_CONTAINS(refused("push_time=2021-02-30T00:00:00"),
                  "not \"2021-02-30T00:00:00\"");
  // A plus that reaches Harbor's second unescape is a space.
  EXPECT_CONTAINS(refused("push_time=2021-03-04T07:06:07+02:00"),
                  "not \"2021-03-04T07:06:07 02:00\"");
}

TEST(harbor_query_q, text_must_be_utf8_without_nul) {
  EXPECT_CONTAINS(refused("name=a%00b"),
                  "the value of \"name\" contains a NUL byte");
  EXPECT_CONTAINS(refused("name=%FF"), "the value of \"name\" is not valid "
                                       "UTF-8");
  EXPECT_CONTAINS(refused("name=~\xC0\xAF"), "is not valid UTF-8");
  EXPECT_EQ(only_term("name=caf\xC3\xA9").values, values{"caf\xC3\xA9"});
  // Only what reaches the store is checked.
  EXPECT_TRUE(accepted("other=%FF%00").terms.empty());
}

TEST(harbor_query_q, artifact_tags_take_star_and_nil_unchanged) {
  auto tagged = accepted("tags=*", "", artifact_keys);
  ASSERT_EQ(tagged.terms.size(), 1u);
  EXPECT_EQ(tagged.terms[0].key, "tags");
  EXPECT_EQ(tagged.terms[0].kind, match::exact);
  EXPECT_EQ(tagged.terms[0].values, values{"*"});
  auto untagged = accepted("tags=nil", "", artifact_keys);
  ASSERT_EQ(untagged.terms.size(), 1u);
  EXPECT_EQ(untagged.terms[0].values, values{"nil"});
  auto fuzzy = accepted("tags=~v1", "", artifact_keys);
  ASSERT_EQ(fuzzy.terms.size(), 1u);
  EXPECT_EQ(fuzzy.terms[0].kind, match::fuzzy);
}

TEST(harbor_query_q, artifact_tags_take_lists_but_no_range) {
  for (auto q : {"tags=[a~b]", "Tags=[a~]"})
    EXPECT_CONTAINS(refused(q, "", artifact_keys),
                    "the value of \"tags\" query can only be fuzzy match value, "
                    "exact match value or a list")
        << q;
  auto any = accepted("tags={a b}", "", artifact_keys);
  ASSERT_EQ(any.terms.size(), 1u);
  EXPECT_EQ(any.terms[0].kind, match::any_of);
  auto all = accepted("tags=(a b)", "", artifact_keys);
  ASSERT_EQ(all.terms.size(), 1u);
  EXPECT_EQ(all.terms[0].kind, match::all_of);
}

TEST(harbor_query_q, keys_the_list_does_not_filter_by_are_ignored) {
  auto out = accepted("color=red,repo_count=5,name=a,size__gte=3");
  ASSERT_EQ(out.terms.size(), 1u);
  EXPECT_EQ(out.terms[0].key, "name");
  // Ignored keys' values are not checked against any type.
  EXPECT_TRUE(accepted("repo_count=x,other=[a~b]").terms.empty());
}

TEST(harbor_query_q, malformed_values_fail_even_under_unknown_keys) {
  // Harbor parses all of q before it looks at a key.
  EXPECT_CONTAINS(refused("color=[1~"), "range must start with");
  EXPECT_CONTAINS(refused("color=~"), "fuzzy match value must start");
}

TEST(harbor_query_q, go_field_names_and_snake_case_name_the_same_key) {
  auto t = only_term("ProjectID=5");
  EXPECT_EQ(t.key, "project_id");
  EXPECT_EQ(only_term("CreationTime=[~2021-01-01T00:00:00]").key,
            "creation_time");
  EXPECT_EQ(only_term("Name=a").key, "name");
  // Still not a key of the list.
  EXPECT_TRUE(accepted("RepoCount=5").terms.empty());
}

TEST(harbor_query_q, the_last_value_of_a_key_wins) {
  auto out = accepted("name=a,size=1,name=~b");
  ASSERT_EQ(out.terms.size(), 2u);
  EXPECT_EQ(out.terms[0].key, "name");
  EXPECT_EQ(out.terms[0].kind, match::fuzzy);
  EXPECT_EQ(out.terms[0].values, values{"b"});
  EXPECT_EQ(out.terms[1].key, "size");
  // An overridden value is never used, so never checked.
  EXPECT_EQ(only_term("size=abc,size=5").values, values{"5"});
  EXPECT_EQ(only_term("name=a,Name=b").values, values{"b"});
}

TEST(harbor_query_q, terms_keep_the_order_of_q) {
  auto out = accepted("size=1,public=true,name=a");
  ASSERT_EQ(out.terms.size(), 3u);
  EXPECT_EQ(out.terms[0].key, "size");
  EXPECT_EQ(out.terms[1].key, "public");
  EXPECT_EQ(out.terms[2].key, "name");
}

TEST(harbor_query_q, every_item_needs_a_key_and_a_value) {
  for (auto q :
       {"name", "=a", "name=", ",", "name=a,", ",name=a", "name=a,,", " "})
    EXPECT_EQ(refused(q), kv_message) << q;
}

// --- Harbor's second unescape ------------------------------------------------

TEST(harbor_query_q, double_encoded_q_is_decoded_once_more) {
  auto t = accepted("tags%3Dnil", "", artifact_keys);
  ASSERT_EQ(t.terms.size(), 1u);
  EXPECT_EQ(t.terms[0].values, values{"nil"});
  auto out = accepted("name%3D~a%2Csize%3D%5B1~2%5D");
  ASSERT_EQ(out.terms.size(), 2u);
  EXPECT_EQ(out.terms[0].kind, match::fuzzy);
  EXPECT_EQ(out.terms[1].values, (values{"1", "2"}));
}

TEST(harbor_query_q, plus_is_a_space_and_an_escaped_plus_a_plus) {
  EXPECT_EQ(only_term("name=a+b").values, values{"a b"});
  EXPECT_EQ(only_term("name=a%2Bb").values, values{"a+b"});
  EXPECT_EQ(only_term("size={1+2}").values, (values{"1", "2"}));
}

TEST(harbor_query_q, a_malformed_escape_leaves_q_as_it_came) {
  EXPECT_EQ(only_term("name=100%").values, values{"100%"});
  EXPECT_EQ(only_term("name=a+b%zz").values, values{"a+b%zz"});
  EXPECT_EQ(only_term("name=%41%4").values, values{"%41%4"});
}

// --- bounds ------------------------------------------------------------------

TEST(harbor_query_q, q_length_is_bounded) {
  std::string at_limit
      = "name=" + std::string(query_limits::max_q_length - 5, 'a');
  EXPECT_EQ(only_term(at_limit).values[0].size(),
            query_limits::max_q_length - 5);
  EXPECT_CONTAINS(refused(at_limit + "a"), "q is longer than 4096 characters");
}

TEST(harbor_query_q, q_terms_are_bounded) {
  std::string q = "name=a";
  for (size_t i = 1; i < query_limits::max_terms; ++i)
    q += ",x" + std::to_string(i) + "=1";
  EXPECT_EQ(accepted(q).terms.size(), 1u);
  EXPECT_CONTAINS(refused(q + ",y=1"), "q has more than 16 terms");
  // Counted after the second unescape, as the items Harbor splits.
  EXPECT_CONTAINS(refused(q + "%2Cy=1"), "q has more than 16 terms");
}

TEST(harbor_query_q, list_values_are_bounded) {
  std::string list;
  for (size_t i = 0; i < query_limits::max_list_values; ++i)
    list += std::to_string(i) + " ";
  EXPECT_EQ(only_term("size={" + list + "}").values.size(),
            query_limits::max_list_values);
  EXPECT_CONTAINS(refused("size={" + list + "x}"),
                  "the list of \"size\" in q has more than 100 values");
  EXPECT_CONTAINS(refused("other=(" + list + "x)"),
                  "the list of \"other\" in q has more than 100 values");
}

TEST(harbor_query_sort, sort_keys_are_bounded) {
  std::string sort = "name";
  for (size_t i = 1; i < query_limits::max_sort_keys; ++i)
    sort += ",-size";
  EXPECT_EQ(accepted("", sort).sort.size(), 2u);
  EXPECT_CONTAINS(refused("", sort + ",x"), "sort has more than 8 keys");
}

// --- sort --------------------------------------------------------------------

/// Each key of `sort` as the parser reads it, with whether it descends.
template<size_t N = std::size(test_keys)>
std::vector<std::pair<std::string, bool>>
sorted_by(const std::string& sort, const list_key (&keys)[N] = test_keys) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& s : accepted("", sort, keys).sort)
    out.emplace_back(s.key, s.descending);
  return out;
}

using sorts = std::vector<std::pair<std::string, bool>>;

TEST(harbor_query_sort, keys_in_order_minus_for_descending) {
  EXPECT_EQ(sorted_by("name,-creation_time,size"),
            (sorts{{"name", false}, {"creation_time", true}, {"size", false}}));
}

TEST(harbor_query_sort, keys_the_list_does_not_sort_by_are_ignored) {
  // public: filter only; repo_count: sort only.
  EXPECT_EQ(sorted_by("color,-public,repo_count"),
            (sorts{{"repo_count", false}}));
  // Harbor trims nothing and decodes nothing in sort.
  EXPECT_EQ(sorted_by("--name, name,+name,name%2Csize,-,,"), sorts{});
}

TEST(harbor_query_sort, a_repeated_key_keeps_its_first_order) {
  EXPECT_EQ(sorted_by("-name,name,size"),
            (sorts{{"name", true}, {"size", false}}));
}

TEST(harbor_query_sort, go_field_names_sort_too) {
  EXPECT_EQ(sorted_by("-CreationTime,ProjectID"),
            (sorts{{"creation_time", true}, {"project_id", false}}));
  // Neither a column nor a Go field name.
  EXPECT_EQ(sorted_by("creationTime,Creation_time"), sorts{});
}

TEST(harbor_query_sort, real_tables_sort_by_their_keys) {
  EXPECT_EQ(sorted_by("-op_time,username", audit_keys),
            (sorts{{"op_time", true}, {"username", false}}));
  // tags filters artifacts but does not sort them.
  EXPECT_EQ(sorted_by("tags,-size", artifact_keys), (sorts{{"size", true}}));
}

TEST(harbor_query_sort, q_errors_come_before_sort) {
  EXPECT_EQ(refused("name", "a,b,c,d,e,f,g,h,i"), kv_message);
}

// --- time --------------------------------------------------------------------

timestamp_us time_of(const std::string& text) {
  timestamp_us t = -1;
  EXPECT_TRUE(parse_query_time(text, t)) << text;
  return t;
}

TEST(harbor_query_time, harbor_layouts_are_utc) {
  EXPECT_EQ(time_of("2021-03-04T05:06:07"), 1614834367000000);
  EXPECT_EQ(time_of("2021-03-04 05:06:07"), 1614834367000000);
  // Go's `15` takes a one-digit hour.
  EXPECT_EQ(time_of("2021-03-04T5:06:07"), 1614834367000000);
}

TEST(harbor_query_time, fractional_seconds_as_go_reads_them) {
  EXPECT_EQ(time_of("2021-03-04T05:06:07.5"), 1614834367500000);
  EXPECT_EQ(time_of("2021-03-04 05:06:07,25"), 1614834367250000);
  // Past microseconds the digits are cut, not rounded.
  EXPECT_EQ(time_of("2021-03-04T05:06:07.123456789"), 1614834367123456);
}

TEST(harbor_query_time, rfc3339_with_zone) {
  EXPECT_EQ(time_of("2021-03-04T05:06:07Z"), 1614834367000000);
  EXPECT_EQ(time_of("2021-03-04T05:06:07z"), 1614834367000000);
  EXPECT_EQ(time_of("2021-03-04T07:06:07.000001+02:00"), 1614834367000001);
  EXPECT_EQ(time_of("2021-03-03T23:36:07-05:30"), 1614834367000000);
}

TEST(harbor_query_time, leap_days_and_extreme_years) {
  EXPECT_EQ(time_of("2020-02-29T00:00:00"), 1582934400000000);
  EXPECT_EQ(time_of("2000-02-29 00:00:00") > 0, true);
  EXPECT_EQ(time_of("0000-01-01T00:00:00"), -62167219200000000);
  EXPECT_EQ(time_of("9999-12-31T23:59:59Z"), 253402300799000000);
}

TEST(harbor_query_time, invalid_times_are_refused) {
  for (auto text : {"",
                    "2021-02-30T00:00:00",
                    "2021-02-29T00:00:00",
                    "1900-02-29T00:00:00",
                    "2021-04-31 00:00:00",
                    "2021-13-01T00:00:00",
                    "2021-00-10T00:00:00",
                    "2021-01-00T00:00:00",
                    "2021-01-01T24:00:00",
                    "2021-01-01T23:60:00",
                    "2021-01-01T23:59:60",
                    "2021-1-01T00:00:00",
                    "21-01-01T00:00:00",
                    "2021-01-01",
                    "2021-01-01T00:00",
                    "2021-01-01t00:00:00",
                    "2021-01-01T00:00:00 ",
                    " 2021-01-01T00:00:00",
                    "2021-01-01T00:00:00.",
                    "2021-01-01T00:00:00Zx",
                    "2021-01-01 00:00:00Z",
                    "2021-01-01T00:00:00,5Z",
                    "2021-01-01T00:00:00+24:00",
                    "2021-01-01T00:00:00+02:60",
                    "2021-01-01T00:00:00+0200",
                    "2021-01-01T00:00:00+2:00",
                    "2021-01-01T123:00:00",
                    "2021-01-01T00:0:00",
                    "2021-01-01T00:00:0",
                    "+021-01-01T00:00:00",
                    "2021/01/01T00:00:00",
                    "1609459200"}) {
    timestamp_us t = 0;
    EXPECT_FALSE(parse_query_time(text, t)) << text;
  }
  timestamp_us t = 0;
  EXPECT_FALSE(parse_query_time(std::string("2021-01-01T00:00:00\0Z", 21), t));
}

} // namespace
} // namespace regevent
