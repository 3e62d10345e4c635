#include "http/scanner_port.hpp"

#include "config/defaults.hpp"
#include "config/percent.hpp"
#include "http/client.hpp"
#include "http/image_copy.hpp"
#include "http/registry_client.hpp"
#include "http/scanner_adapter.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <thread>
#include <utility>

namespace regevent {

namespace {

using json = nlohmann::json;

constexpr const char* scan_request_type
    = "application/vnd.scanner.adapter.scan.request+json; version=1.0";
constexpr const char* scan_response_type
    = "application/vnd.scanner.adapter.scan.response+json; version=1.0";
/// A report is read whole; Trivy's for a large image runs to megabytes.
constexpr size_t report_limit = 64u << 20;
/// What a 302's `Refresh-After` may ask: at least a second (an adapter
/// answering 0 is not polled in a busy loop), at most an hour.
constexpr uint32_t min_refresh_s = 1;
constexpr uint32_t max_refresh_s = 3'600;

scanner_call_status failed(std::string error, bool transient) {
  scanner_call_status s;
  s.error = std::move(error);
  s.transient = transient;
  return s;
}

/// An answer that is not the one wanted: 5xx and no answer at all are
/// worth a retry; a 4xx is the adapter refusing the request.
scanner_call_status refused(const char* step, const outbound_result& r) {
  // A report too large for the limit, or a request the client refuses,
  // will be the same next time.
  if (!r.ok())
    return failed(std::string(step) + ": " + r.error_text,
                  r.error != outbound_error::too_large
                      && r.error != outbound_error::invalid_request);
  auto message = adapter_error_message(r.body);
  return failed(std::string(step) + " answered " + std::to_string(r.status)
                    + (message.empty() ? "" : ": " + message),
                r.status >= 500 || r.status == 408 || r.status == 429);
}

std::vector<std::string> strings_of(const json& list) {
  std::vector<std::string> out;
  if (list.is_array())
    for (const auto& x : list)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

/// Reads the vulnerability capabilities of a ScannerAdapterMetadata (spec
/// v1.2 adds `type`; absent means vulnerability).
scanner_adapter_info info_of(const std::string& metadata) {
  scanner_adapter_info info;
  auto doc = json::parse(metadata, nullptr, false);
  const auto& scanner = doc["scanner"];
  for (auto [key, field] : {std::pair{"name", &info.name},
                            std::pair{"vendor", &info.vendor},
                            std::pair{"version", &info.version}})
    if (scanner.contains(key) && scanner[key].is_string())
      *field = scanner[key].get<std::string>();
  for (const auto& c : doc["capabilities"]) {
    if (!c.is_object())
      continue;
    if (c.contains("type") && c["type"] != "vulnerability")
      continue;
    for (auto& t : strings_of(c.value("consumes_mime_types", json())))
      info.consumes.push_back(std::move(t));
    for (auto& t : strings_of(c.value("produces_mime_types", json())))
      info.produces.push_back(std::move(t));
  }
  return info;
}

outbound_request adapter_request(const scanner_registration& scanner,
                                 const std::string& path,
                                 const std::string& user_agent,
                                 std::chrono::milliseconds timeout) {
  outbound_request req;
  req.url = adapter_base(scanner) + path;
  req.headers = adapter_auth_headers(scanner);
  req.headers.emplace_back("User-Agent", user_agent);
  req.options.tls.skip_cert_verify = scanner.skip_cert_verify;
  req.options.total_timeout = timeout;
  return req;
}

class adapter_scanner_port final : public scanner_port {
public:
  adapter_scanner_port(std::shared_ptr<outbound_client> client,
                       replication_source source, std::string registry_url,
                       std::string user_agent, std::chrono::milliseconds timeout)
      : client_(std::move(client)),
        adapter_registry_url_(registry_url.empty() ? source.url : registry_url),
        user_agent_(std::move(user_agent)),
        timeout_(timeout) {
    registry_client_config cfg;
    cfg.user_agent = user_agent_;
    // One client for every scan: its tokens are cached per repository.
    registry_
        = std::make_shared<registry_client>(*client_, endpoint_of(source), cfg);
  }

  void metadata(scanner_registration scanner,
                std::function<void(scanner_metadata_answer)> done) override {
    fetch_scanner_metadata(
        client_, scanner, [done = std::move(done)](scanner_metadata_result r) {
          scanner_metadata_answer a;
          if (!r.failure.empty()) {
            // Down or overloaded: the scan waits for it within its
            // retries. A refused key fails it at once.
            a.status = failed(r.failure, r.transient);
            return done(std::move(a));
          }
          a.status.ok = true;
          a.info = info_of(r.metadata);
          done(std::move(a));
        });
  }

  void submit(scan_job job, std::function<void(scan_submit_answer)> done) override {
    if (registry_->endpoint().url.empty()) {
      scan_submit_answer a;
      a.status = failed("source_registry.url is not configured: the adapter "
                        "would not know where to pull from",
                        false);
      return done(std::move(a));
    }
    // The registry calls block: a thread of its own, as replication's.
    std::thread([client = client_, registry = registry_,
                 registry_url = adapter_registry_url_, ua = user_agent_, timeout = timeout_,
                 job = std::move(job), done = std::move(done)]() mutable {
      scan_submit_answer a;
      try {
        auto authorization
            = registry->pull_authorization(job.repository, job.digest);
        if (!authorization) {
          a.status = failed("registry: " + authorization.error().text(),
                            is_transient(authorization.error()));
          return done(std::move(a));
        }
        json artifact = {{"repository", job.repository},
                         {"digest", job.digest},
                         {"mime_type", job.media_type}};
        if (!job.tag.empty())
          artifact["tag"] = job.tag;
        json registry_doc = {{"url", registry_url}};
        if (!authorization->empty())
          registry_doc["authorization"] = *authorization;
        auto req = adapter_request(job.scanner, "/api/v1/scan", ua, timeout);
        req.method = "POST";
        req.headers.emplace_back("Content-Type", scan_request_type);
        req.headers.emplace_back("Accept", scan_response_type);
        req.body = json{{"registry", std::move(registry_doc)},
                        {"artifact", std::move(artifact)}}
                       .dump();
        auto r = client->send_and_wait(std::move(req));
        if (!r.ok() || r.status != 202) {
          a.status = refused("POST /api/v1/scan", r);
          return done(std::move(a));
        }
        auto doc = json::parse(r.body, nullptr, false);
        if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()
            || doc["id"].get<std::string>().empty()) {
          a.status = failed("POST /api/v1/scan: the answer is not a "
                            "ScanResponse with an id",
                            false);
          return done(std::move(a));
        }
        a.status.ok = true;
        a.request_id = doc["id"].get<std::string>();
      } catch (const std::exception& e) {
        a = {};
        a.status = failed(std::string("scan request failed: ") + e.what(), true);
      }
      done(std::move(a));
    }).detach();
  }

  void poll(scan_job job, std::function<void(scan_poll_answer)> done) override {
    auto req = adapter_request(job.scanner,
                               "/api/v1/scan/" + percent_encode(job.request_id)
                                   + "/report",
                               user_agent_, timeout_);
    req.headers.emplace_back("Accept", job.report_mime);
    req.options.body_limit = report_limit;
    client_->send(std::move(req), [done = std::move(done)](outbound_result r) {
      scan_poll_answer a;
      if (r.ok() && r.status == 200) {
        a.status.ok = true;
        a.ready = true;
        a.report = std::move(r.body);
      } else if (r.ok() && r.status == 302) {
        a.status.ok = true;
        a.refresh_after_s = refresh_after(r);
      } else if (r.ok() && r.status == 404) {
        a.status = failed("the adapter no longer knows the scan request "
                          "(404)",
                          true);
        a.unknown_request = true;
      } else if (r.ok() && r.status == 500) {
        // The spec's end of a failed scan.
        a.status = refused("GET report", r);
        a.status.transient = false;
      } else {
        a.status = refused("GET report", r);
      }
      done(std::move(a));
    });
  }

private:
  static uint32_t refresh_after(const outbound_result& r) {
    auto text = r.header("Refresh-After");
    uint32_t seconds = defaults::scanning::refresh_after_s;
    if (text) {
      uint32_t parsed = 0;
      auto [end, ec] = std::from_chars(text->data(),
                                       text->data() + text->size(), parsed);
      if (ec == std::errc() && end == text->data() + text->size())
        seconds = parsed;
    }
    return std::clamp(seconds, min_refresh_s, max_refresh_s);
  }

  std::shared_ptr<outbound_client> client_;
  /// The registry's URL in scan requests: as the adapters reach it.
  std::string adapter_registry_url_;
  std::string user_agent_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<registry_client> registry_;
};

} // namespace

std::shared_ptr<scanner_port>
make_scanner_port(std::shared_ptr<outbound_client> client,
                  replication_source source, std::string registry_url,
                  std::string user_agent, std::chrono::milliseconds timeout) {
  return std::make_shared<adapter_scanner_port>(
      std::move(client), std::move(source), std::move(registry_url),
      std::move(user_agent), timeout);
}

} // namespace regevent
