#pragma once

#include "actors/actors.hpp"
#include "actors/write_path.hpp"
#include "config/defaults.hpp"

#include <chrono>

namespace regevent {

struct retention_stores;

/// What the retention actor needs of the configuration.
struct retention_config {
  config::database_section database;
  /// 0 keeps access logs forever.
  uint32_t access_log_days = 0;
  /// Finished events older than this keep only their row.
  uint32_t journal_days = 0;
  /// Finished events older than this and journal_days are deleted; 0
  /// keeps them.
  uint32_t dedup_days = 0;
  std::chrono::seconds interval{0};
  /// How long a batch may wait for the journal to take it.
  std::chrono::milliseconds journal_timeout{0};
  /// Rows per delete.
  uint32_t batch = 0;
  std::chrono::milliseconds batch_pause{defaults::retention::batch_pause_ms};
  std::chrono::milliseconds first_round_delay{
      defaults::retention::first_round_delay_ms};

  static retention_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct retention_state {
  static constexpr const char* name = "retention";

  /// What a round does, in this order, one batch per message.
  enum class phase { access_logs, compact, forget, idle };

  retention_config cfg;
  /// On SQLite the journal runs each step (it is the one writer).
  write_path<retention_stores> writes;
  phase now = phase::idle;
  /// Rows changed by the current phase of the round.
  uint64_t changed = 0;
  /// Where the walks over the journal are; they start at the first row
  /// once per process and go on from there round after round.
  long long compact_cursor = 0;
  long long forget_cursor = 0;

  retention_state();
  ~retention_state();
};

/// Enforces the retention settings: every purge interval it deletes
/// expired access-log rows, compacts finished events past
/// `retention.journal_days` and forgets those past `retention.dedup_days`,
/// in small batches, one batch per message, so that the journal's commits
/// go between batches. Detached: on SQLite it waits for the journal to run
/// each batch.
retention_actor::behavior_type
retention(retention_actor::stateful_pointer<retention_state> self,
          retention_config cfg);

} // namespace regevent
