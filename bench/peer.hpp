#pragma once

#include "bench/check.hpp"
#include "bench/load.hpp"
#include "bench/report.hpp"
#include "bench/workload.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace regevent::bench {

/// The benchmark peer (shared/peer/harbor-v1-style: Harbor 1.10's
/// notification handler rebuilt in Go) as a child process the harness
/// starts and stops by its PID: `-listen 127.0.0.1:PORT` on a port the
/// harness found free, `-dsn` a fresh database, `-projects` the run's
/// project. It answers 200 before it writes anything.
class peer_process {
public:
  peer_process(std::string binary, std::string log_path);
  /// SIGKILL if it still runs.
  ~peer_process();
  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  /// Starts it and waits until it accepts connections (it creates its
  /// schema and the projects before it listens). Throws on failure.
  void start(const std::string& dsn, const std::string& projects);
  /// SIGTERM by PID, then reaps it (SIGKILL past `deadline`). Returns the
  /// exit status, -signal, or -1 when it had to be killed. The peer has no
  /// graceful shutdown: writes still in flight are lost (there are none
  /// once its database settled).
  int stop(std::chrono::seconds deadline = std::chrono::seconds(10));

  pid_t pid() const {
    return pid_;
  }
  uint16_t port() const {
    return port_;
  }
  /// Lines of its log that contain `needle` (its `[ERROR]` lines are the
  /// writes it failed and dropped).
  uint64_t log_lines_with(const std::string& needle) const;
  std::string log_tail(size_t lines = 20) const;

private:
  std::string binary_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

/// How to run the peer's half of a side-by-side run.
struct peer_plan {
  std::string binary;
  /// Directory for its log.
  std::string dir;
  /// A fresh database on the cluster regevent used (PostgreSQL URL).
  std::string database_url;
  /// The load regevent got: same senders, deliveries, client threads.
  load_plan load;
  /// Settled: its counts unchanged for this long after the load.
  std::chrono::milliseconds quiet{2000};
  std::chrono::seconds timeout{900};
};

/// What the peer did with the run's workload, and what its database shows.
struct peer_result {
  load_result load;
  latency_summary latency;
  /// Acknowledged distinct events per second of load (every POST answered
  /// 200: an ack says nothing about the database).
  double ack_per_s = 0;
  /// From the first POST to the first poll that saw the final counts.
  double settle_s = 0;
  bool settled = false;
  /// access_log rows over settle_s: events written, end to end.
  double end_to_end_per_s = 0;
  uint64_t expected_pulls = 0;
  uint64_t counted_pulls = 0;
  /// Per repository: pulls acknowledged but never counted, and pulls
  /// counted beyond those acknowledged (re-sent or doubled), summed.
  uint64_t lost_pulls = 0;
  uint64_t extra_pulls = 0;
  uint64_t wrong_repositories = 0;
  uint64_t expected_access_log = 0;
  uint64_t access_log_rows = 0;
  uint64_t error_lines = 0;
  double cpu_us_per_event = 0;
  uint64_t peak_rss_kib = 0;
  int exit_status = 0;
  /// The same comparisons as a check table; its shortfalls are the
  /// peer's, reported, never a failure of the run.
  check_result check;
};

/// Starts the peer on `plan.database_url`, seeds the rows a pull needs to
/// count (`repository`, and `artifact` v1 rows so that a pull by tag also
/// sets `pull_time`, as Harbor's registry proxy had created them on push),
/// sends the workload `w` as `plan.load` says, waits until its database
/// stops changing, reads it and stops the peer.
peer_result run_peer(const peer_plan& plan, const workload_options& w);

nlohmann::json to_json(const peer_result& r);

} // namespace regevent::bench
