#include "actors/filter.hpp"

#include <algorithm>
#include <array>

namespace regevent {

bool is_manifest_media_type(std::string_view media_type) {
  static constexpr std::array<std::string_view, 6> manifests{
      "application/vnd.docker.distribution.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
  };
  // Parameters such as `; charset=utf-8` do not change the type.
  auto semicolon = media_type.find(';');
  if (semicolon != std::string_view::npos)
    media_type = media_type.substr(0, semicolon);
  while (!media_type.empty() && media_type.back() == ' ')
    media_type.remove_suffix(1);
  return std::find(manifests.begin(), manifests.end(), media_type)
         != manifests.end();
}

std::string project_of(const std::string& repository,
                       const std::string& default_project) {
  auto slash = repository.find('/');
  if (slash == std::string::npos)
    return default_project;
  return repository.substr(0, slash);
}

namespace {

bool is_internal(const std::string& user_agent,
                 const std::vector<std::string>& internal) {
  // Clients append versions and platform details: match by prefix.
  return std::any_of(
      internal.begin(), internal.end(), [&](const std::string& prefix) {
        return !prefix.empty()
               && user_agent.compare(0, prefix.size(), prefix) == 0;
      });
}

classification drop(std::string reason) {
  classification c;
  c.reason = std::move(reason);
  return c;
}

} // namespace

classification classify(const event_record& event,
                        const config::filter_section& filter) {
  const auto& action = event.action;
  if (action != "push" && action != "pull" && action != "delete")
    return drop("action " + action + " is not tracked");
  if (action != "delete" && !is_manifest_media_type(event.media_type))
    return drop("not a manifest: "
                + (event.media_type.empty() ? std::string("no media type")
                                            : event.media_type));
  if (action == "delete" && event.digest.empty() && event.tag.empty())
    return drop("delete without digest or tag");
  if (action != "delete" && event.digest.empty())
    return drop("manifest event without digest");
  classification c;
  c.keep = true;
  c.plan.event = event;
  c.plan.project = project_of(event.repository, filter.default_project);
  // A push or delete made by an internal client (regevent's own
  // replication into a registry that also notifies regevent) is recorded
  // but never replicated again: no loops between registries.
  bool internal = is_internal(event.user_agent, filter.internal_user_agents);
  if (action == "push") {
    // Pushes are always kept, whoever pushed. Each is scanned when its
    // project asks for it (the scanning store decides).
    c.effects = {effect_kind::access_log, effect_kind::repositories,
                 effect_kind::artifacts, effect_kind::webhooks,
                 effect_kind::scanning};
    if (!internal)
      c.effects.push_back(effect_kind::replication);
    return c;
  }
  if (action == "delete") {
    // The repository is made visible by any event of it: a registry that
    // held images before regevent ran is only ever pulled from or deleted
    // from.
    c.effects = {effect_kind::access_log, effect_kind::repositories,
                 effect_kind::artifacts, effect_kind::webhooks};
    if (!internal)
      c.effects.push_back(effect_kind::replication);
    return c;
  }
  if (internal)
    return drop("pull by internal user agent " + event.user_agent);
  // A scanner pulling with an account of its own: its pulls are reads by
  // regevent's machinery, not by anyone who uses the image.
  if (!event.actor.empty()
      && std::find(filter.internal_accounts.begin(),
                   filter.internal_accounts.end(), event.actor)
             != filter.internal_accounts.end())
    return drop("pull by internal account " + event.actor);
  bool head = event.method == "HEAD";
  if (head && filter.head_requests == head_policy::ignore)
    return drop("HEAD pull ignored by head_requests: ignore");
  c.plan.count_pull = !head || filter.head_requests == head_policy::count;
  c.effects = {effect_kind::access_log, effect_kind::repositories,
               effect_kind::artifacts};
  // A HEAD that does not count as a pull checks for an image; it is
  // neither counted nor published as PULL_ARTIFACT.
  if (c.plan.count_pull) {
    c.effects.push_back(effect_kind::pull_counter);
    c.effects.push_back(effect_kind::webhooks);
  }
  return c;
}

} // namespace regevent
