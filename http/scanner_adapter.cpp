#include "http/scanner_adapter.hpp"

#include "config/defaults.hpp"
#include "http/client.hpp"
#include "persistence/base64.hpp"

#include <nlohmann/json.hpp>

#include <utility>

namespace regevent {

namespace {

using json = nlohmann::json;

/// The media type Harbor asks for; v1.0-1.2 adapters all serve it.
constexpr const char* metadata_type
    = "application/vnd.scanner.adapter.metadata+json; version=1.0";

} // namespace

std::string adapter_error_message(const std::string& body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()
      && doc["error"].contains("message")
      && doc["error"]["message"].is_string())
    return doc["error"]["message"].get<std::string>();
  return {};
}

std::vector<std::pair<std::string, std::string>>
adapter_auth_headers(const scanner_spec& target) {
  std::vector<std::pair<std::string, std::string>> out;
  if (target.auth == scanner_auth::basic)
    out.emplace_back("Authorization",
                     "Basic " + to_base64(target.access_credential));
  else if (target.auth == scanner_auth::bearer)
    out.emplace_back("Authorization", "Bearer " + target.access_credential);
  else if (target.auth == scanner_auth::api_key)
    out.emplace_back(scanner_auth::api_key, target.access_credential);
  return out;
}

std::string adapter_base(const scanner_spec& target) {
  auto base = target.url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  return base;
}

void fetch_scanner_metadata(std::shared_ptr<outbound_client> client,
                            const scanner_spec& target,
                            std::function<void(scanner_metadata_result)> done) {
  outbound_request req;
  req.url = adapter_base(target) + "/api/v1/metadata";
  req.headers.emplace_back("Accept", metadata_type);
  for (auto& h : adapter_auth_headers(target))
    req.headers.push_back(std::move(h));
  req.options.tls.skip_cert_verify = target.skip_cert_verify;
  client->send(std::move(req), [done = std::move(done)](outbound_result r) {
    scanner_metadata_result out;
    if (!r.ok()) {
      out.failure = r.error_text;
      out.transient = true;
      return done(std::move(out));
    }
    if (r.status != 200) {
      out.transient = r.status >= 500 || r.status == 408 || r.status == 429;
      auto message = adapter_error_message(r.body);
      out.failure = "GET /api/v1/metadata answered " + std::to_string(r.status)
                    + (message.empty() ? "" : ": " + message);
      return done(std::move(out));
    }
    auto doc = json::parse(r.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("scanner")
        || !doc["scanner"].is_object() || !doc.contains("capabilities")
        || !doc["capabilities"].is_array()) {
      out.failure = "the adapter's metadata is not a ScannerAdapterMetadata "
                    "(a scanner object and a capabilities array)";
      return done(std::move(out));
    }
    out.metadata = std::move(r.body);
    done(std::move(out));
  });
}

} // namespace regevent
