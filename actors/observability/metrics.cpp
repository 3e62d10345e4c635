#include "actors/observability/metrics.hpp"

#include "persistence/event.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>

namespace regevent {

namespace {

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

prometheus::Histogram::BucketBoundaries size_buckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
}

auto builder(prometheus::Counter*) {
  return prometheus::BuildCounter();
}

auto builder(prometheus::Gauge*) {
  return prometheus::BuildGauge();
}

auto builder(prometheus::Histogram*) {
  return prometheus::BuildHistogram();
}

/// Registers a family and remembers its place in the exposition.
template<class T>
prometheus::Family<T>& family(prometheus::Registry& registry,
                              std::vector<std::string>& order, const char* name,
                              const char* help) {
  order.emplace_back(name);
  return builder(static_cast<T*>(nullptr))
      .Name(name)
      .Help(help)
      .Register(registry);
}

/// A family with one unlabelled metric.
template<class T, class... Args>
T& single(prometheus::Registry& registry, std::vector<std::string>& order,
          const char* name, const char* help, Args&&... args) {
  return family<T>(registry, order, name, help)
      .Add({}, std::forward<Args>(args)...);
}

} // namespace

metrics::metrics()
    : requests_(family<prometheus::Counter>(
        registry_, order_, "regevent_http_requests_total",
        "HTTP requests by route and status code.")),
      events_(family<prometheus::Counter>(
          registry_, order_, "regevent_events_total",
          "Events received, by outcome at ingest.")),
      events_accepted(events_.Add({{"outcome", "accepted"}})),
      events_duplicate(events_.Add({{"outcome", "duplicate"}})),
      events_ignored(events_.Add({{"outcome", "ignored"}})),
      events_filtered(single<prometheus::Counter>(
          registry_, order_, "regevent_events_filtered_total",
          "Journaled events the dispatcher filtered out.")),
      events_done(single<prometheus::Counter>(
          registry_, order_, "regevent_events_done_total",
          "Events whose effects all committed.")),
      events_dead(single<prometheus::Counter>(
          registry_, order_, "regevent_events_dead_total",
          "Events with at least one dead-lettered effect.")),
      journal_commits(single<prometheus::Counter>(
          registry_, order_, "regevent_journal_commits_total",
          "Journal group commits.")),
      journal_failures(single<prometheus::Counter>(
          registry_, order_, "regevent_journal_commit_failures_total",
          "Journal commits that failed.")),
      journal_commit_seconds(single<prometheus::Histogram>(
          registry_, order_, "regevent_journal_commit_seconds",
          "Latency of one journal group commit.", latency_buckets())),
      journal_batch_size(single<prometheus::Histogram>(
          registry_, order_, "regevent_journal_batch_size",
          "Append requests carried by one journal group commit.",
          size_buckets())),
      backlog(single<prometheus::Gauge>(registry_, order_,
                                        "regevent_backlog_events",
                                        "Journaled events not yet finished.")),
      dispatchers(single<prometheus::Gauge>(registry_, order_,
                                            "regevent_dispatchers",
                                            "Dispatcher actors alive.")),
      supervisor_restarts(single<prometheus::Counter>(
          registry_, order_, "regevent_supervisor_restarts_total",
          "Effect actors restarted by the supervisor.")),
      ready(single<prometheus::Gauge>(
          registry_, order_, "regevent_ready",
          "1 while /readyz answers 200 (database reachable, actors up).")),
      by_status_(family<prometheus::Gauge>(
          registry_, order_, "regevent_journal_events",
          "Journaled events by status (refreshed periodically).")),
      effect_events_(family<prometheus::Counter>(
          registry_, order_, "regevent_effect_events_total",
          "Effect outcomes per event: committed, skipped (already applied), "
          "failed, retried, dead_lettered.")),
      effect_batch_size_(family<prometheus::Histogram>(
          registry_, order_, "regevent_effect_batch_size",
          "Requests carried by one effect commit.")),
      effect_commit_seconds_(family<prometheus::Histogram>(
          registry_, order_, "regevent_effect_commit_seconds",
          "Latency of one effect commit.")),
      webhook_deliveries_(family<prometheus::Counter>(
          registry_, order_, "regevent_webhook_deliveries_total",
          "Webhook delivery attempts by target (policy/position) and outcome: "
          "success, retry, failed, disabled, deferred.")),
      webhook_seconds_(family<prometheus::Histogram>(
          registry_, order_, "regevent_webhook_delivery_seconds",
          "Latency of one webhook delivery attempt, by target.")),
      webhook_queue_(family<prometheus::Gauge>(
          registry_, order_, "regevent_webhook_queue",
          "Pending webhook deliveries by target (refreshed periodically).")),
      replication_tasks_(family<prometheus::Counter>(
          registry_, order_, "regevent_replication_attempts_total",
          "Replication task attempts by outcome: succeed, skipped, retry, "
          "failed, cancelled (stopped or taken over).")),
      replication_bytes_(
          family<prometheus::Counter>(
              registry_, order_, "regevent_replication_bytes_total",
              "Blob bytes uploaded to destination registries.")
              .Add({})),
      replication_seconds_(
          family<prometheus::Histogram>(
              registry_, order_, "regevent_replication_attempt_seconds",
              "Duration of one replication task attempt.")
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                           900})),
      replication_queue_(family<prometheus::Gauge>(
                             registry_, order_, "regevent_replication_queue",
                             "Unfinished replication tasks (refreshed "
                             "periodically).")
                             .Add({})),
      scans_(family<prometheus::Counter>(
          registry_, order_, "regevent_scans_total",
          "Scan outcomes: success, failed, unsupported (the scanner cannot "
          "read the artifact), retry (the adapter or registry was down).")),
      scan_seconds_(
          family<prometheus::Histogram>(
              registry_, order_, "regevent_scan_seconds",
              "Duration of a scan, from its first attempt to its report.")
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800,
                           3600})),
      scan_queue_(family<prometheus::Gauge>(
                      registry_, order_, "regevent_scan_queue",
                      "Unfinished scan tasks (refreshed periodically).")
                      .Add({})),
      reconcile_runs_(family<prometheus::Counter>(
          registry_, order_, "regevent_reconcile_runs_total",
          "Reconcile runs with the source registry by outcome: succeeded, "
          "failed.")),
      reconcile_repositories_(
          family<prometheus::Counter>(
              registry_, order_, "regevent_reconcile_repositories_total",
              "Repositories walked by reconcile runs.")
              .Add({})),
      reconcile_changes_(family<prometheus::Counter>(
          registry_, order_, "regevent_reconcile_changes_total",
          "Gaps a reconcile found and closed: created (in the registry, "
          "missing here), deleted (gone from the registry), corrected (a "
          "tag on another digest).")),
      reconcile_running_(family<prometheus::Gauge>(
                             registry_, order_, "regevent_reconcile_running",
                             "1 while this instance runs a reconcile.")
                             .Add({})),
      artifact_details_(family<prometheus::Counter>(
          registry_, order_, "regevent_artifact_details_total",
          "Reads of an artifact's details from the source registry by "
          "outcome: done, failed (the manifest is gone or unreadable), retry "
          "(the registry was away).")) {
  for (size_t i = 0; i < events_by_status.size(); ++i)
    events_by_status[i] = &by_status_.Add({{"status", event_status_names[i]}});
  // Every outcome's series exists from the start, at 0: a rate() or an
  // alert over it sees the first failure instead of a series appearing.
  for (const char* outcome :
       {"succeed", "skipped", "retry", "failed", "cancelled"})
    replication_tasks_.Add({{"outcome", outcome}});
  for (const char* outcome : {"success", "failed", "unsupported", "retry"})
    scans_.Add({{"outcome", outcome}});
  for (const char* outcome : {"succeeded", "failed"})
    reconcile_runs_.Add({{"outcome", outcome}});
  for (const char* change : {"created", "deleted", "corrected"})
    reconcile_changes_.Add({{"change", change}});
  for (const char* outcome : {"done", "failed", "retry"})
    artifact_details_.Add({{"outcome", outcome}});
}

void metrics::reconcile_run(const char* outcome) {
  reconcile_runs_.Add({{"outcome", outcome}}).Increment();
}

void metrics::reconcile_progress(int64_t repositories, int64_t created,
                                 int64_t deleted, int64_t corrected) {
  reconcile_repositories_.Increment(static_cast<double>(repositories));
  reconcile_changes_.Add({{"change", "created"}})
      .Increment(static_cast<double>(created));
  reconcile_changes_.Add({{"change", "deleted"}})
      .Increment(static_cast<double>(deleted));
  reconcile_changes_.Add({{"change", "corrected"}})
      .Increment(static_cast<double>(corrected));
}

void metrics::reconcile_running(bool running) {
  reconcile_running_.Set(running ? 1 : 0);
}

void metrics::artifact_details(const char* outcome) {
  artifact_details_.Add({{"outcome", outcome}}).Increment();
}

void metrics::webhook_attempt(const std::string& target, const char* outcome,
                              double seconds) {
  webhook_deliveries_.Add({{"target", target}, {"outcome", outcome}})
      .Increment();
  if (seconds >= 0)
    webhook_seconds_.Add({{"target", target}}, latency_buckets())
        .Observe(seconds);
}

void metrics::webhook_queue(const std::string& target, int64_t pending) {
  webhook_queue_.Add({{"target", target}}).Set(static_cast<double>(pending));
}

void metrics::replication_attempt(const char* outcome, double seconds,
                                  uint64_t bytes) {
  replication_tasks_.Add({{"outcome", outcome}}).Increment();
  replication_bytes_.Increment(static_cast<double>(bytes));
  if (seconds >= 0)
    replication_seconds_.Observe(seconds);
}

void metrics::replication_queue(int64_t unfinished) {
  replication_queue_.Set(static_cast<double>(unfinished));
}

void metrics::scan_outcome(const char* outcome, double seconds) {
  scans_.Add({{"outcome", outcome}}).Increment();
  if (seconds >= 0)
    scan_seconds_.Observe(seconds);
}

void metrics::scan_queue(int64_t unfinished) {
  scan_queue_.Set(static_cast<double>(unfinished));
}

void metrics::count_request(const std::string& route, unsigned status) {
  requests_.Add({{"route", route}, {"code", std::to_string(status)}})
      .Increment();
}

effect_metrics& metrics::effect(const std::string& name) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto& slot = effects_[name];
  if (!slot) {
    auto outcome = [&](const char* o) -> prometheus::Counter& {
      return effect_events_.Add({{"effect", name}, {"outcome", o}});
    };
    // Braces: the members are bound in the order written.
    slot.reset(new effect_metrics{
        outcome("committed"), outcome("skipped"), outcome("failed"),
        outcome("retried"), outcome("dead_lettered"),
        effect_batch_size_.Add({{"effect", name}}, size_buckets()),
        effect_commit_seconds_.Add({{"effect", name}}, latency_buckets())});
  }
  return *slot;
}

std::string metrics::render() const {
  auto families = registry_.Collect();
  auto rank = [this](const prometheus::MetricFamily& f) {
    return std::find(order_.begin(), order_.end(), f.name) - order_.begin();
  };
  // The registry answers in an order of its own (by type, then by hash of
  // the labels); a fixed order keeps scrapes comparable by eye and by diff.
  std::stable_sort(
      families.begin(), families.end(),
      [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  for (auto& f : families)
    std::sort(f.metric.begin(), f.metric.end(),
              [](const auto& a, const auto& b) { return a.label < b.label; });
  return prometheus::TextSerializer().Serialize(families);
}

} // namespace regevent
