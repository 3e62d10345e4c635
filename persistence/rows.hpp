#pragma once

#include <soci/soci.h>

#include <string>

namespace regevent {

/// An integer column of a dynamic row, whatever type the backend reports:
/// SQLite maps `INTEGER` to int and expressions like COUNT(*) by value,
/// PostgreSQL maps BIGINT to long long. NULL reads as 0.
inline long long int_at(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null)
    return 0;
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_integer:
      return r.get<int>(i);
    case soci::dt_long_long:
      return r.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(r.get<unsigned long long>(i));
    case soci::dt_double:
      return static_cast<long long>(r.get<double>(i));
    case soci::dt_string:
      return std::stoll(r.get<std::string>(i));
    default:
      return 0;
  }
}

/// A text column of a dynamic row; NULL reads as empty.
inline std::string text_at(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null)
    return {};
  return r.get<std::string>(i);
}

/// A message from another server (a registry's or an adapter's error) as
/// stored: it may hold anything, and PostgreSQL refuses a NUL in text
/// (which would fail the whole transaction again and again). Control
/// characters but the newline become spaces; the length is capped.
inline std::string stored_text(const std::string& text,
                               std::size_t limit = 2000) {
  std::string out = text.substr(0, limit);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
      c = ' ';
  return out;
}

} // namespace regevent
