#include "actors/observability/metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace regevent {
namespace {

/// The lines of an exposition that start with `prefix`, in order.
std::vector<std::string> lines_of(const std::string& text,
                                  const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      out.push_back(line);
  return out;
}

/// True when `line` is one whole line of `text`.
bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(metrics, counters_and_gauges_are_exposed_with_their_values) {
  metrics m;
  m.events_accepted.Increment(3);
  m.events_duplicate.Increment();
  m.events_filtered.Increment(5);
  m.supervisor_restarts.Increment(2);
  m.backlog.Set(42);
  m.dispatchers.Increment();
  m.dispatchers.Increment();
  m.dispatchers.Decrement();
  m.events_by_status[2]->Set(7);
  auto t = m.render();
  EXPECT_TRUE(has_line(t, "# TYPE regevent_events_total counter")) << t;
  EXPECT_TRUE(has_line(t, "regevent_events_total{outcome=\"accepted\"} 3"));
  EXPECT_TRUE(has_line(t, "regevent_events_total{outcome=\"duplicate\"} 1"));
  EXPECT_TRUE(has_line(t, "regevent_events_total{outcome=\"ignored\"} 0"));
  EXPECT_TRUE(has_line(t, "regevent_events_filtered_total 5"));
  EXPECT_TRUE(has_line(t, "regevent_events_done_total 0"));
  EXPECT_TRUE(has_line(t, "regevent_journal_commit_failures_total 0"));
  EXPECT_TRUE(has_line(t, "regevent_supervisor_restarts_total 2"));
  EXPECT_TRUE(has_line(t, "# TYPE regevent_backlog_events gauge"));
  EXPECT_TRUE(has_line(t, "regevent_backlog_events 42"));
  EXPECT_TRUE(has_line(t, "regevent_dispatchers 1"));
  EXPECT_EQ(lines_of(t, "regevent_journal_events"),
            (std::vector<std::string>{
                "regevent_journal_events{status=\"dead\"} 0",
                "regevent_journal_events{status=\"done\"} 7",
                "regevent_journal_events{status=\"ignored\"} 0",
                "regevent_journal_events{status=\"pending\"} 0"}));
  // Decisions still read values (backpressure reads the backlog).
  EXPECT_EQ(m.backlog.Value(), 42.0);
}

TEST(metrics, requests_are_counted_by_route_and_code) {
  metrics m;
  m.count_request("notifications", 200);
  m.count_request("notifications", 200);
  m.count_request("notifications", 503);
  m.count_request("metrics", 200);
  EXPECT_EQ(
      lines_of(m.render(), "regevent_http_requests_total"),
      (std::vector<std::string>{
          "regevent_http_requests_total{code=\"200\",route=\"metrics\"} 1",
          "regevent_http_requests_total{code=\"200\",route=\"notifications\"}"
          " 2",
          "regevent_http_requests_total{code=\"503\",route=\"notifications\"}"
          " 1"}));
}

TEST(metrics, histogram_buckets_are_cumulative_with_sum_and_count) {
  metrics m;
  // A value on a bound falls into that bound's bucket (le = "less or equal").
  for (double v : {1.0, 3.0, 4.0, 5000.0})
    m.journal_batch_size.Observe(v);
  m.journal_commit_seconds.Observe(0.25);
  m.journal_commit_seconds.Observe(2);
  auto t = m.render();
  EXPECT_EQ(lines_of(t, "regevent_journal_batch_size"),
            (std::vector<std::string>{
                "regevent_journal_batch_size_count 4",
                "regevent_journal_batch_size_sum 5008",
                "regevent_journal_batch_size_bucket{le=\"1\"} 1",
                "regevent_journal_batch_size_bucket{le=\"2\"} 1",
                "regevent_journal_batch_size_bucket{le=\"4\"} 3",
                "regevent_journal_batch_size_bucket{le=\"8\"} 3",
                "regevent_journal_batch_size_bucket{le=\"16\"} 3",
                "regevent_journal_batch_size_bucket{le=\"32\"} 3",
                "regevent_journal_batch_size_bucket{le=\"64\"} 3",
                "regevent_journal_batch_size_bucket{le=\"128\"} 3",
                "regevent_journal_batch_size_bucket{le=\"256\"} 3",
                "regevent_journal_batch_size_bucket{le=\"512\"} 3",
                "regevent_journal_batch_size_bucket{le=\"1024\"} 3",
                "regevent_journal_batch_size_bucket{le=\"2048\"} 3",
                "regevent_journal_batch_size_bucket{le=\"4096\"} 3",
                "regevent_journal_batch_size_bucket{le=\"+Inf\"} 4"}))
      << t;
  EXPECT_EQ(lines_of(t, "regevent_journal_commit_seconds"),
            (std::vector<std::string>{
                "regevent_journal_commit_seconds_count 2",
                "regevent_journal_commit_seconds_sum 2.25",
                "regevent_journal_commit_seconds_bucket{le=\"0.0001\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.00025\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.0005\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.001\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.0025\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.005\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.01\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.025\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.05\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.1\"} 0",
                "regevent_journal_commit_seconds_bucket{le=\"0.25\"} 1",
                "regevent_journal_commit_seconds_bucket{le=\"0.5\"} 1",
                "regevent_journal_commit_seconds_bucket{le=\"1\"} 1",
                "regevent_journal_commit_seconds_bucket{le=\"2.5\"} 2",
                "regevent_journal_commit_seconds_bucket{le=\"5\"} 2",
                "regevent_journal_commit_seconds_bucket{le=\"10\"} 2",
                "regevent_journal_commit_seconds_bucket{le=\"+Inf\"} 2"}));
}

TEST(metrics, effect_metrics_are_labelled_and_escaped) {
  metrics m;
  const std::string name = "pull\"counter\\x\ny";
  const std::string label = "effect=\"pull\\\"counter\\\\x\\ny\"";
  auto& e = m.effect(name);
  EXPECT_EQ(&e, &m.effect(name));
  e.committed.Increment(2);
  e.dead_lettered.Increment();
  e.batch_size.Observe(2);
  e.commit_seconds.Observe(0.5);
  auto t = m.render();
  EXPECT_EQ(
      lines_of(t, "regevent_effect_events_total"),
      (std::vector<std::string>{
          "regevent_effect_events_total{" + label + ",outcome=\"committed\"} 2",
          "regevent_effect_events_total{" + label
              + ",outcome=\"dead_lettered\"} 1",
          "regevent_effect_events_total{" + label + ",outcome=\"failed\"} 0",
          "regevent_effect_events_total{" + label + ",outcome=\"retried\"} 0",
          "regevent_effect_events_total{" + label + ",outcome=\"skipped\"} 0"}))
      << t;
  EXPECT_TRUE(has_line(t, "regevent_effect_batch_size_count{" + label + "} 1"));
  EXPECT_TRUE(has_line(t, "regevent_effect_batch_size_sum{" + label + "} 2"));
  EXPECT_TRUE(has_line(t, "regevent_effect_batch_size_bucket{" + label
                              + ",le=\"1\"} 0"));
  EXPECT_TRUE(has_line(t, "regevent_effect_batch_size_bucket{" + label
                              + ",le=\"2\"} 1"));
  EXPECT_TRUE(has_line(t, "regevent_effect_commit_seconds_bucket{" + label
                              + ",le=\"0.25\"} 0"));
  EXPECT_TRUE(has_line(t, "regevent_effect_commit_seconds_bucket{" + label
                              + ",le=\"0.5\"} 1"));
  EXPECT_TRUE(has_line(t, "regevent_effect_commit_seconds_bucket{" + label
                              + ",le=\"+Inf\"} 1"));
}

TEST(metrics, scan_and_replication_outcomes_start_at_zero_and_count) {
  metrics m;
  auto t = m.render();
  for (const char* outcome : {"success", "failed", "unsupported", "retry"})
    EXPECT_TRUE(has_line(t, std::string("regevent_scans_total{outcome=\"")
                                + outcome + "\"} 0"))
        << outcome;
  for (const char* outcome :
       {"succeed", "skipped", "retry", "failed", "cancelled"})
    EXPECT_TRUE(
        has_line(t, std::string("regevent_replication_attempts_total{outcome=\"")
                        + outcome + "\"} 0"))
        << outcome;
  m.scan_outcome("success", 2.0);
  m.scan_outcome("retry", -1);
  m.scan_queue(3);
  t = m.render();
  EXPECT_TRUE(has_line(t, "regevent_scans_total{outcome=\"success\"} 1"));
  EXPECT_TRUE(has_line(t, "regevent_scans_total{outcome=\"retry\"} 1"));
  // A retry is no scan's end: no duration.
  EXPECT_TRUE(has_line(t, "regevent_scan_seconds_count 1"));
  EXPECT_TRUE(has_line(t, "regevent_scan_queue 3"));
}

TEST(metrics, families_keep_the_order_in_which_they_were_declared) {
  metrics m;
  m.count_request("metrics", 200);
  m.effect("access_log");
  auto types = lines_of(m.render(), "# TYPE ");
  EXPECT_EQ(types, (std::vector<std::string>{
                       "# TYPE regevent_http_requests_total counter",
                       "# TYPE regevent_events_total counter",
                       "# TYPE regevent_events_filtered_total counter",
                       "# TYPE regevent_events_done_total counter",
                       "# TYPE regevent_events_dead_total counter",
                       "# TYPE regevent_journal_commits_total counter",
                       "# TYPE regevent_journal_commit_failures_total counter",
                       "# TYPE regevent_journal_commit_seconds histogram",
                       "# TYPE regevent_journal_batch_size histogram",
                       "# TYPE regevent_backlog_events gauge",
                       "# TYPE regevent_dispatchers gauge",
                       "# TYPE regevent_supervisor_restarts_total counter",
                       "# TYPE regevent_ready gauge",
                       "# TYPE regevent_journal_events gauge",
                       "# TYPE regevent_effect_events_total counter",
                       "# TYPE regevent_effect_batch_size histogram",
                       "# TYPE regevent_effect_commit_seconds histogram",
                       "# TYPE regevent_replication_attempts_total counter",
                       "# TYPE regevent_replication_bytes_total counter",
                       "# TYPE regevent_replication_attempt_seconds histogram",
                       "# TYPE regevent_replication_queue gauge",
                       "# TYPE regevent_scans_total counter",
                       "# TYPE regevent_scan_seconds histogram",
                       "# TYPE regevent_scan_queue gauge",
                       "# TYPE regevent_reconcile_runs_total counter",
                       "# TYPE regevent_reconcile_repositories_total counter",
                       "# TYPE regevent_reconcile_changes_total counter",
                       "# TYPE regevent_reconcile_running gauge",
                       "# TYPE regevent_artifact_details_total counter"}));
}

} // namespace
} // namespace regevent
