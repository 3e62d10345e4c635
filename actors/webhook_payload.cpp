#include "actors/webhook_payload.hpp"

#include "persistence/base64.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace regevent {

namespace {

using json = nlohmann::json;

/// Harbor's CloudEvents type for each of `webhook_event_types`.
constexpr std::array<std::pair<const char*, const char*>, 6> cloudevents_types{{
    {"PUSH_ARTIFACT", "harbor.artifact.pushed"},
    {"PULL_ARTIFACT", "harbor.artifact.pulled"},
    {"DELETE_ARTIFACT", "harbor.artifact.deleted"},
    {"SCANNING_COMPLETED", "harbor.scan.completed"},
    {"SCANNING_FAILED", "harbor.scan.failed"},
    {"REPLICATION", "harbor.replication.status.changed"},
}};

/// Whole seconds, rounded down as format_rfc3339 does.
long long unix_seconds(timestamp_us t) {
  auto s = t / 1'000'000;
  return t < 0 && t % 1'000'000 != 0 ? s - 1 : s;
}

std::string resource_url(const webhook_notice& n) {
  std::string url;
  if (!n.registry_address.empty())
    url = n.registry_address + "/";
  url += n.repository;
  if (!n.tag.empty())
    return url + ":" + n.tag;
  return url + "@" + n.digest;
}

/// The repository's name inside its project: Harbor drops the project, so
/// `library/team/app` is `team/app`.
std::string name_in_project(const std::string& repository) {
  auto slash = repository.find('/');
  return slash == std::string::npos ? repository : repository.substr(slash + 1);
}

/// Harbor's `event_data.replication` (notifier/model's Replication): the
/// execution's outcome, where it copied from and to, and each artifact.
json replication_data(const webhook_notice& n) {
  const auto& r = *n.replication;
  auto artifacts = [](const auto& list, const char* status) {
    json out = json::array();
    for (const auto& item : list) {
      json a = {{"type", "image"}, {"status", status}};
      if constexpr (std::is_same_v<std::decay_t<decltype(item)>,
                                   std::string>) {
        a["name_tag"] = item;
      } else {
        a["name_tag"] = item.first;
        if (!item.second.empty())
          a["fail_reason"] = item.second;
      }
      out.push_back(std::move(a));
    }
    return out;
  };
  json src = {{"registry_type", "docker-registry"},
              {"endpoint", n.registry_address},
              {"namespace", r.src_namespace}};
  json dest = {{"registry_name", r.dest_registry_name},
               {"registry_type", r.dest_registry_type},
               {"endpoint", r.dest_endpoint},
               {"namespace", r.dest_namespace}};
  json x = {{"job_status", r.job_status},
            {"artifact_type", "image"},
            {"override_mode", r.override_mode},
            {"trigger_type", r.trigger_type},
            {"execution_timestamp", unix_seconds(r.execution_time)},
            {"src_resource", std::move(src)},
            {"dest_resource", std::move(dest)}};
  if (!r.succeeded.empty())
    x["successful_artifact"] = artifacts(r.succeeded, "Success");
  if (!r.failed.empty())
    x["failed_artifact"] = artifacts(r.failed, "Error");
  return {{"replication", std::move(x)}};
}

/// `event_data`, shared by both formats. Empty members are left out as
/// Harbor's `omitempty` does (`tag`, `date_created`).
json event_data(const webhook_notice& n) {
  if (n.replication)
    return replication_data(n);
  json resource = {{"digest", n.digest}, {"resource_url", resource_url(n)}};
  if (!n.tag.empty())
    resource["tag"] = n.tag;
  // Harbor's scan events carry the artifact's overview in the resource.
  if (!n.scan_overview.empty())
    resource["scan_overview"] = json::parse(n.scan_overview, nullptr, false);
  json repository = {{"name", name_in_project(n.repository)},
                     {"namespace", n.project},
                     {"repo_full_name", n.repository},
                     {"repo_type", n.project_public ? "public" : "private"}};
  if (n.repository_created != 0)
    repository["date_created"] = unix_seconds(n.repository_created);
  return {{"resources", json::array({std::move(resource)})},
          {"repository", std::move(repository)}};
}

const char* cloudevents_type(const std::string& event_type) {
  for (const auto& [harbor, cloudevents] : cloudevents_types)
    if (event_type == harbor)
      return cloudevents;
  throw std::invalid_argument("no CloudEvents type for event type "
                              + event_type);
}

/// Invalid UTF-8 (from a registry's event) becomes U+FFFD instead of
/// throwing.
std::string dump(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string render_default_payload(const webhook_notice& n) {
  return dump({{"type", n.event_type},
               {"occur_at", unix_seconds(n.occur_at)},
               {"operator", n.operator_name},
               {"event_data", event_data(n)}});
}

std::string render_cloudevents_payload(const webhook_notice& n,
                                       const std::string& webhook_id) {
  auto source = "/projects/" + std::to_string(n.project_id)
                + "/webhook/policies/" + std::to_string(n.policy_id);
  return dump({{"specversion", "1.0"},
               {"id", webhook_id},
               {"source", std::move(source)},
               {"type", cloudevents_type(n.event_type)},
               {"time", format_rfc3339(n.occur_at)},
               {"datacontenttype", "application/json"},
               {"operator", n.operator_name},
               {"data", event_data(n)}});
}

const char* payload_content_type(const std::string& format) {
  return format == "CloudEvents" ? "application/cloudevents+json"
                                 : "application/json";
}

std::string standard_webhooks_signature(std::string_view secret,
                                        std::string_view webhook_id,
                                        long long unix_seconds,
                                        std::string_view body) {
  constexpr std::string_view prefix = "whsec_";
  std::optional<std::string> key;
  if (secret.substr(0, prefix.size()) == prefix)
    key = from_base64(secret.substr(prefix.size()));
  if (!key)
    throw std::invalid_argument("a webhook secret must be whsec_ + base64");
  std::string message;
  message.reserve(webhook_id.size() + body.size() + 24);
  message.append(webhook_id)
      .append(".")
      .append(std::to_string(unix_seconds))
      .append(".")
      .append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), mac.data(), &mac_size)
      == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return "v1,"
         + to_base64({reinterpret_cast<const char*>(mac.data()), mac_size});
}

} // namespace regevent
