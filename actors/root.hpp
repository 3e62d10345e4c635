#pragma once

#include "actors/actors.hpp"
#include "actors/http_actor.hpp"
#include "actors/journal.hpp"
#include "actors/recovery.hpp"
#include "actors/restart_budget.hpp"
#include "actors/supervisor.hpp"

#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <chrono>
#include <map>
#include <memory>

namespace regevent {

class metrics;
class health;

/// The names under which the root actor keeps the current HTTP actor and
/// journal in the actor system's registry, for the facade: both change
/// when they are restarted.
namespace registry_key {
constexpr caf::atom_value http = caf::atom("http");
constexpr caf::atom_value journal = caf::atom("journal");
} // namespace registry_key

/// Everything the core topology needs of the configuration.
struct root_config {
  journal_config journal;
  supervisor_config effects;
  recovery_config recovery;
  http_actor_config http;
  /// How often the journal, recovery and the HTTP actor may be restarted.
  restart_policy restart;
  /// How long each stage of the ordered stop may take.
  std::chrono::milliseconds grace{0};
  /// Whether the effects commit through the journal (SQLite: one writer)
  /// rather than on their own connections (PostgreSQL).
  bool single_writer = false;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health> status;

  static root_config from(const runtime& rt);
  /// Validates every part; throws config_error naming what is wrong.
  void validate() const;
};

struct root_state {
  static constexpr const char* name = "root";

  /// The supervised children, in the order they stop.
  enum class role { http, recovery, effects, journal };

  root_config cfg;
  journal_actor journal;
  supervisor_actor effects;
  recovery_actor recovery;
  http_actor http;
  /// Which child an address stands for, while it lives.
  std::map<caf::actor_addr, role> alive;
  std::map<role, restart_budget> budgets;
  /// The ordered stop: set by an exit message; the stage now stopping.
  bool stopping = false;
  size_t stage = 0;
  caf::error stop_reason;
};

/// The root of the core topology. Spawns the journal, the effect
/// supervisor, recovery and the HTTP actor; restarts the journal, recovery
/// and the HTTP actor when they die, within the restart budget, and tells
/// the others the new handle (past the budget the daemon turns not-ready
/// and says why). On an exit message it stops them in order — HTTP actor
/// and its dispatchers, recovery, effects, journal — each stage waiting for
/// the previous one's down message or the grace period, then quits.
root_actor::behavior_type root(root_actor::stateful_pointer<root_state> self,
                               root_config cfg);

} // namespace regevent
