#include "http/replication_json.hpp"

#include "config/defaults.hpp"
#include "config/http_url.hpp"
#include "http/json_fields.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>

namespace regevent {

namespace {

using json = nlohmann::json;

/// Harbor's int8 for `dest_namespace_replace_count`.
constexpr int64_t max_replace_count = 127;
/// KiB/s; about 2 TiB/s, more than any link.
constexpr int64_t max_speed_kib = int64_t{1} << 31;

constexpr std::array<const char*, 2> trigger_types{"event_based", "manual"};

bool alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// One path component as Distribution's grammar allows it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
bool valid_component(const std::string& c) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < c.size() && alnum_lower(c[i]))
      ++i;
    if (i == start)
      return false; // empty, or a separator not between alphanumerics
    if (i == c.size())
      return true;
    if (c[i] == '.')
      ++i;
    else if (c[i] == '_')
      i += (i + 1 < c.size() && c[i + 1] == '_') ? 2 : 1;
    else if (c[i] == '-')
      while (i < c.size() && c[i] == '-')
        ++i;
    else
      return false;
  }
}

/// A namespace as Distribution allows repository path components:
/// lowercase alphanumerics joined by `.`, `_`, `__`, `-`, and `/`.
bool valid_namespace(const std::string& ns) {
  size_t start = 0;
  while (true) {
    auto end = ns.find('/', start);
    if (!valid_component(ns.substr(start, end - start)))
      return false;
    if (end == std::string::npos)
      return true;
    start = end + 1;
  }
}

bool read_name(const json& doc, std::string& name, std::string& error) {
  bool given = false;
  if (!read_string(doc, "name", "", name, given, error))
    return false;
  if (name.empty() || name.size() > defaults::api::max_project_name) {
    error = "name must be 1-255 characters";
    return false;
  }
  return true;
}

bool read_credential(const json& doc, bool can_seal, registry_credential& out,
                     std::string& error) {
  auto it = doc.find("credential");
  if (it == doc.end() || it->is_null())
    return true;
  if (!it->is_object()) {
    error = "credential must be an object";
    return false;
  }
  bool given = false;
  if (!read_string(*it, "type", "credential.", out.type, given, error)
      || !read_string(*it, "access_key", "credential.", out.access_key, given,
                      error)
      || !read_string(*it, "access_secret", "credential.", out.access_secret,
                      out.has_access_secret, error))
    return false;
  if (out.type.empty() && (!out.access_key.empty() || out.has_access_secret))
    out.type = "basic";
  if (!out.type.empty() && out.type != "basic") {
    error = "credential.type must be \"basic\"";
    return false;
  }
  if (out.type == "basic" && out.access_key.empty()) {
    error = "credential.access_key is required with a basic credential";
    return false;
  }
  if (out.access_key.find(':') != std::string::npos) {
    // Basic auth joins user and password with ':'.
    error = "credential.access_key must not contain ':'";
    return false;
  }
  if (out.has_access_secret && !out.access_secret.empty() && !can_seal) {
    error = "credential.access_secret cannot be stored: set secrets.key "
            "(REGEVENT_SECRETS_KEY_FILE) first";
    return false;
  }
  return true;
}

bool read_filters(const json& doc, std::vector<replication_filter>& out,
                  std::string& error) {
  auto it = doc.find("filters");
  if (it == doc.end() || it->is_null())
    return true;
  if (!it->is_array()) {
    error = "filters must be an array";
    return false;
  }
  bool name_seen = false, tag_seen = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& f = (*it)[i];
    auto where = "filters[" + std::to_string(i) + "].";
    if (!f.is_object()) {
      error = "filters[" + std::to_string(i) + "] must be an object";
      return false;
    }
    replication_filter x;
    std::string decoration;
    bool given = false;
    if (!read_string(f, "type", where, x.type, given, error)
        || !read_string(f, "value", where, x.value, given, error)
        || !read_string(f, "decoration", where, decoration, given, error))
      return false;
    if (x.type == "resource") {
      // Harbor's UI sends the resource type with every policy; regevent
      // replicates images (artifacts) only.
      if (x.value != "image" && x.value != "artifact") {
        error = where + "value must be \"image\" or \"artifact\"";
        return false;
      }
      continue;
    }
    if (x.type == "label") {
      error = where
              + "type: label filters are not supported (regevent keeps "
                "no labels)";
      return false;
    }
    if (x.type != "name" && x.type != "tag") {
      error = where + "type must be \"name\", \"tag\" or \"resource\"";
      return false;
    }
    if (!decoration.empty() && decoration != "matches") {
      error = where + "decoration must be \"matches\"";
      return false;
    }
    if (x.value.empty()) {
      error = where + "value must be a non-empty pattern";
      return false;
    }
    bool& seen = x.type == "name" ? name_seen : tag_seen;
    if (seen) {
      error = where + "type: at most one " + x.type + " filter";
      return false;
    }
    seen = true;
    out.push_back(std::move(x));
  }
  return true;
}

json registry_to_json(const registry_record& r) {
  json credential
      = {{"type", r.credential.type}, {"access_key", r.credential.access_key}};
  if (r.credential.has_access_secret)
    credential["access_secret"] = "*****";
  return {{"id", r.id},
          {"name", r.name},
          {"description", r.description},
          {"type", r.type},
          {"url", r.url},
          {"insecure", r.insecure},
          {"ca_file", r.ca_file},
          {"credential", std::move(credential)},
          {"creation_time", format_rfc3339(r.creation_time)},
          {"update_time", format_rfc3339(r.update_time)}};
}

json policy_to_json(const replication_policy& p) {
  json filters = json::array();
  for (const auto& f : p.filters)
    filters.push_back({{"type", f.type}, {"value", f.value}});
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"enabled", p.enabled},
          // The source is the registry that notifies regevent (config).
          {"src_registry", nullptr},
          {"dest_registry", {{"id", p.dest_registry_id}}},
          {"dest_namespace", p.dest_namespace},
          {"dest_namespace_replace_count", p.dest_namespace_replace_count},
          {"filters", std::move(filters)},
          {"trigger",
           {{"type", p.trigger_type}, {"trigger_settings", {{"cron", ""}}}}},
          {"override", p.override_tags},
          {"deletion", p.deletion},
          {"replicate_deletion", p.deletion},
          {"speed", p.speed_kib},
          {"creation_time", format_rfc3339(p.creation_time)},
          {"update_time", format_rfc3339(p.update_time)}};
}

} // namespace

std::optional<registry_spec> parse_registry(const std::string& body,
                                            bool can_seal, std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  registry_spec spec;
  bool given = false;
  if (!read_name(doc, spec.name, error)
      || !read_string(doc, "description", "", spec.description, given, error)
      || !read_string(doc, "type", "", spec.type, given, error)
      || !read_string(doc, "url", "", spec.url, given, error)
      || !read_bool(doc, "insecure", "", spec.insecure, error)
      || !read_string(doc, "ca_file", "", spec.ca_file, given, error)
      || !read_credential(doc, can_seal, spec.credential, error))
    return std::nullopt;
  if (spec.type != "docker-registry") {
    error = "type must be \"docker-registry\"";
    return std::nullopt;
  }
  std::string why;
  auto url = parse_http_url(spec.url, why);
  if (!url) {
    error = "url: " + why;
    return std::nullopt;
  }
  // Read by the daemon at copy time; a relative path would change meaning
  // with its working directory.
  if (!spec.ca_file.empty() && spec.ca_file.front() != '/') {
    error = "ca_file must be an absolute path";
    return std::nullopt;
  }
  return spec;
}

std::optional<replication_policy_spec>
parse_replication_policy(const std::string& body, std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  replication_policy_spec spec;
  bool given = false;
  if (!read_name(doc, spec.name, error)
      || !read_string(doc, "description", "", spec.description, given, error)
      || !read_bool(doc, "enabled", "", spec.enabled, error)
      || !read_string(doc, "dest_namespace", "", spec.dest_namespace, given,
                      error)
      || !read_int(doc, "dest_namespace_replace_count", "", -1,
                   max_replace_count, spec.dest_namespace_replace_count, error)
      || !read_bool(doc, "override", "", spec.override_tags, error)
      || !read_bool(doc, "deletion", "", spec.deletion, error)
      // Harbor 2.3 renamed deletion; either spelling is taken.
      || !read_bool(doc, "replicate_deletion", "", spec.deletion, error)
      || !read_int(doc, "speed", "", -1, max_speed_kib, spec.speed_kib, error)
      || !read_filters(doc, spec.filters, error))
    return std::nullopt;
  if (spec.speed_kib < 0)
    spec.speed_kib = 0; // Harbor's -1: unlimited.
  if (!spec.dest_namespace.empty() && !valid_namespace(spec.dest_namespace)) {
    error = "dest_namespace must be lowercase path components (a-z, 0-9, "
            "'.', '_', '-') joined by '/'";
    return std::nullopt;
  }
  if (doc.contains("src_registry") && !doc["src_registry"].is_null()) {
    error = "src_registry: the source is the registry that notifies regevent "
            "(source_registry in the configuration); pull-based replication "
            "is not supported";
    return std::nullopt;
  }
  auto dest = doc.find("dest_registry");
  if (dest == doc.end() || !dest->is_object() || !dest->contains("id")
      || !(*dest)["id"].is_number_integer()
      || (*dest)["id"].get<int64_t>() <= 0) {
    error = "dest_registry.id must be the id of a registry";
    return std::nullopt;
  }
  spec.dest_registry_id = (*dest)["id"].get<int64_t>();
  auto trigger = doc.find("trigger");
  if (trigger != doc.end() && !trigger->is_null()) {
    if (!trigger->is_object()) {
      error = "trigger must be an object";
      return std::nullopt;
    }
    if (!read_string(*trigger, "type", "trigger.", spec.trigger_type, given,
                     error))
      return std::nullopt;
    if (!one_of(spec.trigger_type, trigger_types)) {
      error = "trigger.type must be \"event_based\" or \"manual\" (scheduled "
              "replication is not supported)";
      return std::nullopt;
    }
  }
  return spec;
}

registry_spec registry_ping_request::applied_to(registry_spec base) const {
  if (url)
    base.url = *url;
  if (insecure)
    base.insecure = *insecure;
  if (ca_file)
    base.ca_file = *ca_file;
  if (access_key)
    base.credential.access_key = *access_key;
  if (access_secret)
    base.credential.access_secret = *access_secret;
  return base;
}

std::optional<registry_ping_request>
parse_registry_ping(const std::string& body, std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  registry_ping_request out;
  int64_t id = 0;
  if (!read_int(doc, "id", "", 0, INT64_MAX, id, error))
    return std::nullopt;
  out.id = id;
  auto take = [&](const json& o, const char* key, const std::string& where,
                  std::optional<std::string>& into) {
    std::string value;
    bool given = false;
    if (!read_string(o, key, where, value, given, error))
      return false;
    if (given)
      into = std::move(value);
    return true;
  };
  if (!take(doc, "url", "", out.url) || !take(doc, "ca_file", "", out.ca_file)
      || !take(doc, "access_key", "", out.access_key)
      || !take(doc, "access_secret", "", out.access_secret))
    return std::nullopt;
  if (auto c = doc.find("credential"); c != doc.end() && !c->is_null()) {
    if (!c->is_object()) {
      error = "credential must be an object";
      return std::nullopt;
    }
    if (!take(*c, "access_key", "credential.", out.access_key)
        || !take(*c, "access_secret", "credential.", out.access_secret))
      return std::nullopt;
  }
  if (doc.contains("insecure")) {
    bool insecure = false;
    if (!read_bool(doc, "insecure", "", insecure, error))
      return std::nullopt;
    out.insecure = insecure;
  }
  if (out.id == 0 && !out.url) {
    error = "url is required without the id of a saved registry";
    return std::nullopt;
  }
  std::string why;
  if (out.url && !parse_http_url(*out.url, why)) {
    error = "url: " + why;
    return std::nullopt;
  }
  if (out.ca_file && !out.ca_file->empty() && out.ca_file->front() != '/') {
    error = "ca_file must be an absolute path";
    return std::nullopt;
  }
  return out;
}

std::string registry_json(const registry_record& r) {
  return dump_json(registry_to_json(r));
}

std::string registries_json(const std::vector<registry_record>& list) {
  json out = json::array();
  for (const auto& r : list)
    out.push_back(registry_to_json(r));
  return dump_json(out);
}

std::string replication_policy_json(const replication_policy& p) {
  return dump_json(policy_to_json(p));
}

std::string
replication_policies_json(const std::vector<replication_policy>& list) {
  json out = json::array();
  for (const auto& p : list)
    out.push_back(policy_to_json(p));
  return dump_json(out);
}

namespace {

/// Harbor writes a time that has not come as the zero time.
std::string time_or_zero(timestamp_us t) {
  return t == 0 ? std::string("0001-01-01T00:00:00Z") : format_rfc3339(t);
}

json execution_object(const replication_execution& x) {
  return {{"id", x.id},
          {"policy_id", x.policy_id},
          {"status", x.status},
          {"status_text", x.status_text},
          {"trigger", x.trigger},
          {"total", x.total},
          {"failed", x.failed},
          {"succeed", x.succeed},
          {"in_progress", x.in_progress},
          {"stopped", x.stopped},
          {"start_time", time_or_zero(x.start_time)},
          {"end_time", time_or_zero(x.end_time)}};
}

} // namespace

std::string replication_execution_json(const replication_execution& x) {
  return execution_object(x).dump();
}

std::string replication_executions_json(const replication_execution_page& p) {
  json out = json::array();
  for (const auto& x : p.items)
    out.push_back(execution_object(x));
  return out.dump();
}

std::string replication_tasks_json(const replication_task_list& list) {
  json out = json::array();
  for (const auto& t : list.items) {
    json o = {{"id", t.id},
              {"execution_id", t.execution_id},
              {"resource_type", "image"},
              {"src_resource", t.src_resource},
              {"dst_resource", t.dst_resource},
              {"operation", t.operation},
              {"status", t.status},
              {"job_id", std::to_string(t.id)},
              {"start_time", time_or_zero(t.start_time)},
              {"end_time", time_or_zero(t.end_time)},
              {"attempts", t.attempts},
              {"bytes_copied", t.bytes_copied},
              {"error", t.error},
              {"skipped", t.skipped}};
    if (t.next_attempt_at != 0)
      o["next_attempt_at"] = format_rfc3339(t.next_attempt_at);
    out.push_back(std::move(o));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<int64_t> parse_replication_start(const std::string& body,
                                               std::string& error) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  auto it = doc.find("policy_id");
  if (it == doc.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) {
    error = "policy_id must be a positive integer";
    return std::nullopt;
  }
  return it->get<int64_t>();
}

} // namespace regevent
