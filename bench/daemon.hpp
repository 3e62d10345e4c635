#pragma once

#include "bench/load.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace regevent::bench {

/// A regeventd the harness starts itself: fork/exec with a generated
/// configuration, a fresh SQLite database in `dir` (or `database_url`, a
/// fresh PostgreSQL database the harness created), port 0 read back from
/// --port-file. Restartable with another configuration (backlog).
class managed_daemon {
public:
  /// `extra_yaml` is merged into the generated configuration; it may set
  /// anything but `listen` and `database.url` (throws otherwise).
  managed_daemon(std::string binary, std::string dir, std::string extra_yaml,
                 std::string database_url = {});
  ~managed_daemon();

  /// The configuration `start` gives the daemon: also what the SQLite
  /// ceiling reads its `database` settings from.
  std::string config_for(bool effects_paused) const;

  /// Writes the configuration (effects paused or not) and starts the
  /// process; waits until it listens. Throws on failure.
  void start(bool effects_paused);

  /// SIGTERM, then waits for a clean exit (SIGKILL past `deadline`).
  /// Returns the exit status, or -1 when it had to be killed.
  int stop(std::chrono::seconds deadline = std::chrono::seconds(120));

  pid_t pid() const {
    return pid_;
  }
  uint16_t port() const {
    return port_;
  }
  /// The SQLite file; empty on PostgreSQL.
  const std::string& database_path() const {
    return db_path_;
  }
  /// `sqlite://FILE` or the PostgreSQL URL the daemon was given.
  const std::string& database_url() const {
    return db_url_;
  }
  const std::string& config_text() const {
    return config_text_;
  }
  /// The last lines of the daemon's log, for failure reports.
  std::string log_tail(size_t lines = 20) const;

private:
  std::string binary_;
  std::string dir_;
  std::string extra_yaml_;
  std::string db_path_;
  std::string db_url_;
  std::string config_path_;
  std::string log_path_;
  std::string port_file_;
  std::string config_text_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

/// fork/exec of `argv` (argv[0]: the binary's path) with its stdout and
/// stderr appended to `log_path`. Returns the child's PID.
pid_t spawn_logged(const std::vector<std::string>& argv,
                   const std::string& log_path);

enum class start_state { up, exited, timeout };

/// Waits until `ready()` holds, the child exits (it is then reaped) or
/// `deadline` passes.
start_state wait_started(pid_t pid, const std::function<bool()>& ready,
                         std::chrono::seconds deadline);

/// SIGTERM to a child process, then waits for it (SIGKILL past
/// `deadline`). Returns its exit status, -signal, or -1 when it had to be
/// killed.
int stop_process(pid_t pid, std::chrono::seconds deadline);

/// The last `lines` lines of a file (a child's log), for failure reports.
std::string file_tail(const std::string& path, size_t lines);

/// Memory of a process from /proc/PID/status, in KiB (0 when unknown).
struct memory_kib {
  uint64_t rss = 0;
  uint64_t hwm = 0;
};
memory_kib read_memory(pid_t pid);

/// CPU time (user + system) a process has used so far, in seconds; 0 when
/// unknown. Per event it is the least noisy number on a shared machine.
double cpu_seconds(pid_t pid);

/// CPU time this process (the harness) has used so far, in seconds.
double own_cpu_seconds();

/// Size in bytes of a file (0 when missing): the SQLite file and its
/// `-wal` are reported apart, since the WAL shrinks only at checkpoints.
uint64_t file_bytes(const std::string& path);

/// Every sample of a Prometheus text page, keyed by `name{labels}`.
using metric_map = std::map<std::string, double>;
metric_map parse_metrics(const std::string& text);

/// Events the daemon finished (done + filtered + dead): the end-to-end
/// counter. Read from the daemon, never assumed.
double finished_events(const metric_map& m);

/// One observation of the daemon during a run.
struct observation {
  double t = 0; ///< seconds since the monitor started
  double accepted = 0;
  double finished = 0;
  double backlog = 0;
  uint64_t rss_kib = 0;
};

/// Samples the daemon's /metrics and RSS in a background thread, so that
/// the end-to-end rate and the memory curve come from the daemon itself.
class monitor {
public:
  /// `also`: further instances whose counters are summed with this one's
  /// (a multi-instance run reports one number).
  monitor(std::string host, uint16_t port, pid_t pid,
          std::chrono::milliseconds every,
          std::vector<std::pair<std::string, uint16_t>> also = {});
  ~monitor();

  /// Blocks until `finished_events` reaches `target`, or `timeout` passes;
  /// returns the time it was first seen reached (nullopt-like: negative on
  /// timeout), in seconds since the monitor started.
  double wait_finished(double target, std::chrono::seconds timeout);

  /// Polls once now and returns the metrics (empty when unreachable).
  metric_map scrape_now();

  std::vector<observation> series() const;
  uint64_t peak_rss_kib() const;
  bench_clock::time_point started() const {
    return started_;
  }
  double seconds_since_start(bench_clock::time_point t) const {
    return std::chrono::duration<double>(t - started_).count();
  }
  void stop();

private:
  void loop();
  observation poll(metric_map* out);

  std::string host_;
  uint16_t port_;
  std::vector<std::pair<std::string, uint16_t>> also_;
  pid_t pid_;
  std::chrono::milliseconds every_;
  bench_clock::time_point started_;
  mutable std::mutex mtx_;
  std::vector<observation> series_;
  uint64_t peak_rss_kib_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace regevent::bench
