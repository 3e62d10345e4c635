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

/// The adapter's error message (`{"error": {"message": ...}}`), if its
/// body is the spec's ErrorResponse.
std::string error_message(const std::string& body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()
      && doc["error"].contains("message")
      && doc["error"]["message"].is_string())
    return doc["error"]["message"].get<std::string>();
  return {};
}

} // namespace

void fetch_scanner_metadata(std::shared_ptr<outbound_client> client,
                            const scanner_spec& target,
                            std::function<void(scanner_metadata_result)> done) {
  outbound_request req;
  auto base = target.url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  req.url = base + "/api/v1/metadata";
  req.headers.emplace_back("Accept", metadata_type);
  if (target.auth == scanner_auth::basic)
    req.headers.emplace_back("Authorization",
                             "Basic " + to_base64(target.access_credential));
  else if (target.auth == scanner_auth::bearer)
    req.headers.emplace_back("Authorization",
                             "Bearer " + target.access_credential);
  else if (target.auth == scanner_auth::api_key)
    req.headers.emplace_back(scanner_auth::api_key, target.access_credential);
  req.options.tls.skip_cert_verify = target.skip_cert_verify;
  client->send(std::move(req), [done = std::move(done)](outbound_result r) {
    scanner_metadata_result out;
    if (!r.ok()) {
      out.failure = r.error_text;
      return done(std::move(out));
    }
    if (r.status != 200) {
      auto message = error_message(r.body);
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
