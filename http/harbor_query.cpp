#include "http/harbor_query.hpp"

#include "config/percent.hpp"
#include "persistence/event.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

// Read from goharbor/harbor c50c7ddd6ea4e335a480b49c618281882ab7eec9:
// src/lib/q/builder.go (the grammar and its messages), src/lib/orm/query.go
// and metadata.go (which keys apply, and-lists dropped),
// src/pkg/artifact/dao/dao.go (setTagQuery: `tags`),
// src/server/v2.0/handler/base.go (BuildQuery passes q and sort as given).

namespace regevent {

namespace {

using match = query_term::match;

// --- text as Go sees it -----------------------------------------------------

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
         || (c >= 'A' && c <= 'F');
}

/// Harbor decodes q once more with Go's url.QueryUnescape, so that a
/// client may send `q=tags%253Dnil`: `+` is a space there, and a malformed
/// `%` escape anywhere fails the whole unescape, after which Harbor logs it
/// and reads q as it came.
std::string harbor_unescape(const std::string& q) {
  for (size_t i = 0; i < q.size(); ++i)
    if (q[i] == '%'
        && (i + 2 >= q.size() || !is_hex(q[i + 1]) || !is_hex(q[i + 2])))
      return q;
  std::string spaced = q;
  // Before decoding: `%2B` is a plus that stays one.
  for (char& c : spaced)
    if (c == '+')
      c = ' ';
  return percent_decode(spaced);
}

/// The code point at `s[i]`, false for anything but well-formed UTF-8
/// (overlong forms, surrogates and values past U+10FFFF included).
bool decode_utf8(std::string_view s, size_t i, char32_t& cp, size_t& length) {
  auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) {
    cp = lead;
    length = 1;
    return true;
  }
  size_t more = 0;
  if ((lead & 0xE0) == 0xC0) {
    more = 1;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    more = 2;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    more = 3;
    cp = lead & 0x07;
  } else {
    return false;
  }
  if (s.size() - i <= more)
    return false;
  for (size_t k = 1; k <= more; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80)
      return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  constexpr char32_t shortest[] = {0, 0x80, 0x800, 0x10000};
  if (cp < shortest[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  length = more + 1;
  return true;
}

bool valid_utf8(std::string_view s) {
  char32_t cp = 0;
  size_t length = 0;
  for (size_t i = 0; i < s.size(); i += length)
    if (!decode_utf8(s, i, cp, length))
      return false;
  return true;
}

/// Go's unicode.IsSpace.
bool is_go_space(char32_t cp) {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

/// Go's strings.TrimSpace: Unicode white space off both ends; a byte that
/// is not UTF-8 is not space and stops the trim.
std::string_view trim_space(std::string_view s) {
  char32_t cp = 0;
  size_t length = 0;
  while (!s.empty() && decode_utf8(s, 0, cp, length) && is_go_space(cp))
    s.remove_prefix(length);
  while (!s.empty()) {
    // The last code point starts at most four bytes from the end.
    size_t back = 1;
    while (back <= 4 && back <= s.size()
           && !(decode_utf8(s, s.size() - back, cp, length) && length == back))
      ++back;
    if (back > 4 || back > s.size() || !is_go_space(cp))
      break;
    s.remove_suffix(back);
  }
  return s;
}

/// Go's strings.Trim(value, `"'`), which Harbor's parseValue applies to a
/// list or range value that is not a time or an integer.
std::string_view trim_quotes(std::string_view s) {
  auto first = s.find_first_not_of("\"'");
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of("\"'") - first + 1);
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    auto end = s.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// --- the grammar: builder.go's parsePattern ---------------------------------

/// One value of q as Harbor's parsePattern reads it, before its key's type
/// is known.
struct pattern {
  match kind = match::exact;
  /// exact, fuzzy: the value; range: min and max space-trimmed, empty for
  /// an open end (quotes are trimmed later: `[""~5]` has a min, an empty
  /// one); lists: the non-empty values, space- and quote-trimmed.
  std::vector<std::string> values;
};

/// Harbor's message for a value parsePattern refuses.
std::string invalid_value(std::string_view value, const char* why) {
  return "invalid query string value: " + std::string(value) + ": " + why;
}

std::optional<std::string> parse_list(std::string_view key,
                                      std::string_view value, char close,
                                      const char* why, pattern& out) {
  if (value.back() != close)
    return invalid_value(value, why);
  for (auto item : split(value.substr(1, value.size() - 2), ' ')) {
    auto v = trim_quotes(trim_space(item));
    if (v.empty())
      continue;
    if (out.values.size() == query_limits::max_list_values)
      return "the list of " + quoted(key) + " in q has more than "
             + std::to_string(query_limits::max_list_values) + " values";
    out.values.emplace_back(v);
  }
  return std::nullopt;
}

/// The value of `key=value`; `value` is not empty.
std::optional<std::string> parse_pattern(std::string_view key,
                                         std::string_view value, pattern& out) {
  switch (value.front()) {
    case '~':
      if (value.size() < 2)
        return invalid_value(value, "fuzzy match value must start with \"~\" "
                                    "and contain at least 1 other characters");
      out.kind = match::fuzzy;
      out.values.emplace_back(value.substr(1));
      return std::nullopt;
    case '[': {
      // Harbor counts every `~`, bracket or not.
      size_t tildes = 0;
      for (char c : value)
        tildes += c == '~';
      if (value.back() != ']' || tildes != 1)
        return invalid_value(value, "range must start with \"[\", end with "
                                    "\"]\" and contains only one \"~\"");
      auto inside = value.substr(1, value.size() - 2);
      auto tilde = inside.find('~');
      auto min = trim_space(inside.substr(0, tilde));
      auto max = trim_space(inside.substr(tilde + 1));
      if (min.empty() && max.empty())
        // Harbor's words, stray quote included.
        return invalid_value(
            value, "min and max at least one should be set in range'");
      out.kind = match::range;
      out.values = {std::string(min), std::string(max)};
      return std::nullopt;
    }
    case '{':
      out.kind = match::any_of;
      return parse_list(key, value, '}',
                        "or list must start with \"{\" and end with \"}\"",
                        out);
    case '(':
      out.kind = match::all_of;
      return parse_list(key, value, ')',
                        "and list must start with \"(\" and end with \")\"",
                        out);
    default:
      // A leading backslash lets an exact value start with `~`, `[`, ...
      if (value.front() == '\\')
        value.remove_prefix(1);
      out.values.emplace_back(value);
      return std::nullopt;
  }
}

// --- keys: orm/metadata.go --------------------------------------------------

/// Harbor's orm snakeCase ("CreationTime" -> "creation_time",
/// "ProjectID" -> "project_id"), for ASCII: the table's names are ASCII.
std::string snake_case(std::string_view s) {
  auto upper = [](char c) {
    return c >= 'A' && c <= 'Z';
  };
  auto lower = [](char c) {
    return c >= 'a' && c <= 'z';
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && upper(s[i])
        && ((i + 1 < s.size() && lower(s[i + 1])) || lower(s[i - 1])))
      out += '_';
    out += upper(s[i]) ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
  }
  return out;
}

const list_key* find_key(std::string_view name, const list_key* keys,
                         size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (name == keys[i].name)
      return &keys[i];
  return nullptr;
}

/// The key `q` names, or null for one Harbor's ORM skips. Harbor's models
/// answer to a column name and to the Go field's name; a filter key that
/// is neither is tried once more in snake case.
const list_key* filter_key(std::string_view name, const list_key* keys,
                           size_t count) {
  auto key = find_key(name, keys, count);
  if (key == nullptr || !key->filter)
    key = find_key(snake_case(name), keys, count);
  return key != nullptr && key->filter ? key : nullptr;
}

/// The key `sort` names, or null for one Harbor's ORM skips: a column
/// name, or a Go field name (capitalized letters and digits, the column in
/// snake case).
const list_key* sort_key(std::string_view name, const list_key* keys,
                         size_t count) {
  auto key = find_key(name, keys, count);
  auto go_field = !name.empty() && name.front() >= 'A' && name.front() <= 'Z'
                  && std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                              || (c >= '0' && c <= '9');
                     });
  if (key == nullptr && go_field)
    key = find_key(snake_case(name), keys, count);
  return key != nullptr && key->sort ? key : nullptr;
}

// --- values by the key's type -----------------------------------------------

const char* type_name(key_type type) {
  switch (type) {
    case key_type::text:
      return "a text key";
    case key_type::integer:
      return "an integer key";
    case key_type::boolean:
      return "a boolean key";
    case key_type::time:
      return "a time key";
  }
  return "a key";
}

/// Go's strconv.ParseInt(text, 10, 64): an optional sign and digits.
bool parse_int64(std::string_view text, int64_t& out) {
  auto digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-'))
    digits.remove_prefix(1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit))
    return false;
  // from_chars takes a `-` but no `+`.
  if (text.front() == '+')
    text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a')
                                        : a[i];
    if (c != b[i])
      return false;
  }
  return true;
}

/// `value` checked against `key`'s type and normalized into `out`; else
/// the message of a 400 naming both.
std::optional<std::string> normalize(const list_key& key,
                                     std::string_view value, std::string& out) {
  auto needs = [&](const char* what) {
    return quoted(key.name) + " needs " + what + ", not " + quoted(value);
  };
  switch (key.type) {
    case key_type::text:
      // The store binds text as a string parameter: PostgreSQL refuses a
      // NUL or invalid UTF-8 there, so it is answered here.
      if (value.find('\0') != std::string_view::npos)
        return "the value of " + quoted(key.name) + " contains a NUL byte";
      if (!valid_utf8(value))
        return "the value of " + quoted(key.name) + " is not valid UTF-8";
      out = std::string(value);
      return std::nullopt;
    case key_type::integer: {
      int64_t n = 0;
      if (!parse_int64(value, n))
        return needs("a 64-bit integer");
      out = std::to_string(n);
      return std::nullopt;
    }
    case key_type::boolean:
      // Harbor's isTrue lowercases the value.
      if (value == "1" || equals_ignoring_case(value, "true"))
        out = "1";
      else if (value == "0" || equals_ignoring_case(value, "false"))
        out = "0";
      else
        return needs("true or false");
      return std::nullopt;
    case key_type::time: {
      timestamp_us t = 0;
      if (!parse_query_time(std::string(value), t))
        return needs("a time (2006-01-02T15:04:05 or 2006-01-02 15:04:05 in "
                     "UTC, or RFC 3339)");
      out = std::to_string(t);
      return std::nullopt;
    }
  }
  return needs("a value");
}

/// The term for `key` from its parsed value. An and-list is applied (all
/// of its values hold: on `tags`, an artifact with every one of the tags),
/// where Harbor's ORM skips it and its tag query refuses it: a client
/// sending one means it.
std::optional<std::string> make_term(const list_key& key, const pattern& p,
                                     std::optional<query_term>& out) {
  // Harbor's setTagQuery answers a range with this.
  if (std::string_view(key.name) == "tags" && p.kind == match::range)
    return std::string("the value of \"tags\" query can only be fuzzy match "
                       "value, exact match value or a list");
  if (p.kind == match::fuzzy && key.type != key_type::text)
    return quoted(key.name) + " is " + type_name(key.type)
           + ": it takes no fuzzy match (~)";
  if (p.kind == match::range
      && (key.type == key_type::text || key.type == key_type::boolean))
    return quoted(key.name) + " is " + type_name(key.type)
           + ": it takes no range";
  if (p.kind == match::any_of && p.values.empty())
    return "the list of " + quoted(key.name) + " in q is empty";
  query_term term;
  term.key = key.name;
  term.kind = p.kind;
  for (const auto& v : p.values) {
    auto& normalized = term.values.emplace_back();
    // An open end of a range stays empty; a quoted empty one is a value.
    if (p.kind == match::range && v.empty())
      continue;
    auto text = p.kind == match::range ? trim_quotes(v) : std::string_view(v);
    if (auto error = normalize(key, text, normalized))
      return error;
  }
  out = std::move(term);
  return std::nullopt;
}

std::optional<std::string> parse_q(const std::string& q, const list_key* keys,
                                   size_t count, std::vector<query_term>& out) {
  if (q.empty())
    return std::nullopt;
  if (q.size() > query_limits::max_q_length)
    return "q is longer than " + std::to_string(query_limits::max_q_length)
           + " characters";
  auto text = harbor_unescape(q);
  auto items = split(text, ',');
  if (items.size() > query_limits::max_terms)
    return "q has more than " + std::to_string(query_limits::max_terms)
           + " terms";
  // Harbor reads every item into a map before any key is looked at: a
  // malformed value fails even under a key the list does not have, and
  // only the last value of a key is used.
  std::vector<std::pair<const list_key*, pattern>> chosen;
  for (auto item : items) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
      return std::string("the query string must contain \"=\" and the "
                         "key/value cannot be empty");
    auto name = item.substr(0, eq);
    pattern p;
    if (auto error = parse_pattern(name, item.substr(eq + 1), p))
      return error;
    auto key = filter_key(name, keys, count);
    if (key == nullptr)
      continue;
    auto same = std::find_if(chosen.begin(), chosen.end(),
                             [&](const auto& c) { return c.first == key; });
    if (same == chosen.end())
      chosen.emplace_back(key, std::move(p));
    else
      same->second = std::move(p);
  }
  for (auto& [key, p] : chosen) {
    std::optional<query_term> term;
    if (auto error = make_term(*key, p, term))
      return error;
    if (term)
      out.push_back(std::move(*term));
  }
  return std::nullopt;
}

/// Harbor's ParseSorting: `-` before a key is descending; no trimming, so
/// ` name` or `+name` is a key no list has, skipped like any such.
std::optional<std::string> parse_sort(const std::string& sort,
                                      const list_key* keys, size_t count,
                                      std::vector<sort_term>& out) {
  if (sort.empty())
    return std::nullopt;
  auto items = split(sort, ',');
  if (items.size() > query_limits::max_sort_keys)
    return "sort has more than " + std::to_string(query_limits::max_sort_keys)
           + " keys";
  for (auto item : items) {
    bool descending = !item.empty() && item.front() == '-';
    if (descending)
      item.remove_prefix(1);
    auto key = sort_key(item, keys, count);
    // A key repeated orders nothing more in SQL: the first one wins.
    if (key == nullptr
        || std::any_of(out.begin(), out.end(),
                       [&](const sort_term& s) { return s.key == key->name; }))
      continue;
    out.push_back({key->name, descending});
  }
  return std::nullopt;
}

// --- time -------------------------------------------------------------------

/// Exactly `n` digits at `text[at]`.
bool read_digits(std::string_view text, size_t at, size_t n, int& out) {
  if (text.size() < at + n)
    return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (!is_digit(text[i]))
      return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

} // namespace

std::optional<std::string>
parse_list_query(const std::string& q, const std::string& sort,
                 const list_key* keys, size_t count, list_query& out) {
  out = {};
  if (auto error = parse_q(q, keys, count, out.terms))
    return error;
  return parse_sort(sort, keys, count, out.sort);
}

bool parse_query_time(const std::string& text, timestamp_us& out) {
  // Checked here field by field, then computed by parse_rfc3339: strptime
  // and timegm alone would take 2021-02-30 for March 2nd.
  std::string_view s = text;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, 0, 4, year) || s.size() < 11 || s[4] != '-'
      || !read_digits(s, 5, 2, month) || s[7] != '-'
      || !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != ' '))
    return false;
  // Go's layout `15` takes one or two digits for the hour.
  size_t at = 11;
  size_t hour_digits = s.size() > 12 && is_digit(s[12]) ? 2 : 1;
  if (!read_digits(s, at, hour_digits, hour))
    return false;
  at += hour_digits;
  if (s.size() < at + 6 || s[at] != ':' || !read_digits(s, at + 1, 2, minute)
      || s[at + 3] != ':' || !read_digits(s, at + 4, 2, second))
    return false;
  at += 6;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour > 23 || minute > 59 || second > 59)
    return false;
  std::string rfc3339(s.substr(0, at));
  rfc3339[10] = 'T';
  // Go reads a fraction after the seconds whatever the layout, after a
  // period or a comma.
  if (at + 1 < s.size() && (s[at] == '.' || s[at] == ',')
      && is_digit(s[at + 1])) {
    rfc3339 += '.';
    for (++at; at < s.size() && is_digit(s[at]); ++at)
      rfc3339 += s[at];
  }
  auto zone = s.substr(at);
  if (zone.empty()) {
    // Harbor's layouts carry no zone: Go reads them as UTC.
    rfc3339 += 'Z';
  } else {
    int zone_hours = 0, zone_minutes = 0;
    bool offset = zone.size() == 6 && (zone[0] == '+' || zone[0] == '-')
                  && read_digits(zone, 1, 2, zone_hours) && zone[3] == ':'
                  && read_digits(zone, 4, 2, zone_minutes) && zone_hours < 24
                  && zone_minutes < 60;
    // RFC 3339 has no space before the time, nor a comma in the seconds.
    if (s[10] != 'T' || s.substr(0, at).find(',') != std::string_view::npos
        || (zone != "Z" && zone != "z" && !offset))
      return false;
    rfc3339 += zone;
  }
  return parse_rfc3339(rfc3339, out);
}

} // namespace regevent
