#pragma once

#include "actors/actors.hpp"
#include "actors/scanner_port.hpp"
#include "actors/write_path.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace regevent {

class metrics;
class secret_box;
class scan_work_store;

/// What the scan worker needs of the configuration.
struct scan_worker_config {
  config::database_section database;
  std::string secrets_key;
  config::scanning_section scanning;
  std::shared_ptr<scanner_port> port;
  std::shared_ptr<metrics> stats;
  /// How long a claim or a record may wait for the journal to take it
  /// (SQLite, where the journal is the one writer).
  std::chrono::milliseconds journal_timeout{0};

  static scan_worker_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct scan_worker_state {
  static constexpr const char* name = "scan_worker";
  using clock_type = std::chrono::steady_clock;

  /// Answers handed over by the port's threads, each to be run on the
  /// actor; the first one of a batch wakes it.
  struct inbox {
    std::mutex mtx;
    std::vector<std::function<void()>> answers;
  };

  /// A scan this worker holds the lease of.
  struct flight {
    scan_job job;
    /// Tells a late answer of an earlier claim of the task from this one.
    uint64_t generation = 0;
    /// Waiting for an answer of the port.
    bool busy = false;
    /// When the next report poll is due (the adapter's Refresh-After).
    clock_type::time_point next_poll{};
    timestamp_us claimed_at = 0;
  };

  /// An adapter's metadata, by scanner UUID and URL.
  struct known_adapter {
    scanner_adapter_info info;
    clock_type::time_point expires{};
  };

  scan_worker_config cfg;
  std::unique_ptr<secret_box> secrets;
  write_path<scan_work_store> writes;
  std::shared_ptr<inbox> answers;
  /// By task id.
  std::map<int64_t, flight> flights;
  std::map<std::string, known_adapter> adapters;
  /// Outcomes not yet recorded (kept across a failed write).
  std::vector<scan_outcome_record> outcomes;
  uint64_t generations = 0;
  clock_type::time_point next_renewal{};
  clock_type::time_point next_housekeeping{};
  bool stopping = false;

  scan_worker_state();
  ~scan_worker_state();
};

/// Runs scan tasks: claims due ones from the database, asks the scanner
/// adapter for its metadata (cached), checks that it reads the artifact's
/// media type, posts the scan request with a pull authorization for the
/// registry, records that the adapter accepted it (so that a restart polls
/// instead of asking again), polls the report honouring `Refresh-After`
/// until it comes, fails or the deadline passes, and records each end with
/// its report and summary. An adapter that is down is retried with
/// exponential backoff. Detached: its SQL blocks.
scan_worker_actor::behavior_type
scan(scan_worker_actor::stateful_pointer<scan_worker_state> self,
     scan_worker_config cfg);

} // namespace regevent
