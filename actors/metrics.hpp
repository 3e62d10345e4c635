#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace regevent {

/// A Prometheus histogram with fixed buckets, updated lock-free from any
/// thread.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double value);
  void render(std::string& out, const std::string& name,
              const std::string& labels) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Per-effect counters and histograms.
struct effect_metrics {
  effect_metrics();
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> dead_lettered{0};
  histogram batch_size;
  histogram commit_seconds;
};

/// The daemon's observable state: counters written by actors and the HTTP
/// transport, read by /metrics. Atomics only; never a lock on the hot path
/// except the request counter map.
class metrics {
public:
  metrics();

  void count_request(const std::string& route, unsigned status);

  std::atomic<uint64_t> events_accepted{0};
  std::atomic<uint64_t> events_duplicate{0};
  std::atomic<uint64_t> events_ignored{0};
  std::atomic<uint64_t> events_filtered{0};
  std::atomic<uint64_t> events_done{0};
  std::atomic<uint64_t> events_dead{0};
  std::atomic<uint64_t> journal_commits{0};
  std::atomic<uint64_t> journal_failures{0};
  histogram journal_commit_seconds;
  histogram journal_batch_size;
  /// Pending events in the journal, as last counted by the journal actor.
  std::atomic<int64_t> backlog{0};
  std::atomic<int64_t> dispatchers{0};
  std::atomic<uint64_t> supervisor_restarts{0};
  /// Events by journal status, refreshed periodically.
  std::array<std::atomic<int64_t>, 4> events_by_status{};

  effect_metrics& effect(const std::string& name);

  std::string render() const;

private:
  mutable std::mutex mtx_;
  std::map<std::pair<std::string, unsigned>, uint64_t> requests_;
  std::map<std::string, std::unique_ptr<effect_metrics>> effects_;
};

/// What /readyz reports. Written by the actors that know, read by HTTP.
class health {
public:
  std::atomic<bool> database_ok{true};
  std::atomic<bool> shutting_down{false};

  /// A part of the daemon stopped working for good (restart budget spent,
  /// an actor died); /readyz reports `why` until the process restarts.
  void set_failed(std::string why);
  /// Empty when ready.
  std::string not_ready_reason() const;

private:
  mutable std::mutex mtx_;
  std::string failure_;
};

/// Indexes into metrics::events_by_status.
constexpr const char* status_names[] = {"pending", "ignored", "done", "dead"};

} // namespace regevent
