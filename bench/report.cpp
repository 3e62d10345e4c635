#include "bench/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace regevent::bench {

namespace {

/// Nearest-rank percentile of sorted values.
double rank(const std::vector<float>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto n = static_cast<double>(sorted.size());
  auto i = static_cast<size_t>(std::ceil(q * n));
  i = std::min(std::max<size_t>(i, 1), sorted.size());
  return sorted[i - 1];
}

latency_summary summarize_values(std::vector<float>& v) {
  latency_summary s;
  s.count = v.size();
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (float x : v)
    sum += x;
  s.mean_ms = sum / static_cast<double>(v.size()) / 1000.0;
  s.p50_ms = rank(v, 0.50) / 1000.0;
  s.p99_ms = rank(v, 0.99) / 1000.0;
  s.p999_ms = rank(v, 0.999) / 1000.0;
  s.max_ms = v.back() / 1000.0;
  return s;
}

} // namespace

latency_summary summarize(const std::vector<sample>& samples) {
  std::vector<float> v;
  v.reserve(samples.size());
  for (const auto& s : samples)
    v.push_back(s.latency_us);
  return summarize_values(v);
}

latency_summary summarize(std::vector<float> latencies_us) {
  return summarize_values(latencies_us);
}

nlohmann::json to_json(const latency_summary& s) {
  return {{"count", s.count},   {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms},
          {"p99_ms", s.p99_ms}, {"p999_ms", s.p999_ms}, {"max_ms", s.max_ms}};
}

std::vector<soak_window> soak_windows(const std::vector<sample>& samples,
                                      const std::vector<observation>& series,
                                      double offset_s, double duration_s,
                                      double window_s) {
  auto count = static_cast<size_t>(std::ceil(duration_s / window_s));
  std::vector<std::vector<float>> latencies(count);
  for (const auto& s : samples) {
    auto w = static_cast<size_t>(s.at_ms / 1000.0 / window_s);
    if (w < count)
      latencies[w].push_back(s.latency_us);
  }
  std::vector<soak_window> out(count);
  for (size_t w = 0; w < count; ++w) {
    out[w].start_s = static_cast<double>(w) * window_s;
    out[w].rate = static_cast<double>(latencies[w].size()) / window_s;
    out[w].latency = summarize_values(latencies[w]);
  }
  for (const auto& o : series) {
    auto t = o.t - offset_s;
    if (t < 0)
      continue;
    auto w = static_cast<size_t>(t / window_s);
    if (w < count)
      out[w].rss_mib
          = std::max(out[w].rss_mib, static_cast<double>(o.rss_kib) / 1024.0);
  }
  return out;
}

double slope(const std::vector<double>& x, const std::vector<double>& y) {
  auto n = static_cast<double>(x.size());
  if (x.size() < 2)
    return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string
markdown(const std::string& title, const std::string& command,
         const std::string& environment, const std::vector<table_row>& rows,
         const check_result& check, const std::vector<std::string>& sections) {
  std::ostringstream out;
  out << "### " << title << "\n\n```sh\n"
      << command << "\n```\n\n"
      << environment
      << "\n\n| metric | value | target | |\n|---|---|---|---|\n";
  for (const auto& r : rows)
    out << "| " << r.metric << " | " << r.value << " | " << r.target << " | "
        << r.verdict << " |\n";
  out << "\nCorrectness check: **" << (check.ok() ? "PASSED" : "FAILED")
      << "**\n\n| check | expected | actual | |\n|---|---|---|---|\n";
  for (const auto& i : check.items)
    out << "| " << i.what << " | " << i.expected << " | " << i.actual << " | "
        << (i.ok ? "ok" : "**WRONG**") << " |\n";
  for (const auto& s : sections)
    out << "\n" << s;
  return out.str();
}

nlohmann::json to_json(const check_result& check) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : check.items)
    items.push_back({{"what", i.what},
                     {"expected", i.expected},
                     {"actual", i.actual},
                     {"ok", i.ok}});
  return {{"passed", check.ok()}, {"items", items}};
}

nlohmann::json to_json(const ledger& l) {
  uint64_t counted = 0;
  for (auto n : l.pull_counts)
    counted += n;
  return {{"events", l.events},
          {"duplicates", l.duplicates},
          {"pushes", l.pushes},
          {"pulls_get", l.pulls_get},
          {"pulls_head", l.pulls_head},
          {"pulls_by_digest", l.pulls_by_digest},
          {"deletes", l.deletes},
          {"counted_pulls", counted},
          {"effect_marks", l.effect_marks}};
}

std::pair<std::string, std::string>
write_results(const std::string& dir, const std::string& scenario,
              const nlohmann::json& report, const std::string& text) {
  std::filesystem::create_directories(dir);
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  auto base = dir + "/" + scenario + "-" + stamp;
  std::ofstream(base + ".json") << report.dump(2) << "\n";
  std::ofstream(base + ".md") << text;
  return {base + ".json", base + ".md"};
}

nlohmann::json latest_result(const std::string& dir,
                             const std::string& scenario) {
  std::error_code ec;
  std::string best;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    // Time stamps in the names sort chronologically.
    if (name.rfind(scenario + "-", 0) == 0
        && entry.path().extension() == ".json" && name > best)
      best = name;
  }
  if (best.empty())
    return nullptr;
  std::ifstream in(dir + "/" + best);
  auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_discarded() ? nullptr : j;
}

} // namespace regevent::bench
