#include "config/effects.hpp"

namespace regevent {

namespace {

/// The one place the names are written. They are stored in the database
/// (completion marks, dead letters): renaming one is a migration.
constexpr std::array<const char*, all_effects.size()> names{
    "access_log", "repositories", "pull_counter", "artifacts", "webhooks",
    "replication", "scanning"};

} // namespace

const char* to_string(effect_kind x) {
  return names[static_cast<size_t>(x)];
}

std::optional<effect_kind> effect_from_name(std::string_view name) {
  for (auto e : all_effects)
    if (name == to_string(e))
      return e;
  return std::nullopt;
}

} // namespace regevent
