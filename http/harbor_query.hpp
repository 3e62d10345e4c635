#pragma once

/// Harbor v2.0's list query language, `q` and `sort`, read into the plain
/// records of persistence/catalog.hpp for one list's keys. The grammar is
/// Harbor's own (src/lib/q/builder.go); keys a list does not have are
/// ignored as Harbor's ORM ignores them; each value is checked against its
/// key's type, so that a bad one answers 400 instead of failing in SQL.

#include "persistence/catalog.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace regevent {

/// Bounds on one request's `q` and `sort`, so that no client can make the
/// store build and plan a huge statement. Here rather than in
/// config/defaults.hpp (which most of the daemon includes): no setting
/// changes them and only this parser and its tests read them.
namespace query_limits {
/// Characters of `q` as received, before Harbor's second unescape.
inline constexpr size_t max_q_length = 4096;
/// `k=v` items of `q`, counted before unknown keys are dropped.
inline constexpr size_t max_terms = 16;
/// Values of one `{a b}` or `(a b)` list.
inline constexpr size_t max_list_values = 100;
/// Comma-separated keys of `sort`, counted before unknown keys are dropped.
inline constexpr size_t max_sort_keys = 8;
} // namespace query_limits

/// Parses Harbor's `q` and `sort` for a list whose keys are
/// [keys, keys+count). nullopt on success; else the message of a 400
/// BAD_REQUEST. `q` is as the URL's query parser decoded it once; Harbor
/// decodes it once more here. `out` is cleared first.
///
/// What `out` holds: each filter key at most once (the last `k=` wins, as
/// in Harbor's map), in the order of its first appearance; values
/// normalized by the key's type (integer and time in decimal, time as
/// microseconds since the epoch, boolean `1` or `0`, text as given). A
/// range has two values, min and max, an empty one an open end. An and-list
/// `k=(a b)` is an all_of term (Harbor's ORM would skip it).
/// Sort keys appear once each, the first wins.
std::optional<std::string>
parse_list_query(const std::string& q, const std::string& sort,
                 const list_key* keys, size_t count, list_query& out);

template<size_t N>
std::optional<std::string>
parse_list_query(const std::string& q, const std::string& sort,
                 const list_key (&keys)[N], list_query& out) {
  return parse_list_query(q, sort, keys, N, out);
}

/// A time value of q: Harbor's "2006-01-02T15:04:05" and
/// "2006-01-02 15:04:05" (UTC, optionally with fractional seconds as Go
/// accepts them), or RFC 3339 with `Z` or an offset; microseconds since
/// the epoch. Dates are checked against their month (no 2021-02-30).
bool parse_query_time(const std::string& text, timestamp_us& out);

} // namespace regevent
