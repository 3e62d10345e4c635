#pragma once

#include "actors/actors.hpp"
#include "actors/dispatcher.hpp"
#include "actors/drain.hpp"
#include "config/defaults.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace regevent {

class metrics;

/// What the HTTP actor needs of the configuration.
struct http_actor_config {
  /// Journaled, unfinished events past which ingest answers 503.
  uint64_t max_backlog = 0;
  std::chrono::milliseconds journal_timeout{0};
  /// Dispatchers alive at once; past that, batches wait in the journal for
  /// recovery.
  size_t max_dispatchers = 0;
  /// Events per dispatcher.
  size_t batch = 0;
  /// Test only: dispatch nothing, so that a backlog can be built.
  bool paused = false;
  std::chrono::milliseconds wakeup_interval{
      defaults::ingest::recovery_wakeup_interval_ms};
  std::shared_ptr<const dispatcher_config> dispatch;
  std::shared_ptr<metrics> stats;

  static http_actor_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct http_actor_state {
  static constexpr const char* name = "http";

  http_actor_config cfg;
  journal_actor journal;
  recovery_actor recovery;
  supervisor_actor supervisor;
  dispatcher_set dispatchers;
  /// Appends in flight that will spawn a dispatcher.
  uint64_t reserved = 0;
  /// What the journal told last.
  uint64_t backlog = 0;
  bool database_ok = true;
  /// Fresh events of claimed appends, waiting for the next `flush`.
  std::vector<event_record> undispatched;
  bool flush_scheduled = false;
  std::chrono::steady_clock::time_point last_wakeup{};

  uint64_t busy() const {
    return dispatchers.running.size() + reserved;
  }
};

/// The HTTP actor: owns ingest. Applies backpressure on what the journal
/// told it, journals each parsed notification (the answer waits for the
/// commit), and spawns one dispatcher per batch while the dispatcher pool
/// has room; past that the batch waits in the journal for recovery.
http_actor::behavior_type
http_actor_impl(http_actor::stateful_pointer<http_actor_state> self,
                http_actor_config cfg, journal_actor journal,
                recovery_actor recovery, supervisor_actor supervisor);

} // namespace regevent
