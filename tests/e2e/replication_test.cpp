// Replication end to end: a real source `docker-registry` notifies the real
// regeventd, which copies each selected push to a real destination
// registry over the Registry API v2; everything is set up and read back
// through the management API, and checked with skopeo on the destination.

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/replication_helper.hpp"
#include "tests/fixtures/metrics.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class replication : public replication_test_base {};

TEST_F(replication, a_push_is_copied_with_its_digest_and_filters_select) {
  start("", /*notifying=*/true);
  auto registry = create_registry();
  auto policy = create_policy(
      registry, json::array({{{"type", "name"}, {"value", "library/**"}},
                             {{"type", "tag"}, {"value", "v*"}}}));
  auto digest = push("library/hello", "v1", "hello v1");
  // Not selected: another namespace, and a tag the filter does not take.
  push("other/app", "v1", "other v1");
  push("library/hello", "dev", "hello dev");
  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u) << x.dump();
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  EXPECT_EQ(x[0]["trigger"], "event_based");
  EXPECT_EQ(x[0]["total"], 1);
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["src_resource"], "library/hello:v1");
  EXPECT_EQ(t[0]["dst_resource"], "mirror/hello:v1");
  EXPECT_GT(t[0]["bytes_copied"].get<int64_t>(), 0);
  // Byte for byte: the same manifest, so the same digest.
  auto copied = on_destination("mirror/hello", "v1");
  ASSERT_FALSE(copied.empty());
  EXPECT_EQ(copied, on_source("library/hello", "v1"));
  EXPECT_EQ(sha256_digest(copied), digest);
  EXPECT_TRUE(on_destination("mirror/app", "v1").empty());
  EXPECT_TRUE(on_destination("mirror/hello", "dev").empty());
  // The destination notifies this daemon too: the copy's push is recorded
  // there, and starts no second replication.
  poll_until([&] {
    auto r = get("/api/v2.0/projects/mirror/repositories/hello");
    return r.is_object();
  });
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(executions(policy).size(), 1u);
  // The copy's own pulls of the source are not counted: the registry
  // notifies in order, so that once the test's one pull (the skopeo
  // inspect above) is counted, the copy's earlier ones would have been.
  auto pulls = [&] {
    auto repo = get("/api/v2.0/projects/library/repositories/hello");
    return repo.is_object() ? repo["pull_count"].get<int64_t>() : -1;
  };
  EXPECT_TRUE(poll_until([&] { return pulls() >= 1; }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(pulls(), 1);
}

TEST_F(replication, wrong_credentials_fail_and_a_fixed_registry_reruns) {
  start(htpasswd_section(destination_dir_, user, password));
  auto registry = create_registry("wrong-password");
  auto policy = create_policy(registry, json::array());
  push("library/hello", "v1", "hello creds");
  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0]["status"], "Failed") << x.dump();
  auto id = x[0]["id"].get<int64_t>();
  auto t = tasks(id);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["status"], "Failed");
  // A refused credential is not retried: one attempt, a clear error.
  EXPECT_EQ(t[0]["attempts"], 1);
  EXPECT_NE(t[0]["error"].get<std::string>().find("401"), std::string::npos)
      << t[0].dump();
  // The operator fixes the credential and runs the execution again.
  json fix = {{"name", "dest"},
              {"type", "docker-registry"},
              {"url", destination_->url()},
              {"credential",
               {{"type", "basic"},
                {"access_key", user},
                {"access_secret", password}}}};
  ASSERT_EQ(call("PUT", "/api/v2.0/registries/" + std::to_string(registry),
                 fix)
                .status,
            200u);
  auto rerun = call("POST", "/api/v2.0/replication/executions/"
                                + std::to_string(id) + "/retry");
  ASSERT_EQ(rerun.status, 200u) << rerun.body;
  EXPECT_TRUE(poll_until([&] {
    auto e = get("/api/v2.0/replication/executions/" + std::to_string(id));
    return e.is_object() && e["status"] == "Succeed";
  }));
  EXPECT_EQ(tasks(id)[0]["attempts"], 2);
  // A succeeded execution does not run again.
  EXPECT_EQ(call("POST", "/api/v2.0/replication/executions/"
                             + std::to_string(id) + "/retry")
                .status,
            409u);
}

TEST_F(replication, a_destination_that_is_down_is_retried_until_it_is_back) {
  start();
  auto registry = create_registry();
  auto policy = create_policy(registry, json::array());
  destination_->stop();
  push("library/hello", "v1", "hello down");
  // The task waits for a retry with the transport's error.
  ASSERT_TRUE(poll_until([&] {
    auto x = executions(policy);
    if (x.size() != 1)
      return false;
    auto t = tasks(x[0]["id"].get<int64_t>());
    return t.size() == 1 && t[0]["attempts"].get<int64_t>() >= 1
           && !t[0]["error"].get<std::string>().empty();
  }));
  EXPECT_EQ(executions(policy)[0]["status"], "InProgress");
  // Back (on a new port, which the registry record follows).
  ASSERT_TRUE(destination_->start()) << tail(destination_->log());
  json moved = {{"name", "dest"},
                {"type", "docker-registry"},
                {"url", destination_->url()}};
  ASSERT_EQ(call("PUT", "/api/v2.0/registries/" + std::to_string(registry),
                 moved)
                .status,
            200u);
  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  EXPECT_FALSE(on_destination("mirror/hello", "v1").empty());
}

TEST_F(replication, override_off_leaves_a_different_tag_and_deletes_replicate) {
  start();
  auto registry = create_registry();
  auto keep = create_policy(registry, json::array(
                                          {{{"type", "name"},
                                            {"value", "library/keep"}}}),
                            /*override=*/false);
  auto mirror = create_policy(registry, json::array(
                                            {{{"type", "name"},
                                              {"value", "library/gone"}}}),
                              true, /*deletion=*/true);
  push("library/keep", "v1", "keep one");
  ASSERT_EQ(finished(keep, 1)[0]["status"], "Succeed");
  auto first = on_destination("mirror/keep", "v1");
  ASSERT_FALSE(first.empty());
  // The same tag, another image: left alone, and the task says why.
  push("library/keep", "v1", "keep two");
  auto x = finished(keep, 2);
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0]["status"], "Succeed");
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_NE(t[0]["skipped"].get<std::string>().find("override is off"),
            std::string::npos)
      << t[0].dump();
  EXPECT_EQ(on_destination("mirror/keep", "v1"), first);
  // A delete on the source is replicated by the policy that asks for it.
  push("library/gone", "v1", "gone soon");
  ASSERT_EQ(finished(mirror, 1)[0]["status"], "Succeed");
  ASSERT_FALSE(on_destination("mirror/gone", "v1").empty());
  ASSERT_TRUE(skopeo_.remove(source_->ref("library/gone", "v1")).ok());
  // Distribution notifies a manifest delete twice (by digest, and by tag):
  // the first deletes, the second finds nothing left and says so.
  auto deleted = finished(mirror, 3);
  ASSERT_EQ(deleted.size(), 3u) << deleted.dump();
  int skipped = 0;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(deleted[i]["status"], "Succeed") << deleted.dump();
    auto d = tasks(deleted[i]["id"].get<int64_t>());
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0]["operation"], "deletion");
    skipped += d[0]["skipped"].get<std::string>().empty() ? 0 : 1;
  }
  EXPECT_EQ(skipped, 1);
  EXPECT_TRUE(on_destination("mirror/gone", "v1").empty());
}

TEST_F(replication, a_docker_image_its_retag_and_an_override_replicate) {
  start();
  auto registry = create_registry();
  auto policy = create_policy(registry, json::array());
  // A Docker v2 schema 2 image: copied as pushed, media type and digest.
  auto img = write_oci_image(dir_.file("docker-img"), "v1", "docker v1");
  std::string digest;
  auto pushed = skopeo_.push(img, source_->ref("library/app", "v1"),
                             /*docker_v2s2=*/true, &digest);
  ASSERT_TRUE(pushed.ok()) << pushed.output;
  ASSERT_EQ(finished(policy, 1)[0]["status"], "Succeed");
  auto v1 = on_destination("mirror/app", "v1");
  ASSERT_FALSE(v1.empty());
  EXPECT_EQ(sha256_digest(v1), digest);
  EXPECT_EQ(json::parse(v1)["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");
  // A retag on the source (a manifest PUT under a new tag, blobs already
  // there) is a push of its own: the new tag lands, same digest, and no
  // blob is uploaded again.
  auto uploads = [&] {
    return count_requests(destination_->log(), "POST", "/blobs/uploads/");
  };
  auto uploads_before = uploads();
  auto retag = skopeo_.copy(source_->ref("library/app", "v1"),
                            source_->ref("library/app", "stable"));
  ASSERT_TRUE(retag.ok()) << retag.output;
  auto x = finished(policy, 2);
  ASSERT_EQ(x[0]["status"], "Succeed") << x.dump();
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["src_resource"], "library/app:stable");
  EXPECT_EQ(uploads(), uploads_before);
  EXPECT_EQ(sha256_digest(on_destination("mirror/app", "stable")), digest);
  // Override on: another image under the same tag replaces it there.
  auto v2 = push("library/app", "v1", "docker v1, rebuilt");
  ASSERT_EQ(finished(policy, 3)[0]["status"], "Succeed");
  EXPECT_EQ(sha256_digest(on_destination("mirror/app", "v1")), v2);
  EXPECT_EQ(sha256_digest(on_destination("mirror/app", "stable")), digest);
}

TEST_F(replication, a_manual_run_copies_every_selected_tag) {
  start();
  push("library/a", "v1", "manual a1");
  push("library/a", "v2", "manual a2");
  push("library/b", "v1", "manual b1");
  push("other/c", "v1", "manual c1");
  auto registry = create_registry();
  auto policy = create_policy(
      registry, json::array({{{"type", "name"}, {"value", "library/*"}}}),
      true, false, 0, "manual");
  auto started = call("POST", "/api/v2.0/replication/executions",
                      json{{"policy_id", policy}});
  ASSERT_EQ(started.status, 201u) << started.body;
  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  EXPECT_EQ(x[0]["trigger"], "manual");
  EXPECT_EQ(x[0]["total"], 3);
  EXPECT_FALSE(on_destination("mirror/a", "v2").empty());
  EXPECT_FALSE(on_destination("mirror/b", "v1").empty());
  EXPECT_TRUE(on_destination("mirror/c", "v1").empty());
  // An unknown policy is a 404.
  EXPECT_EQ(call("POST", "/api/v2.0/replication/executions",
                 json{{"policy_id", 9999}})
                .status,
            404u);
}

TEST_F(replication, one_push_fans_out_to_two_destinations_by_their_policies) {
  start();
  // A third registry: a second destination with a policy of its own.
  temp_dir backup_dir;
  registry_process backup(backup_dir, "", "");
  ASSERT_TRUE(backup.start()) << tail(backup.log());
  auto mirror = create_registry();
  auto backup_registry
      = create_registry("", {{"name", "backup"}, {"url", backup.url()}});
  auto to_mirror = create_policy(
      mirror, json::array({{{"type", "name"}, {"value", "team/**"}}}));
  // Harbor's prefix rename (replace count 0): team/api -> dr/team/api.
  json prefix = {{"name", "to-backup"},
                 {"dest_registry", {{"id", backup_registry}}},
                 {"dest_namespace", "dr"},
                 {"dest_namespace_replace_count", 0},
                 {"filters", json::array({{{"type", "tag"}, {"value", "v*"}}})},
                 {"trigger", {{"type", "event_based"}}},
                 {"override", true},
                 {"enabled", true}};
  auto r = call("POST", "/api/v2.0/replication/policies", prefix);
  ASSERT_EQ(r.status, 201u) << r.body;
  auto to_backup = json::parse(r.body)["id"].get<int64_t>();
  // Same destination, but its tag filter takes nothing pushed here.
  auto unused = create_policy(
      backup_registry, json::array({{{"type", "tag"}, {"value", "release-*"}}}));

  auto digest = push("team/api", "v1", "fan out");
  auto a = finished(to_mirror, 1);
  auto b = finished(to_backup, 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0]["status"], "Succeed") << a.dump();
  EXPECT_EQ(b[0]["status"], "Succeed") << b.dump();
  // One execution each, not one shared.
  EXPECT_NE(a[0]["id"], b[0]["id"]);
  EXPECT_EQ(tasks(b[0]["id"].get<int64_t>())[0]["dst_resource"],
            "dr/team/api:v1");
  auto on_mirror = on_destination("mirror/api", "v1");
  auto on_backup = skopeo_.inspect_raw(backup.ref("dr/team/api", "v1"));
  ASSERT_TRUE(on_backup.ok()) << on_backup.output;
  EXPECT_EQ(sha256_digest(on_mirror), digest);
  EXPECT_EQ(sha256_digest(on_backup.output), digest);
  // Each destination has only its own policy's name.
  EXPECT_TRUE(on_destination("dr/team/api", "v1").empty());
  EXPECT_FALSE(skopeo_.inspect_raw(backup.ref("mirror/api", "v1")).ok());
  // The event is settled, so a policy that took it would have its
  // execution by now.
  ASSERT_TRUE(settled());
  EXPECT_EQ(executions(unused).size(), 0u);
}

TEST_F(replication, a_stopped_execution_cancels_its_copy_and_lands_nothing) {
  start();
  auto registry = create_registry();
  // 1 MiB/s over a 12 MiB layer: the copy is still running when stopped.
  auto policy = create_policy(registry, json::array(), true, false, 1024);
  push("library/big", "v1", noise(12 << 20, 9));
  int64_t id = 0;
  ASSERT_TRUE(poll_until([&] {
    auto x = executions(policy);
    if (x.size() != 1)
      return false;
    id = x[0]["id"].get<int64_t>();
    auto t = tasks(id);
    return t.size() == 1 && t[0]["status"] == "InProgress";
  }));
  auto path = "/api/v2.0/replication/executions/" + std::to_string(id);
  auto stopped = call("PUT", path);
  ASSERT_EQ(stopped.status, 200u) << stopped.body;
  auto x = json::parse(stopped.body);
  EXPECT_EQ(x["status"], "Stopped");
  EXPECT_EQ(x["stopped"], 1);
  // The worker learns it at its next renewal and cancels the copy, long
  // before the 12 s the copy would take.
  auto cancelled = [&] {
    auto m = call("GET", "/metrics");
    return metric_value(m.body, "regevent_replication_attempts_total",
                        {{"outcome", "cancelled"}});
  };
  ASSERT_TRUE(poll_until([&] { return cancelled() == 1.0; }))
      << tail(daemon_->log());
  auto t = tasks(id);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["status"], "Stopped");
  EXPECT_EQ(t[0]["attempts"], 0);
  EXPECT_TRUE(on_destination("mirror/big", "v1").empty());
  EXPECT_EQ(get(path)["status"], "Stopped");
  // A second stop answers the ended execution as it is; an unknown one is
  // not found, and a verb the execution does not take is named.
  auto again = call("PUT", path);
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(json::parse(again.body)["end_time"], x["end_time"]);
  EXPECT_EQ(call("PUT", "/api/v2.0/replication/executions/9999").status,
            404u);
  auto wrong = call("DELETE", path);
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_NE(wrong.body.find("GET, PUT"), std::string::npos) << wrong.body;
}

TEST_F(replication, a_sigkill_mid_copy_resumes_after_the_restart_once) {
  start();
  auto registry = create_registry();
  // 1 MiB/s over a 12 MiB layer: the copy takes seconds, long enough to be
  // killed in the middle of.
  auto policy = create_policy(registry, json::array(), true, false, 1024);
  auto digest = push("library/big", "v1", noise(12 << 20, 7));
  ASSERT_TRUE(poll_until([&] {
    auto x = executions(policy);
    if (x.size() != 1)
      return false;
    auto t = tasks(x[0]["id"].get<int64_t>());
    return t.size() == 1 && t[0]["status"] == "InProgress";
  }));
  std::this_thread::sleep_for(2s);
  daemon_->kill_hard();
  ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  auto x = finished(policy, 1, 120s);
  ASSERT_EQ(x.size(), 1u) << x.dump();
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  auto copied = on_destination("mirror/big", "v1");
  ASSERT_FALSE(copied.empty());
  EXPECT_EQ(sha256_digest(copied), digest);
}

} // namespace
} // namespace regevent::test
