#include "persistence/scan.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace regevent {

namespace {

using json = nlohmann::json;

/// Harbor's word for a report that found nothing.
constexpr const char* severity_none = "None";

int rank(const std::string& severity) {
  auto it = std::find(scan_severities.begin(), scan_severities.end(),
                      severity);
  return it == scan_severities.end()
             ? -1
             : static_cast<int>(it - scan_severities.begin());
}

std::string text_of(const json& item, const char* key) {
  auto it = item.find(key);
  return it != item.end() && it->is_string() ? it->get<std::string>()
                                             : std::string();
}

} // namespace

const std::vector<std::string> scan_severities{"Unknown", "Negligible", "Low",
                                               "Medium",  "High",       "Critical"};

scan_summary summarize_vulnerability_report(const std::string& report) {
  auto doc = json::parse(report, nullptr, false);
  if (!doc.is_object())
    throw std::invalid_argument("the report is not a JSON object");
  auto list = doc.find("vulnerabilities");
  if (list != doc.end() && !list->is_array() && !list->is_null())
    throw std::invalid_argument("the report's vulnerabilities are not a list");
  scan_summary s;
  int highest = -1;
  if (list != doc.end() && list->is_array())
    for (const auto& item : *list) {
      if (!item.is_object())
        throw std::invalid_argument(
            "a vulnerability of the report is not an object");
      auto severity = text_of(item, "severity");
      // A severity outside the spec's enum counts as Unknown, as Harbor
      // parses it.
      if (rank(severity) < 0)
        severity = scan_severities.front();
      highest = std::max(highest, rank(severity));
      ++s.total;
      ++s.by_severity[severity];
      if (!text_of(item, "fix_version").empty())
        ++s.fixable;
    }
  // The report's own severity may be higher than any item's (an adapter
  // may rate the image as a whole); never lower than what was found. A
  // report without items is None whatever it says, as in Harbor (the
  // spec's enum has no None, so adapters send Unknown for a clean image).
  highest = std::max(highest, rank(text_of(doc, "severity")));
  if (s.total == 0)
    s.severity = severity_none;
  else
    s.severity = scan_severities[static_cast<size_t>(highest)];
  return s;
}

std::string
severity_counts_text(const std::map<std::string, int64_t>& counts) {
  json out = json::object();
  for (const auto& [severity, n] : counts)
    out[severity] = n;
  return out.dump();
}

std::map<std::string, int64_t> severity_counts(const std::string& text) {
  std::map<std::string, int64_t> out;
  auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object())
    return out;
  for (const auto& [severity, n] : doc.items())
    if (n.is_number_integer())
      out[severity] = n.get<int64_t>();
  return out;
}

std::string scan_overview_json(const std::vector<scan_overview_row>& rows) {
  json out = json::object();
  for (const auto& r : rows) {
    json x = {{"report_id", r.report_id}, {"scan_status", r.status}};
    bool ended = r.end_time > 0;
    x["complete_percent"] = ended ? 100 : 0;
    if (r.start_time > 0)
      x["start_time"] = format_rfc3339(r.start_time);
    if (ended) {
      x["end_time"] = format_rfc3339(r.end_time);
      x["duration"] = (r.end_time - r.start_time) / 1'000'000;
    }
    if (r.status == scan_status::success) {
      x["severity"] = r.summary.severity;
      json counts = json::object();
      for (const auto& [severity, n] : r.summary.by_severity)
        counts[severity] = n;
      x["summary"] = {{"total", r.summary.total},
                      {"fixable", r.summary.fixable},
                      {"summary", std::move(counts)}};
    }
    if (!r.scanner_name.empty())
      x["scanner"] = {{"name", r.scanner_name},
                      {"vendor", r.scanner_vendor},
                      {"version", r.scanner_version}};
    out[r.report_mime] = std::move(x);
  }
  return out.dump();
}

} // namespace regevent
