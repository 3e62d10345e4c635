#pragma once

/// Scans of artifacts through a scanner adapter (Harbor's Pluggable Scanner
/// API v1.x): the tasks the scan workers run and what the management API
/// and the SCANNING_* webhooks read of them. Plain records, no SQL; and the
/// two pure functions that read an adapter's report and render Harbor's
/// `scan_overview`, which the API and the webhook payloads share.

#include "persistence/scanner.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace regevent {

/// A scan task's status: Harbor's job statuses, and Unsupported for an
/// artifact the scanner cannot read (an index, a Helm chart).
namespace scan_status {
constexpr const char* pending = "Pending";
constexpr const char* running = "Running";
constexpr const char* success = "Success";
constexpr const char* error = "Error";
constexpr const char* unsupported = "Unsupported";
} // namespace scan_status

/// The report types regevent asks an adapter for, in its order of
/// preference: Harbor v2.0 keys its `scan_overview` by the first; adapters
/// since spec v1.1 also produce the second.
namespace scan_report_type {
constexpr const char* harbor_v1
    = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
constexpr const char* vulnerability_v1_1
    = "application/vnd.security.vulnerability.report; version=1.1";
} // namespace scan_report_type

/// Harbor's severities, lowest first (the spec's enum; Harbor adds None
/// for a report with no vulnerability).
extern const std::vector<std::string> scan_severities;

/// A claimed scan task, for the worker.
struct scan_job {
  int64_t task_id = 0;
  /// The lease this claim holds; an outcome must name it.
  timestamp_us lease = 0;
  std::string project;
  std::string repository;
  std::string digest;
  std::string tag;
  /// The artifact's manifest media type, as the registry notified it.
  std::string media_type;
  std::string report_id;
  /// The scanner: its registration with the credential opened.
  scanner_registration scanner;
  /// Not empty: the adapter accepted the scan under this id; the worker
  /// polls its report instead of asking again.
  std::string request_id;
  std::string report_mime;
  /// When the adapter accepted it (the report deadline counts from it).
  timestamp_us submitted_at = 0;
  int64_t attempts = 0;
  /// Not empty: the task cannot run (its scanner was deleted or is
  /// disabled, the credential cannot be opened); it fails with this.
  std::string unusable;
};

/// What a scan found, summed up as Harbor's NativeReportSummary does.
struct scan_summary {
  /// The highest severity found; "None" for a report without any.
  std::string severity;
  int64_t total = 0;
  /// Vulnerabilities with a fix version.
  int64_t fixable = 0;
  /// Count by severity (only those found).
  std::map<std::string, int64_t> by_severity;
};

/// A scan step's outcome, written by the worker.
struct scan_outcome_record {
  int64_t task_id = 0;
  timestamp_us lease = 0;
  /// scan_status: Running (the adapter accepted it: `request_id` and
  /// `report_mime` are set and the lease is kept), Pending (retry at
  /// `next_attempt_at`), or an end: Success, Error, Unsupported.
  std::string status;
  std::string request_id;
  std::string report_mime;
  /// False when the task was given back without trying (the worker
  /// stopped): its attempts stay as they were.
  bool attempted = true;
  timestamp_us next_attempt_at = 0;
  /// Why it failed or was not scanned; the last error of a retry.
  std::string error;
  /// Success: the adapter's report as it sent it, and its summary.
  std::string report;
  scan_summary summary;
  /// The scanner as its metadata named it.
  std::string scanner_name;
  std::string scanner_vendor;
  std::string scanner_version;
};

/// One report of an artifact, as `scan_overview` shows it.
struct scan_overview_row {
  std::string digest;
  std::string report_id;
  /// The report's media type: the overview's key.
  std::string report_mime;
  std::string status;
  scan_summary summary;
  timestamp_us start_time = 0;
  timestamp_us end_time = 0;
  std::string scanner_name;
  std::string scanner_vendor;
  std::string scanner_version;
};

/// An artifact to scan by hand, or whose report to read: a digest or a
/// tag in a repository.
struct artifact_reference {
  std::string repository;
  std::string reference;
};

/// What a manual scan request did.
enum class scan_request_outcome {
  /// A task was queued.
  queued,
  /// One for the artifact and its scanner was queued or running already.
  already_running,
  no_artifact,
  /// The project has no scanner and there is no default.
  no_scanner,
};

struct scan_request_result {
  scan_request_outcome outcome = scan_request_outcome::queued;
  std::string report_id;
};

/// The stored report of an artifact (its latest successful scan by the
/// project's scanner); empty when there is none.
struct scan_report_doc {
  std::string report_mime;
  std::string report;
};

/// A scan's log, as `GET .../scan/{report_id}/log` answers it.
struct scan_log {
  std::string text;
};

/// The artifact and one of its report ids.
struct scan_log_query {
  artifact_reference artifact;
  std::string report_id;
};

/// Reads a HarborVulnerabilityReport: the highest severity and the counts.
/// Throws std::invalid_argument when `report` is not one.
scan_summary summarize_vulnerability_report(const std::string& report);

/// A summary's counts by severity as stored (a JSON object), and back; a
/// stored text that is not one reads as no counts.
std::string severity_counts_text(const std::map<std::string, int64_t>& counts);
std::map<std::string, int64_t> severity_counts(const std::string& text);

/// Harbor's `scan_overview`: an object keyed by report type, each value a
/// NativeReportSummary (`report_id`, `scan_status`, `severity`, `duration`,
/// `summary`, `start_time`, `end_time`, `complete_percent`, `scanner`), as
/// JSON text; `{}` for none.
std::string scan_overview_json(const std::vector<scan_overview_row>& rows);

} // namespace regevent
