#pragma once

/// Field readers for management API request bodies: each names the field
/// that is wrong (`where` + key) in `error`, so that a 400 says exactly
/// what to fix.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace regevent {

template<size_t N>
bool one_of(const std::string& x, const std::array<const char*, N>& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](const char* n) { return x == n; });
}

/// An optional string member; false (with `error`) when present and not a
/// string. `given` says whether it was there.
bool read_string(const nlohmann::json& o, const char* key,
                 const std::string& where, std::string& out, bool& given,
                 std::string& error);

/// An optional boolean member.
bool read_bool(const nlohmann::json& o, const char* key,
               const std::string& where, bool& out, std::string& error);

/// An optional integer member within [min, max].
bool read_int(const nlohmann::json& o, const char* key,
              const std::string& where, int64_t min, int64_t max, int64_t& out,
              std::string& error);

/// The body as an object, or nothing with `error` set.
bool parse_object(const std::string& body, nlohmann::json& out,
                  std::string& error);

/// JSON text with invalid UTF-8 replaced, never throwing.
std::string dump_json(const nlohmann::json& x);

} // namespace regevent
