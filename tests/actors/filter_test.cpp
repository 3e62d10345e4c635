#include "actors/filter.hpp"

#include "http/envelope.hpp"
#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regevent {
namespace {

using effects_list = std::vector<std::string>;

const effects_list push_effects{"access_log", "repositories", "artifacts",
                                "webhooks",   "scanning",     "replication"};
// Every kept event makes its repository visible (the repositories effect),
// a pull or delete of an image pushed before regevent ran too.
const effects_list delete_effects{"access_log", "repositories", "artifacts",
                                  "webhooks", "replication"};
// An internal client's push or delete is recorded, never replicated again.
const effects_list internal_push_effects{"access_log", "repositories",
                                         "artifacts", "webhooks", "scanning"};
const effects_list internal_delete_effects{"access_log", "repositories",
                                           "artifacts", "webhooks"};
const effects_list counted_pull_effects{"access_log", "repositories",
                                        "artifacts", "pull_counter",
                                        "webhooks"};
const effects_list touch_pull_effects{"access_log", "repositories",
                                      "artifacts"};

config::filter_section default_filter() {
  return default_config().filter;
}

/// The one event of a captured registry body.
event_record fixture(const std::string& name) {
  std::string error;
  auto env = parse_envelope(test::registry_fixture(name), 1, error);
  EXPECT_TRUE(env.has_value()) << name << ": " << error;
  EXPECT_EQ(env ? env->events.size() : 0u, 1u) << name;
  return env && !env->events.empty() ? env->events.front() : event_record{};
}

event_record manifest_event(const std::string& action,
                            const std::string& media_type
                            = "application/vnd.oci.image.manifest.v1+json") {
  event_record e;
  e.id = "e-1";
  e.action = action;
  e.repository = "library/hello";
  e.tag = "1.0";
  e.digest = "sha256:aaaa";
  e.media_type = media_type;
  e.method = action == "push" ? "PUT" : action == "pull" ? "GET" : "DELETE";
  e.user_agent = "containerd/1.7.0";
  e.time = 42;
  return e;
}

effects_list names(const classification& c) {
  effects_list out;
  for (auto e : c.effects)
    out.emplace_back(to_string(e));
  return out;
}

// --- media types -----------------------------------------------------------

TEST(filter, every_manifest_media_type_is_kept) {
  for (const char* type :
       {"application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json"}) {
    EXPECT_TRUE(is_manifest_media_type(type)) << type;
    for (const char* action : {"push", "pull"}) {
      auto c = classify(manifest_event(action, type), default_filter());
      EXPECT_TRUE(c.keep) << action << " " << type << ": " << c.reason;
      EXPECT_TRUE(c.reason.empty()) << c.reason;
    }
  }
}

TEST(filter, media_type_parameters_are_ignored) {
  EXPECT_TRUE(is_manifest_media_type(
      "application/vnd.oci.image.manifest.v1+json; charset=utf-8"));
  EXPECT_TRUE(is_manifest_media_type(
      "application/vnd.docker.distribution.manifest.v2+json ;x=y"));
}

TEST(filter, non_manifest_media_types_are_not_manifests) {
  for (const char* type :
       {"", "application/octet-stream",
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/json",
        "application/vnd.oci.image.manifest.v1+jsonx",
        "xapplication/vnd.oci.image.manifest.v1+json"})
    EXPECT_FALSE(is_manifest_media_type(type)) << type;
}

TEST(filter, captured_blob_events_are_dropped_with_a_reason) {
  for (const char* name :
       {"01-push-blob-layer.json", "02-push-blob-config.json",
        "05-pull-blob.json", "15-pull-event-from-HEAD-blob.json",
        "17-pull-event-from-HEAD-during-push.json",
        "33-push-blob-retried-on-500.json",
        "retry-duplicate-same-event-id.json"}) {
    auto c = classify(fixture(name), default_filter());
    EXPECT_FALSE(c.keep) << name;
    EXPECT_NE(c.reason.find("not a manifest"), std::string::npos)
        << name << ": " << c.reason;
    EXPECT_NE(c.reason.find("application/octet-stream"), std::string::npos)
        << c.reason;
    EXPECT_TRUE(c.effects.empty()) << name;
  }
}

TEST(filter, manifest_event_without_media_type_is_dropped) {
  auto c = classify(manifest_event("pull", ""), default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("no media type"), std::string::npos) << c.reason;
}

TEST(filter, manifest_event_without_digest_is_dropped) {
  auto e = manifest_event("push");
  e.digest.clear();
  auto c = classify(e, default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("without digest"), std::string::npos) << c.reason;
}

TEST(filter, mount_is_dropped) {
  auto c = classify(fixture("25-mount-cross-repo.json"), default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("mount"), std::string::npos) << c.reason;
  // Even a mount of a manifest type is not tracked.
  auto m = classify(manifest_event("mount"), default_filter());
  EXPECT_FALSE(m.keep);
}

TEST(filter, unknown_action_is_dropped) {
  auto c = classify(manifest_event("rename"), default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("rename"), std::string::npos) << c.reason;
}

// --- pushes ----------------------------------------------------------------

TEST(filter, captured_manifest_pushes_are_kept_with_push_effects) {
  for (const char* name :
       {"03-push-manifest-oci-tag.json", "22-push-manifest-docker-v2s2.json"}) {
    auto e = fixture(name);
    auto c = classify(e, default_filter());
    ASSERT_TRUE(c.keep) << name << ": " << c.reason;
    EXPECT_EQ(names(c), push_effects) << name;
    EXPECT_EQ(c.plan.project, "library");
    EXPECT_EQ(c.plan.event.id, e.id);
    EXPECT_EQ(c.plan.event.digest, e.digest);
    EXPECT_FALSE(c.plan.count_pull);
  }
}

TEST(filter, pushes_by_internal_user_agents_are_kept_but_not_replicated) {
  auto filter = default_filter();
  for (const auto& agent : filter.internal_user_agents) {
    auto e = manifest_event("push");
    e.user_agent = agent + "/2.0 (linux)";
    auto c = classify(e, filter);
    EXPECT_TRUE(c.keep) << agent;
    EXPECT_EQ(names(c), internal_push_effects);
  }
}

// --- pulls -----------------------------------------------------------------

TEST(filter, captured_pull_by_tag_is_counted) {
  auto c = classify(fixture("04-pull-manifest-by-tag.json"), default_filter());
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_TRUE(c.plan.count_pull);
  EXPECT_EQ(names(c), counted_pull_effects);
  EXPECT_EQ(c.plan.project, "library");
  EXPECT_EQ(c.plan.event.tag, "1.0");
}

TEST(filter, captured_pull_by_digest_is_kept_to_update_pull_time) {
  auto c = classify(fixture("10-pull-manifest-by-digest-no-tag.json"),
                    default_filter());
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_TRUE(c.plan.count_pull);
  EXPECT_EQ(names(c), counted_pull_effects);
  EXPECT_TRUE(c.plan.event.tag.empty());
}

TEST(filter, pulls_by_internal_user_agents_are_dropped_by_prefix) {
  auto filter = default_filter();
  for (const char* agent :
       {"harbor-registry-client", "harbor-registry-client/v2.1",
        "harbor-replication-service 1.10", "regevent-replicator/0.1.0",
        "regevent-scanner"}) {
    auto e = manifest_event("pull");
    e.user_agent = agent;
    auto c = classify(e, filter);
    EXPECT_FALSE(c.keep) << agent;
    EXPECT_NE(c.reason.find("internal user agent"), std::string::npos)
        << c.reason;
    EXPECT_NE(c.reason.find(agent), std::string::npos) << c.reason;
  }
}

TEST(filter, internal_match_is_a_prefix_not_a_substring) {
  auto filter = default_filter();
  for (const char* agent :
       {"containerd/1.7 harbor-registry-client", "Harbor-Registry-Client",
        "harbor-registry", "", "docker/24.0"}) {
    auto e = manifest_event("pull");
    e.user_agent = agent;
    EXPECT_TRUE(classify(e, filter).keep) << agent;
  }
}

TEST(filter, configured_internal_user_agents_replace_the_defaults) {
  auto filter = default_filter();
  filter.internal_user_agents = {"my-mirror/", ""};
  auto e = manifest_event("pull");
  e.user_agent = "my-mirror/3";
  EXPECT_FALSE(classify(e, filter).keep);
  // An empty prefix must not match every agent.
  e.user_agent = "harbor-registry-client";
  EXPECT_TRUE(classify(e, filter).keep);
  filter.internal_user_agents.clear();
  e.user_agent = "my-mirror/3";
  EXPECT_TRUE(classify(e, filter).keep);
}

TEST(filter, pulls_by_internal_accounts_are_dropped_exactly) {
  auto filter = default_filter();
  // None by default: an account is the operator's to name.
  EXPECT_TRUE(filter.internal_accounts.empty());
  filter.internal_accounts = {"scanner-robot"};
  auto e = manifest_event("pull");
  e.actor = "scanner-robot";
  auto c = classify(e, filter);
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("internal account scanner-robot"), std::string::npos)
      << c.reason;
  // Whole names only, and anonymous pulls are never internal.
  for (const char* other : {"scanner-robot2", "scanner", ""}) {
    e.actor = other;
    EXPECT_TRUE(classify(e, filter).keep) << other;
  }
  // The account's pushes are kept and scanned like anyone's.
  auto push = manifest_event("push");
  push.actor = "scanner-robot";
  EXPECT_EQ(names(classify(push, filter)), push_effects);
}

// --- HEAD ------------------------------------------------------------------

TEST(filter, head_under_touch_updates_pull_time_without_counting) {
  auto filter = default_filter();
  ASSERT_EQ(filter.head_requests, head_policy::touch);
  auto c = classify(fixture("13-pull-event-from-HEAD-manifest.json"), filter);
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_FALSE(c.plan.count_pull);
  EXPECT_EQ(names(c), touch_pull_effects);
}

TEST(filter, head_under_count_counts) {
  auto filter = default_filter();
  filter.head_requests = head_policy::count;
  auto c = classify(fixture("13-pull-event-from-HEAD-manifest.json"), filter);
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_TRUE(c.plan.count_pull);
  EXPECT_EQ(names(c), counted_pull_effects);
}

TEST(filter, head_under_ignore_is_dropped) {
  auto filter = default_filter();
  filter.head_requests = head_policy::ignore;
  auto c = classify(fixture("13-pull-event-from-HEAD-manifest.json"), filter);
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("HEAD"), std::string::npos) << c.reason;
  // A GET is still counted under `ignore`.
  auto get = classify(fixture("04-pull-manifest-by-tag.json"), filter);
  EXPECT_TRUE(get.keep);
  EXPECT_TRUE(get.plan.count_pull);
}

TEST(filter, head_policy_does_not_touch_pushes_or_deletes) {
  for (auto policy :
       {head_policy::count, head_policy::touch, head_policy::ignore}) {
    auto filter = default_filter();
    filter.head_requests = policy;
    auto push = manifest_event("push");
    push.method = "HEAD";
    EXPECT_TRUE(classify(push, filter).keep);
    EXPECT_TRUE(classify(fixture("31-delete-tag-event.json"), filter).keep);
  }
}

TEST(filter, internal_head_pull_is_dropped_under_every_policy) {
  for (auto policy : {head_policy::count, head_policy::touch}) {
    auto filter = default_filter();
    filter.head_requests = policy;
    auto e = manifest_event("pull");
    e.method = "HEAD";
    e.user_agent = "regevent-scanner/1";
    EXPECT_FALSE(classify(e, filter).keep);
  }
}

// --- deletes ---------------------------------------------------------------

TEST(filter, delete_by_digest_is_kept) {
  auto e = fixture("30-delete-manifest-by-digest.json");
  auto c = classify(e, default_filter());
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_EQ(names(c), delete_effects);
  EXPECT_EQ(c.plan.event.digest, e.digest);
  EXPECT_EQ(c.plan.project, "library");
  EXPECT_FALSE(c.plan.count_pull);
}

TEST(filter, delete_by_tag_is_kept) {
  auto c = classify(fixture("31-delete-tag-event.json"), default_filter());
  ASSERT_TRUE(c.keep) << c.reason;
  EXPECT_EQ(names(c), delete_effects);
  EXPECT_EQ(c.plan.event.tag, "1.0");
  EXPECT_TRUE(c.plan.event.digest.empty());
}

TEST(filter, delete_without_digest_or_tag_is_dropped) {
  auto e = manifest_event("delete", "");
  e.tag.clear();
  e.digest.clear();
  auto c = classify(e, default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_NE(c.reason.find("delete without digest or tag"), std::string::npos)
      << c.reason;
}

TEST(filter, deletes_by_internal_user_agents_are_kept) {
  auto e = fixture("30-delete-manifest-by-digest.json");
  e.user_agent = "harbor-registry-client";
  auto c = classify(e, default_filter());
  EXPECT_TRUE(c.keep);
  EXPECT_EQ(names(c), internal_delete_effects);
  e.user_agent = "regevent-replicator/0.1.0";
  EXPECT_EQ(names(classify(e, default_filter())), internal_delete_effects);
}

// --- projects --------------------------------------------------------------

TEST(filter, project_is_the_text_before_the_first_slash) {
  EXPECT_EQ(project_of("library/hello", "library"), "library");
  EXPECT_EQ(project_of("team/app/api", "library"), "team");
  EXPECT_EQ(project_of("hello", "library"), "library");
  EXPECT_EQ(project_of("hello", "base"), "base");
}

TEST(filter, repository_without_slash_belongs_to_the_default_project) {
  auto filter = default_filter();
  filter.default_project = "base";
  auto e = manifest_event("push");
  e.repository = "hello";
  auto c = classify(e, filter);
  ASSERT_TRUE(c.keep);
  EXPECT_EQ(c.plan.project, "base");
  EXPECT_EQ(c.plan.event.repository, "hello");
  e.repository = "team/sub/app";
  EXPECT_EQ(classify(e, filter).plan.project, "team");
}

TEST(filter, dropped_events_carry_no_plan_or_effects) {
  auto c = classify(fixture("05-pull-blob.json"), default_filter());
  EXPECT_FALSE(c.keep);
  EXPECT_TRUE(c.effects.empty());
  EXPECT_TRUE(c.plan.event.id.empty());
  EXPECT_TRUE(c.plan.project.empty());
}

TEST(filter, every_fixture_classifies_as_expected) {
  struct expectation {
    const char* name;
    bool keep;
  };
  // 16 is a GET answered 404: the registry still reports it as a pull and
  // nothing in the event tells it apart, so it is counted.
  for (const auto& [name, keep] : std::vector<expectation>{
           {"01-push-blob-layer.json", false},
           {"02-push-blob-config.json", false},
           {"03-push-manifest-oci-tag.json", true},
           {"04-pull-manifest-by-tag.json", true},
           {"05-pull-blob.json", false},
           {"10-pull-manifest-by-digest-no-tag.json", true},
           {"13-pull-event-from-HEAD-manifest.json", true},
           {"15-pull-event-from-HEAD-blob.json", false},
           {"16-pull-event-on-404-no-accept.json", true},
           {"17-pull-event-from-HEAD-during-push.json", false},
           {"22-push-manifest-docker-v2s2.json", true},
           {"25-mount-cross-repo.json", false},
           {"30-delete-manifest-by-digest.json", true},
           {"31-delete-tag-event.json", true},
           {"32-delete-blob.json", true},
           {"33-push-blob-retried-on-500.json", false},
           {"retry-duplicate-same-event-id.json", false},
       })
    EXPECT_EQ(classify(fixture(name), default_filter()).keep, keep) << name;
}

} // namespace
} // namespace regevent
