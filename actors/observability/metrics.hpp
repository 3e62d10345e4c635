#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace regevent {

/// Per-effect counters and histograms. The references point into the
/// registry of the `metrics` that made them and live as long as it does.
struct effect_metrics {
  prometheus::Counter& committed;
  prometheus::Counter& skipped;
  prometheus::Counter& failed;
  prometheus::Counter& retried;
  prometheus::Counter& dead_lettered;
  prometheus::Histogram& batch_size;
  prometheus::Histogram& commit_seconds;
};

/// The daemon's observable state: counters written by actors and the HTTP
/// transport, rendered by /metrics. Every metric is a prometheus-cpp object,
/// safe to update from any thread without a lock of ours.
class metrics {
  // Declared first: the families and metrics below live in the registry and
  // the reference members are bound to them during construction, in the
  // order of declaration, which is also the order of the exposition.
  prometheus::Registry registry_;
  /// Family names in registration order: the registry groups families by
  /// type, the exposition keeps the order in which they were declared.
  std::vector<std::string> order_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& events_;

public:
  metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  void count_request(const std::string& route, unsigned status);

  prometheus::Counter& events_accepted;
  prometheus::Counter& events_duplicate;
  prometheus::Counter& events_ignored;
  prometheus::Counter& events_filtered;
  prometheus::Counter& events_done;
  prometheus::Counter& events_dead;
  prometheus::Counter& journal_commits;
  prometheus::Counter& journal_failures;
  prometheus::Histogram& journal_commit_seconds;
  prometheus::Histogram& journal_batch_size;
  /// Pending events in the journal, as last counted by the journal actor.
  prometheus::Gauge& backlog;
  prometheus::Gauge& dispatchers;
  prometheus::Counter& supervisor_restarts;
  /// 1 while /readyz would answer 200, else 0; set when /metrics is
  /// scraped, so that an alert on readiness needs no second probe.
  prometheus::Gauge& ready;
  /// Events by journal status, refreshed periodically; indexed like
  /// `event_status_names` (persistence/event.hpp).
  std::array<prometheus::Gauge*, 4> events_by_status{};

  effect_metrics& effect(const std::string& name);

  /// One webhook delivery attempt to `target` (`policy/position`, never the
  /// address, which may carry a token) ended with `outcome`: success,
  /// retry, failed, disabled or deferred.
  void webhook_attempt(const std::string& target, const char* outcome,
                       double seconds);
  /// Pending deliveries of a target, as last counted.
  void webhook_queue(const std::string& target, int64_t pending);

  /// One replication task attempt ended with `outcome`: succeed, skipped,
  /// retry or failed, after `seconds`, with `bytes` of blobs uploaded.
  void replication_attempt(const char* outcome, double seconds,
                           uint64_t bytes);
  /// Unfinished replication tasks, as last counted.
  void replication_queue(int64_t unfinished);

  /// One scan step ended with `outcome`: success, failed, unsupported or
  /// retry; an end observes the scan's `seconds` from its first attempt.
  void scan_outcome(const char* outcome, double seconds);
  /// Unfinished scan tasks, as last counted.
  void scan_queue(int64_t unfinished);

  /// A reconcile run ended: succeeded or failed.
  void reconcile_run(const char* outcome);
  /// A reconcile walked `repositories` and made these changes.
  void reconcile_progress(int64_t repositories, int64_t created,
                          int64_t deleted, int64_t corrected);
  /// 1 while this instance runs a reconcile.
  void reconcile_running(bool running);

  /// One read of an artifact's details ended: done, failed (the manifest
  /// is gone or unreadable) or retry (the registry was away).
  void artifact_details(const char* outcome);

  /// The Prometheus text exposition (format 0.0.4) of every metric.
  std::string render() const;

private:
  prometheus::Family<prometheus::Gauge>& by_status_;
  prometheus::Family<prometheus::Counter>& effect_events_;
  prometheus::Family<prometheus::Histogram>& effect_batch_size_;
  prometheus::Family<prometheus::Histogram>& effect_commit_seconds_;
  prometheus::Family<prometheus::Counter>& webhook_deliveries_;
  prometheus::Family<prometheus::Histogram>& webhook_seconds_;
  prometheus::Family<prometheus::Gauge>& webhook_queue_;
  prometheus::Family<prometheus::Counter>& replication_tasks_;
  prometheus::Counter& replication_bytes_;
  prometheus::Histogram& replication_seconds_;
  prometheus::Gauge& replication_queue_;
  prometheus::Family<prometheus::Counter>& scans_;
  prometheus::Histogram& scan_seconds_;
  prometheus::Gauge& scan_queue_;
  prometheus::Family<prometheus::Counter>& reconcile_runs_;
  prometheus::Counter& reconcile_repositories_;
  prometheus::Family<prometheus::Counter>& reconcile_changes_;
  prometheus::Gauge& reconcile_running_;
  prometheus::Family<prometheus::Counter>& artifact_details_;
  /// Guards `effects_`: effect metrics are made on first use.
  std::mutex mtx_;
  std::map<std::string, std::unique_ptr<effect_metrics>> effects_;
};

/// The whole number a counting gauge holds, for the decisions that still read
/// a metric (the HTTP actor's backpressure reads the backlog).
inline int64_t as_count(const prometheus::Gauge& g) {
  return static_cast<int64_t>(std::llround(g.Value()));
}

} // namespace regevent
