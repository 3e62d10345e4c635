#pragma once

#include "bench/check.hpp"
#include "bench/daemon.hpp"
#include "bench/load.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace regevent::bench {

/// Ack latency percentiles, from the client side, in milliseconds.
struct latency_summary {
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

/// Exact percentiles (nearest rank) of the samples' latencies.
latency_summary summarize(const std::vector<sample>& samples);
/// The same over plain latencies in microseconds.
latency_summary summarize(std::vector<float> latencies_us);
nlohmann::json to_json(const latency_summary& s);

/// One window of a soak: when, how fast, how much memory.
struct soak_window {
  double start_s = 0;
  latency_summary latency;
  double rate = 0;
  double rss_mib = 0;
};

/// Cuts the samples and the monitor's RSS series into windows of
/// `window_s` seconds; `offset_s` is when the load started on the
/// monitor's clock.
std::vector<soak_window> soak_windows(const std::vector<sample>& samples,
                                      const std::vector<observation>& series,
                                      double offset_s, double duration_s,
                                      double window_s);

/// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y);

/// A line of the Markdown table.
struct table_row {
  std::string metric;
  std::string value;
  std::string target;
  std::string verdict;
};

std::string fixed(double v, int decimals);

/// The Markdown report of one run: the command, the table, the check and
/// free-form sections (daemon counters, soak windows).
std::string
markdown(const std::string& title, const std::string& command,
         const std::string& environment, const std::vector<table_row>& rows,
         const check_result& check, const std::vector<std::string>& sections);

nlohmann::json to_json(const check_result& check);
nlohmann::json to_json(const ledger& l);

/// Writes `<dir>/<scenario>-<stamp>.json` and `.md`; returns their paths.
std::pair<std::string, std::string>
write_results(const std::string& dir, const std::string& scenario,
              const nlohmann::json& report, const std::string& markdown_text);

/// The newest `<scenario>-*.json` in `dir`, parsed (null when none).
nlohmann::json latest_result(const std::string& dir,
                             const std::string& scenario);

} // namespace regevent::bench
