#include "tests/e2e/harbor_schema.hpp"

#include <cstdint>
#include <limits>
#include <map>

namespace regevent::test::harbor {

using json = nlohmann::json;

namespace {

/// The schemas, from `definitions:` of api/v2.0/swagger.yaml at
/// c50c7ddd6ea4e335a480b49c618281882ab7eec9, property by property.
const std::map<std::string, std::vector<field_spec>>& table() {
  static const std::map<std::string, std::vector<field_spec>> schemas{
      {"Project",
       {{"project_id", "integer:int32"},
        {"owner_id", "integer:int32"},
        {"name", "string"},
        {"registry_id", "integer:int64"},
        {"creation_time", "string:date-time"},
        {"update_time", "string:date-time"},
        {"deleted", "boolean"},
        {"owner_name", "string"},
        {"togglable", "boolean"},
        {"current_user_role_id", "integer"},
        {"current_user_role_ids", "[integer:int32]"},
        {"repo_count", "integer"},
        {"metadata", "#ProjectMetadata"},
        {"cve_allowlist", "#CVEAllowlist"}}},
      // Every key a string ("true"/"false", a severity, a number as
      // text); all but `public` x-nullable.
      {"ProjectMetadata",
       {{"public", "string"},
        {"enable_content_trust", "string?"},
        {"enable_content_trust_cosign", "string?"},
        {"prevent_vul", "string?"},
        {"severity", "string?"},
        {"auto_scan", "string?"},
        {"auto_sbom_generation", "string?"},
        {"reuse_sys_cve_allowlist", "string?"},
        {"retention_id", "string?"},
        {"proxy_speed_kb", "string?"},
        {"max_upstream_conn", "string?"},
        {"proxy_cache_local_on_not_found", "string?"},
        {"proxy_referrer_api", "string?"},
        {"proxy_cache_filter_pattern", "string?"},
        {"proxy_cache_filter_kind", "string?"}}},
      {"CVEAllowlist",
       {{"id", "integer"},
        {"project_id", "integer"},
        {"expires_at", "integer?"},
        {"items", "[#CVEAllowlistItem]"},
        {"creation_time", "string:date-time"},
        {"update_time", "string:date-time"}}},
      {"CVEAllowlistItem", {{"cve_id", "string"}}},
      {"Repository",
       {{"id", "integer:int64"},
        {"project_id", "integer:int64"},
        {"name", "string"},
        {"description", "string"},
        {"artifact_count", "integer:int64"},
        {"pull_count", "integer:int64"},
        {"creation_time", "string:date-time?"},
        {"update_time", "string:date-time"}}},
      {"Artifact",
       {{"id", "integer:int64"},
        {"type", "string"},
        {"media_type", "string"},
        {"manifest_media_type", "string"},
        {"artifact_type", "string"},
        {"project_id", "integer:int64"},
        {"repository_id", "integer:int64"},
        {"repository_name", "string"},
        {"digest", "string"},
        {"size", "integer:int64"},
        {"icon", "string"},
        {"push_time", "string:date-time"},
        {"pull_time", "string:date-time"},
        // ExtraAttrs and Annotations: free-form objects.
        {"extra_attrs", "{}"},
        {"annotations", "{}"},
        {"references", "[#Reference]"},
        {"tags", "[#Tag]"},
        // AdditionLinks: a map of AdditionLink.
        {"addition_links", "{#AdditionLink}"},
        {"labels", "[#Label]"},
        // ScanOverview: a map of NativeReportSummary, held free-form.
        {"scan_overview", "{}"},
        {"sbom_overview", "#SBOMOverview"},
        {"accessories", "[#Accessory]"},
        {"inherited_accessories", "[#Accessory]"}}},
      {"Tag",
       {{"id", "integer:int64"},
        {"repository_id", "integer:int64"},
        {"artifact_id", "integer:int64"},
        {"name", "string"},
        {"push_time", "string:date-time"},
        {"pull_time", "string:date-time"},
        {"immutable", "boolean"}}},
      {"Reference",
       {{"parent_id", "integer:int64"},
        {"child_id", "integer:int64"},
        {"child_digest", "string"},
        {"platform", "#Platform"},
        {"annotations", "{}"},
        {"urls", "[string]"}}},
      // The swagger names two properties `'os.version'` and
      // `'os.features'`, quotes included (doubled quotes in its YAML);
      // the OCI platform's own names are accepted as well.
      {"Platform",
       {{"architecture", "string"},
        {"os", "string"},
        {"'os.version'", "string"},
        {"'os.features'", "[string]"},
        {"os.version", "string"},
        {"os.features", "[string]"},
        {"variant", "string"}}},
      {"AdditionLink", {{"href", "string"}, {"absolute", "boolean"}}},
      {"Label",
       {{"id", "integer:int64"},
        {"name", "string"},
        {"description", "string"},
        {"color", "string"},
        {"scope", "string"},
        {"project_id", "integer:int64"},
        {"creation_time", "string:date-time"},
        {"update_time", "string:date-time"}}},
      {"SBOMOverview",
       {{"start_time", "string:date-time"},
        {"end_time", "string:date-time"},
        {"scan_status", "string"},
        {"sbom_digest", "string"},
        {"report_id", "string"},
        {"duration", "integer:int64"},
        {"scanner", "#Scanner"}}},
      {"Scanner",
       {{"name", "string"}, {"vendor", "string"}, {"version", "string"}}},
      {"Accessory",
       {{"id", "integer:int64"},
        {"artifact_id", "integer:int64"},
        {"subject_artifact_id", "integer:int64"},
        {"subject_artifact_digest", "string"},
        {"subject_artifact_repo", "string"},
        {"size", "integer:int64"},
        {"digest", "string"},
        {"type", "string"},
        {"icon", "string"},
        {"creation_time", "string:date-time"}}},
      {"AuditLog",
       {{"id", "integer"},
        {"username", "string"},
        {"resource", "string"},
        {"resource_type", "string"},
        {"operation", "string"},
        {"op_time", "string:date-time"}}},
      // Every field x-nullable and x-omitempty.
      {"GeneralInfo",
       {{"banner_message", "string?"},
        {"current_time", "string:date-time?"},
        {"registry_url", "string?"},
        {"external_url", "string?"},
        {"auth_mode", "string?"},
        {"primary_auth_mode", "boolean?"},
        {"project_creation_restriction", "string?"},
        {"self_registration", "boolean?"},
        {"has_ca_root", "boolean?"},
        {"harbor_version", "string?"},
        {"registry_storage_provider_name", "string?"},
        {"read_only", "boolean?"},
        {"notification_enable", "boolean?"},
        {"authproxy_settings", "#AuthproxySetting?"},
        {"oidc_provider_name", "string?"}}},
      {"AuthproxySetting",
       {{"endpoint", "string"},
        {"tokenreivew_endpoint", "string"},
        {"skip_search", "boolean"},
        {"verify_cert", "boolean"},
        {"server_certificate", "string"}}},
      {"OverallHealthStatus",
       {{"status", "string"}, {"components", "[#ComponentHealthStatus]"}}},
      {"ComponentHealthStatus",
       {{"name", "string"}, {"status", "string"}, {"error", "string"}}},
      {"Errors", {{"errors", "[#Error]"}}},
      {"Error", {{"code", "string"}, {"message", "string"}}},
  };
  return schemas;
}

const char* kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "other";
  }
}

void check_value(const std::string& type, const json& v,
                 const std::string& path, std::vector<std::string>& out);

void check_object(const std::string& name, const json& v,
                  const std::string& path, std::vector<std::string>& out) {
  auto found = table().find(name);
  if (found == table().end()) {
    out.push_back(path + ": the table has no schema " + name);
    return;
  }
  if (!v.is_object()) {
    out.push_back(path + ": expected object " + name + ", got " + kind_of(v));
    return;
  }
  for (const auto& [key, value] : v.items()) {
    const field_spec* spec = nullptr;
    for (const auto& f : found->second)
      if (key == f.name)
        spec = &f;
    if (spec == nullptr) {
      out.push_back(path + "." + key + ": not a field of " + name);
      continue;
    }
    check_value(spec->type, value, path + "." + key, out);
  }
}

void check_value(const std::string& type, const json& v,
                 const std::string& path, std::vector<std::string>& out) {
  std::string t = type;
  if (!t.empty() && t.back() == '?') {
    t.pop_back();
    if (v.is_null())
      return;
  }
  if (v.is_null()) {
    out.push_back(path + ": null, where the schema has " + t
                  + " (not x-nullable)");
    return;
  }
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    if (!v.is_array()) {
      out.push_back(path + ": expected array, got " + kind_of(v));
      return;
    }
    auto inner = t.substr(1, t.size() - 2);
    for (size_t i = 0; i < v.size(); ++i)
      check_value(inner, v[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}') {
    if (!v.is_object()) {
      out.push_back(path + ": expected object, got " + kind_of(v));
      return;
    }
    auto inner = t.substr(1, t.size() - 2);
    if (!inner.empty())
      for (const auto& [key, value] : v.items())
        check_value(inner, value, path + "." + key, out);
    return;
  }
  if (t.front() == '#')
    return check_object(t.substr(1), v, path, out);
  if (t == "string" || t == "string:date-time") {
    if (!v.is_string()) {
      out.push_back(path + ": expected " + t + ", got " + kind_of(v) + " "
                    + v.dump());
      return;
    }
    if (t == "string:date-time" && !is_rfc3339(v.get<std::string>()))
      out.push_back(path + ": not an RFC 3339 date-time: " + v.dump());
    return;
  }
  if (t == "boolean") {
    if (!v.is_boolean())
      out.push_back(path + ": expected boolean, got " + kind_of(v) + " "
                    + v.dump());
    return;
  }
  if (t == "integer" || t == "integer:int64" || t == "integer:int32") {
    if (!v.is_number_integer()) {
      out.push_back(path + ": expected " + t + ", got " + kind_of(v) + " "
                    + v.dump());
      return;
    }
    if (v.is_number_unsigned()
        && v.get<uint64_t>()
               > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.push_back(path + ": outside int64: " + v.dump());
      return;
    }
    if (t == "integer:int32") {
      auto n = v.get<int64_t>();
      if (n < std::numeric_limits<int32_t>::min()
          || n > std::numeric_limits<int32_t>::max())
        out.push_back(path + ": outside int32: " + v.dump());
    }
    return;
  }
  out.push_back(path + ": the table has an unknown type " + type);
}

bool digits(const std::string& s, size_t at, size_t n, int& value) {
  if (at + n > s.size())
    return false;
  value = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

} // namespace

const std::vector<field_spec>& schema(const std::string& name) {
  static const std::vector<field_spec> none;
  auto found = table().find(name);
  return found == table().end() ? none : found->second;
}

bool is_rfc3339(const std::string& s) {
  // full-date "T" partial-time time-offset (RFC 3339 §5.6).
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-'
      || !digits(s, 5, 2, month) || s[7] != '-' || !digits(s, 8, 2, day)
      || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour)
      || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':'
      || !digits(s, 17, 2, second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour > 23 || minute > 59 || second > 60)
    return false;
  size_t at = 19;
  if (s[at] == '.') {
    size_t start = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9')
      ++at;
    if (at == start)
      return false;
  }
  if (at >= s.size())
    return false;
  if (s[at] == 'Z' || s[at] == 'z')
    return at + 1 == s.size();
  if (s[at] != '+' && s[at] != '-')
    return false;
  int off_hour, off_minute;
  return s.size() == at + 6 && digits(s, at + 1, 2, off_hour)
         && s[at + 3] == ':' && digits(s, at + 4, 2, off_minute)
         && off_hour <= 23 && off_minute <= 59;
}

std::vector<std::string> check_against(const std::string& name,
                                       const json& value) {
  std::vector<std::string> out;
  check_object(name, value, name, out);
  return out;
}

std::vector<std::string> missing(const std::string& name, const json& value,
                                 const std::vector<std::string>& required) {
  std::vector<std::string> out;
  const auto& fields = schema(name);
  for (const auto& r : required) {
    bool defined = false;
    for (const auto& f : fields)
      defined = defined || r == f.name;
    if (!defined)
      out.push_back(name + "." + r + ": required, but no field of " + name);
  }
  if (!value.is_object()) {
    out.push_back(name + ": not an object: " + value.dump());
    return out;
  }
  for (const auto& r : required)
    if (!value.contains(r))
      out.push_back(name + "." + r + ": missing");
  return out;
}

std::string describe(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& p : problems)
    text += p + "\n";
  return text;
}

const std::vector<std::string> project_required{"project_id",
                                                "name",
                                                "owner_id",
                                                "owner_name",
                                                "creation_time",
                                                "update_time",
                                                "deleted",
                                                "repo_count",
                                                "registry_id",
                                                "togglable",
                                                "metadata",
                                                "cve_allowlist",
                                                "current_user_role_id",
                                                "current_user_role_ids"};
const std::vector<std::string> repository_required{"id",
                                                   "project_id",
                                                   "name",
                                                   "description",
                                                   "artifact_count",
                                                   "pull_count",
                                                   "creation_time",
                                                   "update_time"};
const std::vector<std::string> artifact_required{"id",
                                                 "type",
                                                 "media_type",
                                                 "manifest_media_type",
                                                 "artifact_type",
                                                 "project_id",
                                                 "repository_id",
                                                 "repository_name",
                                                 "digest",
                                                 "size",
                                                 "push_time",
                                                 "pull_time",
                                                 "references",
                                                 "extra_attrs",
                                                 "annotations",
                                                 "labels",
                                                 "tags",
                                                 "addition_links"};
const std::vector<std::string> tag_required{
    "id",        "repository_id", "artifact_id", "name",
    "push_time", "pull_time",     "immutable"};
const std::vector<std::string> audit_log_required{
    "id", "username", "resource", "resource_type", "operation", "op_time"};

} // namespace regevent::test::harbor
