#pragma once

/// The door from the scan worker to scanner adapters (Harbor's Pluggable
/// Scanner API v1.x) and to the registry the adapter pulls from. The calls
/// run over the outbound client and the Registry API v2 client in http/,
/// which the actors may not include; the daemon hands the worker a
/// `scanner_port` over them (http/scanner_port.hpp).

#include "persistence/scan.hpp"

#include <functional>
#include <string>
#include <vector>

namespace regevent {

/// What an adapter said of itself (`GET /api/v1/metadata`).
struct scanner_adapter_info {
  std::string name;
  std::string vendor;
  std::string version;
  /// Every `consumes_mime_types` of its vulnerability capabilities.
  std::vector<std::string> consumes;
  /// Every `produces_mime_types` of them.
  std::vector<std::string> produces;
};

/// How a call to an adapter (or to the registry for the scan's
/// authorization) ended.
struct scanner_call_status {
  bool ok = false;
  /// A failure worth retrying: the adapter or registry did not answer, or
  /// answered 5xx outside the report (the report's 500 is the scan's end).
  bool transient = false;
  std::string error;
};

struct scanner_metadata_answer {
  scanner_call_status status;
  scanner_adapter_info info;
};

struct scan_submit_answer {
  scanner_call_status status;
  /// The adapter's scan request id (`ScanResponse.id`).
  std::string request_id;
};

struct scan_poll_answer {
  scanner_call_status status;
  /// 302: not ready; ask again after this many seconds.
  bool ready = false;
  uint32_t refresh_after_s = 0;
  /// 404: the adapter does not know the request (it restarted): ask again.
  bool unknown_request = false;
  /// 200: the report as sent.
  std::string report;
};

class scanner_port {
public:
  virtual ~scanner_port() = default;

  /// Asks the adapter for its metadata; `done` runs once, on a thread of
  /// the port's.
  virtual void metadata(scanner_registration scanner,
                        std::function<void(scanner_metadata_answer)> done)
      = 0;

  /// Builds the registry authorization for the job's repository (the
  /// source registry's pull credential: Basic, or a Bearer token for the
  /// repository's pull scope) and posts the scan request asking for
  /// `job.report_mime`; `done` runs once, on a thread of the port's.
  virtual void submit(scan_job job, std::function<void(scan_submit_answer)> done)
      = 0;

  /// Asks for the report of `job.request_id` as `job.report_mime`.
  virtual void poll(scan_job job, std::function<void(scan_poll_answer)> done)
      = 0;
};

} // namespace regevent
