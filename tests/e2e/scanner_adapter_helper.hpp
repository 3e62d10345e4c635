#pragma once

#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace regevent::test {

/// The scanner adapter double (tests/fixtures/scanner_adapter_double.py) as
/// a child process on 127.0.0.1 port 0: Harbor's Pluggable Scanner API
/// (GET /api/v1/metadata, POST /api/v1/scan, GET
/// /api/v1/scan/{id}/report). A scan really pulls the artifact from the
/// registry named in the request, with the request's Authorization, and
/// reports a vulnerability for each file named `VULNERABLE` in its layers
/// (the file's content, e.g. `Critical`, its severity; High when empty).
class scanner_adapter_double {
public:
  struct options {
    /// How the daemon must authenticate to the adapter, as a Harbor
    /// scanner registration says it: "" (not at all), "Basic" (credential
    /// `user:password`, sent base64-encoded), "Bearer" (the token) or
    /// "X-ScannerAdapter-API-Key" (the key, in that header). Else 401.
    std::string auth;
    std::string credential;
    /// Each scan's first `refresh_times` report polls answer 302, and so
    /// does every poll while the scan runs.
    int refresh_times = 0;
    /// The 302's `Refresh-After` seconds; negative: no such header (as
    /// Trivy's adapter, which leaves the client to its default).
    int refresh_after = 1;
    /// Every scan ends in error: its report answers 500.
    bool fail_scan = false;
    /// GET /api/v1/metadata answers 500.
    bool fail_metadata = false;
    /// The CA certificate (PEM) to trust when pulling from an HTTPS
    /// registry.
    std::string registry_ca;
    /// Listen on this port of 127.0.0.1 (an adapter back where it was);
    /// 0: a free one.
    uint16_t port = 0;
    /// Serve HTTPS with this certificate and key (PEM files).
    std::string tls_cert;
    std::string tls_key;
  };

  /// Its files are `name`.port, `name`.log (its output) and
  /// `name`.requests (log()) in `dir`.
  scanner_adapter_double(const temp_dir& dir, options opts,
                         const std::string& name = "scanner");
  scanner_adapter_double(const scanner_adapter_double&) = delete;
  scanner_adapter_double& operator=(const scanner_adapter_double&) = delete;

  /// False when the process did not come up (see `problem()`).
  bool started() const {
    return process_->port() != 0;
  }
  const std::string& problem() const {
    return process_->problem();
  }
  uint16_t port() const {
    return process_->port();
  }
  /// `http[s]://127.0.0.1:<port>` + path: without a path, the base URL a
  /// scanner registration names (the API is under `/api/v1`).
  std::string url(const std::string& path = "") const;
  /// Everything it recorded so far, in order, each with `time` (float
  /// seconds since the epoch) and `kind`:
  /// - "request": one answered request: `method`, `path`, `accept`,
  ///   `content_type`, `user_agent`, `status`; `scan_id` for a scan
  ///   accepted and for a report poll (with `poll`, 1 for the first);
  ///   `body` for a scan request that was valid JSON.
  /// - "pull": one GET it sent a registry: `scan_id`, `path`, `status` (0:
  ///   no answer), `user_agent`.
  /// - "scan": a scan's end: `scan_id`, `state` ("done" with `files` and
  ///   `severity`, or "error" with `message`).
  std::vector<nlohmann::json> log() const;

  /// The User-Agent of its registry pulls.
  static constexpr const char* user_agent = "regevent-test-adapter/1.0";
  /// `scanner.name` in its metadata and reports.
  static constexpr const char* scanner_name = "regevent-test-adapter";

private:
  bool tls_ = false;
  std::string log_path_;
  std::unique_ptr<python_double> process_;
};

} // namespace regevent::test
