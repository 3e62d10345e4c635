#pragma once

#include "actors/actors.hpp"
#include "actors/dispatcher.hpp"
#include "actors/drain.hpp"
#include "actors/store_connection.hpp"
#include "config/defaults.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace regevent {

class journal_store;
class metrics;

/// What recovery needs of the configuration.
struct recovery_config {
  config::database_section database;
  /// This instance, owner of the claims it makes.
  std::string instance_id;
  /// Dispatchers recovery runs at once, and events per dispatcher.
  size_t max_dispatchers = 0;
  size_t batch = 0;
  std::chrono::milliseconds poll{0};
  std::chrono::milliseconds claim_lease{0};
  /// Another instance whose heartbeat is older is dead: its claims are
  /// taken over.
  std::chrono::milliseconds heartbeat_timeout{0};
  /// Test only: claim nothing, so that a backlog can be built.
  bool paused = false;
  std::shared_ptr<const dispatcher_config> dispatch;
  std::shared_ptr<metrics> stats;
  /// How often the events are counted by status (for the metrics).
  std::chrono::milliseconds status_count_interval{
      defaults::journal::status_count_interval_ms};

  static recovery_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct recovery_state {
  static constexpr const char* name = "recovery";

  recovery_config cfg;
  journal_actor journal;
  supervisor_actor supervisor;
  /// On PostgreSQL only: a reader's connection for the counts by status.
  /// Claims, the heartbeat and giving claims back go through the journal.
  store_connection<journal_store> conn;
  bool sqlite = true;
  dispatcher_set dispatchers;
  /// Whether a claim is in flight at the journal.
  bool claiming = false;
  /// Whether the journal may hold unclaimed work.
  bool more = true;
  /// Ticks since the last count by status; the first tick counts.
  uint64_t ticks_since_count = UINT64_MAX;
  /// Whether the next claims also take stale claims over (set by the tick;
  /// the first tick comes at start).
  bool sweep_stale = true;

  uint64_t busy() const {
    return dispatchers.running.size();
  }

  recovery_state();
  ~recovery_state();
};

/// Finds journaled events that are not finished (left by a crash, by a full
/// dispatcher pool, or by a dead instance whose claims expired), claims
/// them in bounded batches through the journal (the single writer) and
/// hands each batch to a dispatcher. Runs detached: the count by status
/// (PostgreSQL) and giving claims back at exit block.
recovery_actor::behavior_type
recovery(recovery_actor::stateful_pointer<recovery_state> self,
         recovery_config cfg, journal_actor journal,
         supervisor_actor supervisor);

} // namespace regevent
