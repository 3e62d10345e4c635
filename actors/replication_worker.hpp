#pragma once

#include "actors/actors.hpp"
#include "actors/replication_port.hpp"
#include "actors/write_path.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace regevent {

class metrics;
class secret_box;
class replication_work_store;

/// What the replication worker needs of the configuration.
struct replication_worker_config {
  config::database_section database;
  std::string secrets_key;
  config::replication_section replication;
  /// Empty: no source registry is configured; tasks fail with that reason.
  std::string source_url;
  std::shared_ptr<replication_port> port;
  std::shared_ptr<metrics> stats;
  /// How long a claim or a record may wait for the journal to take it
  /// (SQLite, where the journal is the one writer).
  std::chrono::milliseconds journal_timeout{0};

  static replication_worker_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct replication_worker_state {
  static constexpr const char* name = "replication_worker";

  /// Results handed over by the copy threads; the first one of a batch
  /// wakes the actor.
  struct inbox {
    std::mutex mtx;
    /// (task id, its flight's cancel flag: which copy of the task ended,
    /// should one still be running when the task is claimed again).
    std::vector<std::tuple<int64_t, const std::atomic<bool>*,
                           replication_run_result>>
        runs;
    /// A listing's result: (found, error).
    std::vector<std::pair<std::vector<replication_listed>, std::string>>
        listings;
  };

  /// A task being copied.
  struct flight {
    replication_job job;
    std::shared_ptr<std::atomic<bool>> cancel;
    timestamp_us started = 0;
  };

  replication_worker_config cfg;
  std::unique_ptr<secret_box> secrets;
  write_path<replication_work_store> writes;
  std::shared_ptr<inbox> results;
  /// By task id.
  std::map<int64_t, flight> flights;
  /// The manual run being listed, if any (one at a time).
  std::unique_ptr<replication_listing> listing;
  /// Outcomes not yet recorded (kept across a failed write).
  std::vector<replication_outcome_record> outcomes;
  std::chrono::steady_clock::time_point next_renewal{};
  std::chrono::steady_clock::time_point next_housekeeping{};
  bool stopping = false;

  replication_worker_state();
  ~replication_worker_state();
};

/// Copies replication tasks: claims due ones from the database (only the
/// oldest unfinished task of a destination repository, so that its tags
/// land in order), runs each through the replication port on a thread of
/// its own, renews their leases while they run, and records each outcome:
/// success, a retry with exponential backoff and jitter, or a failure
/// after the last attempt. Lists manual runs the same way. Detached: its
/// SQL blocks.
replication_worker_actor::behavior_type replicate(
    replication_worker_actor::stateful_pointer<replication_worker_state> self,
    replication_worker_config cfg);

} // namespace regevent
