#include "actors/metrics.hpp"

#include <cstdio>

namespace regevent {

namespace {

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> size_buckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
}

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

void line(std::string& out, const std::string& name, const std::string& labels,
          const std::string& value) {
  out += name;
  if (!labels.empty())
    out += "{" + labels + "}";
  out += " " + value + "\n";
}

void header(std::string& out, const char* name, const char* type,
            const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " "
         + type + "\n";
}

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i] = 0;
}

void histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  auto old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + value,
                                     std::memory_order_relaxed)) {
  }
}

void histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  uint64_t cumulative = 0;
  auto sep = labels.empty() ? std::string{} : labels + ",";
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    line(out, name + "_bucket", sep + "le=\"" + fmt_double(bounds_[i]) + "\"",
         std::to_string(cumulative));
  }
  cumulative += counts_[bounds_.size()].load(std::memory_order_relaxed);
  line(out, name + "_bucket", sep + "le=\"+Inf\"", std::to_string(cumulative));
  line(out, name + "_sum", labels, fmt_double(sum_.load()));
  line(out, name + "_count", labels, std::to_string(count_.load()));
}

effect_metrics::effect_metrics()
    : batch_size(size_buckets()), commit_seconds(latency_buckets()) {}

metrics::metrics()
    : journal_commit_seconds(latency_buckets()),
      journal_batch_size(size_buckets()) {}

void metrics::count_request(const std::string& route, unsigned status) {
  std::lock_guard<std::mutex> guard(mtx_);
  ++requests_[{route, status}];
}

effect_metrics& metrics::effect(const std::string& name) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto& slot = effects_[name];
  if (!slot)
    slot = std::make_unique<effect_metrics>();
  return *slot;
}

std::string metrics::render() const {
  std::string out;
  out.reserve(8192);
  header(out, "regevent_http_requests_total", "counter",
         "HTTP requests by route and status code.");
  std::map<std::string, effect_metrics*> effects;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    for (const auto& [key, n] : requests_)
      line(out, "regevent_http_requests_total",
           "route=\"" + key.first + "\",code=\"" + std::to_string(key.second)
               + "\"",
           std::to_string(n));
    for (const auto& [name, m] : effects_)
      effects[name] = m.get();
  }
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    header(out, name, "counter", help);
    line(out, name, "", std::to_string(v));
  };
  header(out, "regevent_events_total", "counter",
         "Events received, by outcome at ingest.");
  line(out, "regevent_events_total", "outcome=\"accepted\"",
       std::to_string(events_accepted.load()));
  line(out, "regevent_events_total", "outcome=\"duplicate\"",
       std::to_string(events_duplicate.load()));
  line(out, "regevent_events_total", "outcome=\"ignored\"",
       std::to_string(events_ignored.load()));
  counter("regevent_events_filtered_total",
          "Journaled events the dispatcher filtered out.",
          events_filtered.load());
  counter("regevent_events_done_total", "Events whose effects all committed.",
          events_done.load());
  counter("regevent_events_dead_total",
          "Events with at least one dead-lettered effect.", events_dead.load());
  counter("regevent_journal_commits_total", "Journal group commits.",
          journal_commits.load());
  counter("regevent_journal_commit_failures_total",
          "Journal commits that failed.", journal_failures.load());
  header(out, "regevent_journal_commit_seconds", "histogram",
         "Latency of one journal group commit.");
  journal_commit_seconds.render(out, "regevent_journal_commit_seconds", "");
  header(out, "regevent_journal_batch_size", "histogram",
         "Requests carried by one journal group commit.");
  journal_batch_size.render(out, "regevent_journal_batch_size", "");
  header(out, "regevent_backlog_events", "gauge",
         "Journaled events not yet finished.");
  line(out, "regevent_backlog_events", "", std::to_string(backlog.load()));
  header(out, "regevent_dispatchers", "gauge", "Dispatcher actors alive.");
  line(out, "regevent_dispatchers", "", std::to_string(dispatchers.load()));
  counter("regevent_supervisor_restarts_total",
          "Effect actors restarted by the supervisor.",
          supervisor_restarts.load());
  header(out, "regevent_journal_events", "gauge",
         "Journaled events by status (refreshed periodically).");
  for (size_t i = 0; i < events_by_status.size(); ++i)
    line(out, "regevent_journal_events",
         std::string("status=\"") + status_names[i] + "\"",
         std::to_string(events_by_status[i].load()));
  const std::pair<const char*, std::atomic<uint64_t> effect_metrics::*>
      effect_counters[] = {{"committed", &effect_metrics::committed},
                           {"skipped", &effect_metrics::skipped},
                           {"failed", &effect_metrics::failed},
                           {"retried", &effect_metrics::retried},
                           {"dead_lettered", &effect_metrics::dead_lettered}};
  header(out, "regevent_effect_events_total", "counter",
         "Effect outcomes per event: committed, skipped (already applied), "
         "failed, retried, dead_lettered.");
  for (const auto& [name, m] : effects)
    for (const auto& [outcome, member] : effect_counters)
      line(out, "regevent_effect_events_total",
           "effect=\"" + name + "\",outcome=\"" + outcome + "\"",
           std::to_string((m->*member).load()));
  header(out, "regevent_effect_batch_size", "histogram",
         "Requests carried by one effect commit.");
  for (const auto& [name, m] : effects)
    m->batch_size.render(out, "regevent_effect_batch_size",
                         "effect=\"" + name + "\"");
  header(out, "regevent_effect_commit_seconds", "histogram",
         "Latency of one effect commit.");
  for (const auto& [name, m] : effects)
    m->commit_seconds.render(out, "regevent_effect_commit_seconds",
                             "effect=\"" + name + "\"");
  return out;
}

void health::set_failed(std::string why) {
  std::lock_guard<std::mutex> guard(mtx_);
  failure_ = std::move(why);
}

std::string health::not_ready_reason() const {
  if (shutting_down.load())
    return "shutting down";
  if (!database_ok.load())
    return "database unreachable";
  std::lock_guard<std::mutex> guard(mtx_);
  return failure_;
}

} // namespace regevent
