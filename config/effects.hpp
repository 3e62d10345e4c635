#pragma once

/// The effects an event can have. Each has an actor kind, a configuration
/// section (`effects.actors.<name>`), a store and a metric label, all named
/// by the one table in effects.cpp.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace regevent {

enum class effect_kind : uint8_t {
  access_log,
  repositories,
  pull_counter,
  artifacts,
  /// Writes the webhook deliveries of an event (an outbox: the tasks commit
  /// with the event's other effects; delivery workers send them later).
  webhooks,
  /// Writes the replication tasks of a push or delete (an outbox like
  /// webhooks; the replication workers copy later).
  replication,
  /// Writes the scan task of a manifest push into a project with
  /// auto-scan (an outbox like webhooks; the scan workers ask the
  /// scanner adapter later).
  scanning,
};

/// Every effect, in the order their actors start.
constexpr std::array<effect_kind, 7> all_effects{
    effect_kind::access_log,   effect_kind::repositories,
    effect_kind::pull_counter, effect_kind::artifacts,
    effect_kind::webhooks,     effect_kind::replication,
    effect_kind::scanning};

/// The effect's name: its configuration key, actor name, completion-mark
/// name in the database and metric label.
const char* to_string(effect_kind x);

/// The effect of a name; nothing for an unknown one.
std::optional<effect_kind> effect_from_name(std::string_view name);

} // namespace regevent
