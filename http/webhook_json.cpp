#include "http/webhook_json.hpp"

#include "config/defaults.hpp"
#include "config/http_url.hpp"
#include "http/address_guard.hpp"
#include "http/json_fields.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>

namespace regevent {

namespace {

using json = nlohmann::json;

/// A Standard Webhooks secret: `whsec_` + base64 of 24 to 64 key bytes.
bool webhook_secret(const std::string& text) {
  const std::string prefix = "whsec_";
  if (text.rfind(prefix, 0) != 0)
    return false;
  auto b64 = text.substr(prefix.size());
  if (b64.empty() || b64.size() % 4 != 0)
    return false;
  std::string out(3 * b64.size() / 4, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(b64.data()),
                           static_cast<int>(b64.size()));
  if (n < 0)
    return false;
  auto padding = static_cast<int>(b64.size() - b64.find_last_not_of('=') - 1);
  auto bytes = n - padding;
  return bytes >= 24 && bytes <= 64;
}

bool read_target(const json& t, const std::string& where, bool can_seal,
                 webhook_target& out, std::string& error) {
  if (!t.is_object()) {
    error = where + " must be an object";
    return false;
  }
  bool given = false;
  auto prefix = where + ".";
  if (!read_string(t, "type", prefix, out.type, given, error)
      || !read_string(t, "address", prefix, out.address, given, error)
      || !read_string(t, "auth_header", prefix, out.auth_header,
                      out.has_auth_header, error)
      || !read_string(t, "secret", prefix, out.secret, out.has_secret, error)
      || !read_string(t, "payload_format", prefix, out.payload_format, given,
                      error)
      || !read_bool(t, "skip_cert_verify", prefix, out.skip_cert_verify, error)
      || !read_string(t, "ca_file", prefix, out.ca_file, given, error))
    return false;
  // Read by the daemon at delivery; a path relative to its working
  // directory would change meaning with it.
  if (!out.ca_file.empty() && out.ca_file.front() != '/') {
    error = prefix + "ca_file must be an absolute path";
    return false;
  }
  if (out.type != "http") {
    error = prefix + "type must be \"http\"";
    return false;
  }
  std::string why;
  if (!parse_http_url(out.address, why)) {
    error = prefix + "address: " + why;
    return false;
  }
  if (!one_of(out.payload_format, webhook_payload_formats)) {
    error = prefix + "payload_format must be \"Default\" or \"CloudEvents\"";
    return false;
  }
  if (out.auth_header.find_first_of("\r\n") != std::string::npos) {
    error = prefix + "auth_header must be one line";
    return false;
  }
  if (!out.secret.empty() && !webhook_secret(out.secret)) {
    error = prefix
            + "secret must be whsec_ followed by the base64 of 24 to "
              "64 random bytes";
    return false;
  }
  if (!can_seal && (!out.auth_header.empty() || !out.secret.empty())) {
    error = prefix + (out.secret.empty() ? "auth_header" : "secret")
            + " cannot be stored: set secrets.key (REGEVENT_SECRETS_KEY_FILE) "
              "first";
    return false;
  }
  return true;
}

json to_json(const webhook_policy& p) {
  json targets = json::array();
  for (const auto& t : p.targets) {
    // auth_header and secret are write-only: never answered.
    json x = {{"type", t.type},
              {"address", t.address},
              {"skip_cert_verify", t.skip_cert_verify},
              {"ca_file", t.ca_file},
              {"payload_format", t.payload_format}};
    if (!t.disabled_reason.empty())
      x["disabled_reason"] = t.disabled_reason;
    targets.push_back(std::move(x));
  }
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"enabled", p.enabled},
          {"event_types", p.event_types},
          {"targets", std::move(targets)},
          {"creation_time", format_rfc3339(p.creation_time)},
          {"update_time", format_rfc3339(p.update_time)}};
}

/// Harbor's execution fields (id, policy_id, event_type, notify_type,
/// status, creation_time, update_time) and what its log lacks: the stable
/// webhook id, attempts, the last answer, latency and the next retry.
json to_json(const webhook_execution& x, bool with_attempts) {
  json out{{"id", x.id},
           {"policy_id", x.policy_id},
           {"webhook_id", x.webhook_id},
           {"event_type", x.event_type},
           {"notify_type", "http"},
           {"address", x.address},
           {"status", x.status},
           {"attempts", x.attempts},
           {"last_status_code", x.last_status_code},
           {"last_error", x.last_error},
           {"latency_ms", static_cast<double>(x.latency_us) / 1000.0},
           {"next_retry_time", x.status == webhook_status::pending
                                   ? json(format_rfc3339(x.next_attempt_at))
                                   : json(nullptr)},
           {"creation_time", format_rfc3339(x.created_at)},
           {"update_time", format_rfc3339(x.updated_at)}};
  if (with_attempts) {
    json log = json::array();
    for (const auto& a : x.attempt_log)
      log.push_back(
          {{"attempt", a.attempt},
           {"start_time", format_rfc3339(a.started_at)},
           {"status_code", a.status_code},
           {"error", a.error},
           {"latency_ms", static_cast<double>(a.latency_us) / 1000.0}});
    out["attempts_log"] = std::move(log);
  }
  return out;
}

} // namespace

std::optional<webhook_policy_spec>
parse_webhook_policy(const std::string& body, const std::string& project,
                     bool can_seal, std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  webhook_policy_spec spec;
  spec.project = project;
  bool given = false;
  if (!read_string(doc, "name", "", spec.name, given, error)
      || !read_string(doc, "description", "", spec.description, given, error)
      || !read_bool(doc, "enabled", "", spec.enabled, error))
    return std::nullopt;
  if (spec.name.empty() || spec.name.size() > defaults::api::max_project_name) {
    error = "name must be 1-255 characters";
    return std::nullopt;
  }
  auto types = doc.find("event_types");
  if (types == doc.end() || !types->is_array() || types->empty()) {
    error = "event_types must be a non-empty array";
    return std::nullopt;
  }
  for (size_t i = 0; i < types->size(); ++i) {
    const auto& t = (*types)[i];
    auto where = "event_types[" + std::to_string(i) + "]";
    if (!t.is_string() || !one_of(t.get<std::string>(), webhook_event_types)) {
      error = where
              + " must be one of PUSH_ARTIFACT, PULL_ARTIFACT, "
                "DELETE_ARTIFACT, SCANNING_COMPLETED, SCANNING_FAILED, "
                "REPLICATION";
      return std::nullopt;
    }
    auto name = t.get<std::string>();
    if (std::find(spec.event_types.begin(), spec.event_types.end(), name)
        == spec.event_types.end())
      spec.event_types.push_back(std::move(name));
  }
  auto targets = doc.find("targets");
  if (targets == doc.end() || !targets->is_array() || targets->empty()
      || targets->size() > defaults::webhooks::max_targets) {
    error = "targets must be an array of 1 to "
            + std::to_string(defaults::webhooks::max_targets) + " targets";
    return std::nullopt;
  }
  for (size_t i = 0; i < targets->size(); ++i) {
    webhook_target t;
    if (!read_target((*targets)[i], "targets[" + std::to_string(i) + "]",
                     can_seal, t, error))
      return std::nullopt;
    spec.targets.push_back(std::move(t));
  }
  return spec;
}

bool check_webhook_targets(const webhook_policy_spec& spec,
                           const address_guard& guard, std::string& error) {
  for (size_t i = 0; i < spec.targets.size(); ++i) {
    auto url = parse_http_url(spec.targets[i].address, error);
    auto why = url ? guard.host_refusal(url->host) : error;
    if (!why.empty()) {
      error = "targets[" + std::to_string(i) + "].address: " + why;
      return false;
    }
  }
  return true;
}

std::string webhook_execution_json(const webhook_execution& x) {
  return dump_json(to_json(x, true));
}

std::string webhook_executions_json(const webhook_execution_page& page) {
  json out = json::array();
  for (const auto& x : page.items)
    out.push_back(to_json(x, false));
  return dump_json(out);
}

std::string webhook_policy_json(const webhook_policy& p) {
  return dump_json(to_json(p));
}

std::string webhook_policies_json(const webhook_policy_list& list) {
  json out = json::array();
  for (const auto& p : list.items)
    out.push_back(to_json(p));
  return dump_json(out);
}

std::string webhook_events_json() {
  json formats = json::array();
  for (const auto* f : webhook_payload_formats)
    formats.push_back(f);
  return dump_json(
      {{"event_type", webhook_event_types},
       {"notify_type", {"http"}},
       {"payload_formats", {{{"notify_type", "http"}, {"formats", formats}}}}});
}

} // namespace regevent
