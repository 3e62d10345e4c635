// End to end against the real sender: Debian's docker-registry 2.8.2 sends
// its notifications to the real regeventd, skopeo 1.9.3 pushes, pulls,
// copies and deletes images that the test writes as OCI layouts, and every
// outcome is read back through the management API.

#include "tests/e2e/api_helper.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/poll.hpp"
#include "tests/fixtures/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* notify_secret = "e2e-notify-secret";
constexpr const char* admin_token = "e2e-admin-token";
/// How long any expected state may take to appear through the API.
constexpr auto api_deadline = 30s;

using tag_list = std::vector<std::string>;

/// The last `n` bytes of a log, for failure messages.
std::string tail(const std::string& text, size_t n = 4000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

/// An RFC 3339 time as the API prints it (fixed width, UTC), or "" for
/// Harbor's zero time (never) or null: plain string order is time order.
std::string time_of(const json& value) {
  if (!value.is_string() || value == "0001-01-01T00:00:00.000Z")
    return {};
  return value.get<std::string>();
}

class real_registry : public ::testing::Test {
protected:
  void TearDown() override {
    if (!HasFailure())
      return;
    if (daemon_)
      std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
    if (registry_)
      std::cerr << "---- docker-registry log (tail)\n"
                << tail(registry_->log());
  }

  /// The daemon under test: on port 0 the first time it starts, and on
  /// that same port after a restart, where the registry keeps sending.
  daemon_process& daemon() {
    if (!daemon_) {
      daemon_ = std::make_unique<daemon_process>(
          dir_, std::string("auth:\n  notify_token: ") + notify_secret
                    + "\n  admin_token: " + admin_token + "\n" + daemon_yaml_);
      daemon_->keep_port_across_restarts();
    }
    return *daemon_;
  }

  /// The daemon's port: known once it has started.
  uint16_t daemon_port() {
    auto port = daemon().port();
    if (port == 0)
      ADD_FAILURE() << "the daemon's port is asked for before it started";
    return port;
  }

  management_api& api() {
    if (!api_)
      api_ = std::make_unique<management_api>(daemon_port(), admin_token);
    return *api_;
  }

  /// The registry, pointed at the daemon: start the daemon first.
  registry_process& registry() {
    if (!registry_)
      registry_ = std::make_unique<registry_process>(
          dir_,
          "http://127.0.0.1:" + std::to_string(daemon_port())
              + "/service/notifications",
          notify_secret);
    return *registry_;
  }

  ::testing::AssertionResult start_both() {
    if (!daemon().start())
      return ::testing::AssertionFailure() << "regeventd did not start:\n"
                                           << tail(daemon_->log());
    if (!registry().start())
      return ::testing::AssertionFailure() << "docker-registry did not start:\n"
                                           << tail(registry_->log());
    return ::testing::AssertionSuccess();
  }

  /// A fresh single-layer image whose content is `name`: distinct names
  /// give distinct digests.
  oci_image image(const std::string& name, const std::string& tag) {
    return write_oci_image(dir_.file("image-" + name), tag,
                           "regevent e2e image " + name + "\n");
  }

  /// Pushes `img` to `repository:tag` and returns the digest the registry
  /// stored ("" on failure, with the failure recorded).
  std::string push(const oci_image& img, const std::string& repository,
                   const std::string& tag, bool docker_v2s2 = false) {
    std::string digest;
    auto r = skopeo_.push(img, registry().ref(repository, tag), docker_v2s2,
                          &digest);
    EXPECT_TRUE(r.ok()) << "skopeo push exited " << r.exit_code << ":\n"
                        << r.output;
    return r.ok() ? digest : std::string();
  }

  /// Polls the API until `condition` holds (deadline api_deadline).
  template<class Condition>
  ::testing::AssertionResult
  eventually(Condition condition, const std::string& what) {
    if (poll_until(condition, api_deadline))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "not seen within " << api_deadline.count() << " s: " << what;
  }

  /// Waits until the tags of `digest` in `repository` are exactly `tags`.
  ::testing::AssertionResult tags_become(const std::string& repository,
                                         const std::string& digest,
                                         const tag_list& tags) {
    auto result
        = eventually([&] { return api().tags(repository, digest) == tags; },
                     repository + "@" + digest + " with the expected tags");
    if (!result)
      result << "; artifacts now: " << api().artifacts(repository).dump();
    return result;
  }

  /// Waits until the repository's pull_count is `n`.
  ::testing::AssertionResult pull_count_becomes(const std::string& repository,
                                                long long n) {
    auto result
        = eventually([&] { return api().pull_count(repository) == n; },
                     repository + " with pull_count " + std::to_string(n));
    if (!result)
      result << "; pull_count now " << api().pull_count(repository);
    return result;
  }

  /// Waits until everything the registry sent before now has been applied:
  /// a sentinel push is sent behind it (the registry delivers in order, one
  /// event at a time) and seen through the API, then the daemon's journal
  /// has no event left pending. Exact counts are read after this.
  ::testing::AssertionResult drained() {
    if (!sentinel_)
      sentinel_ = std::make_unique<oci_image>(image("sentinel", "s"));
    auto tag = "s" + std::to_string(++sentinels_);
    auto digest = push(*sentinel_, "drain/sentinel", tag);
    if (digest.empty())
      return ::testing::AssertionFailure() << "sentinel push failed";
    auto seen = eventually(
        [&] {
          auto now = api().tags("drain/sentinel", digest);
          return std::find(now.begin(), now.end(), tag) != now.end();
        },
        "sentinel tag " + tag);
    if (!seen)
      return seen;
    return eventually(
        [&] {
          return sql_scalar(daemon().database_path(),
                            "SELECT COUNT(*) FROM events WHERE status = "
                            "'pending'")
                 == 0;
        },
        "no journaled event pending");
  }

  /// Audit log entries for `repository` with `operation`.
  json audit(const std::string& repository, const std::string& operation) {
    return api().audit_logs("operation=" + operation
                            + "&resource=" + encode_path_segment(repository));
  }

  temp_dir dir_;
  /// Appended to the daemon's configuration; set before daemon() is first
  /// called.
  std::string daemon_yaml_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<management_api> api_;
  std::unique_ptr<registry_process> registry_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<oci_image> sentinel_;
  int sentinels_ = 0;
};

// ---- the project's own OCI layout writer

TEST(oci_image_helper, sha256_digest_matches_the_known_vectors) {
  EXPECT_EQ(sha256_digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
            "7852b855");
  EXPECT_EQ(sha256_digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
            "f20015ad");
}

TEST(oci_image_helper, layout_is_content_addressed_and_reproducible) {
  temp_dir dir;
  auto a = write_oci_image(dir.file("a"), "1.0", "alpha");
  auto again = write_oci_image(dir.file("again"), "1.0", "alpha");
  auto b = write_oci_image(dir.file("b"), "1.0", "beta");
  EXPECT_EQ(a.manifest_digest, again.manifest_digest);
  EXPECT_EQ(a.layer_digest, again.layer_digest);
  EXPECT_NE(a.manifest_digest, b.manifest_digest);
  EXPECT_NE(a.layer_digest, b.layer_digest);
  auto blob = [&](const std::string& digest) {
    return read_file(a.dir + "/blobs/sha256/" + digest.substr(7));
  };
  for (const auto& d : {a.manifest_digest, a.config_digest, a.layer_digest})
    EXPECT_EQ(sha256_digest(blob(d)), d);
  auto layer = blob(a.layer_digest);
  ASSERT_GE(layer.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(layer[0]), 0x1f); // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(layer[1]), 0x8b);
  auto config = json::parse(blob(a.config_digest));
  EXPECT_EQ(config["rootfs"]["diff_ids"][0],
            sha256_digest(tar_one_file("regevent.txt", "alpha")));
  auto index = json::parse(read_file(a.dir + "/index.json"));
  EXPECT_EQ(index["manifests"][0]["digest"], a.manifest_digest);
  EXPECT_EQ(
      index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
      "1.0");
  EXPECT_EQ(json::parse(read_file(a.dir + "/oci-layout"))["imageLayoutVersion"],
            "1.0.0");
}

// ---- pushes

TEST_F(real_registry, oci_push_by_tag_lists_the_artifact_with_its_tag) {
  ASSERT_TRUE(start_both());
  auto img = image("oci-push", "1.0");
  auto digest = push(img, "library/hello", "1.0");
  // skopeo keeps the OCI manifest byte for byte.
  ASSERT_EQ(digest, img.manifest_digest);

  ASSERT_TRUE(tags_become("library/hello", digest, {"1.0"}));
  auto artifact = api().artifact("library/hello", digest);
  EXPECT_EQ(artifact["manifest_media_type"], oci_manifest_type);
  EXPECT_EQ(artifact["size"], img.manifest_size);
  EXPECT_FALSE(time_of(artifact["push_time"]).empty());
  EXPECT_EQ(artifact["pull_time"], "0001-01-01T00:00:00.000Z");
  EXPECT_FALSE(time_of(artifact["tags"][0]["push_time"]).empty());

  ASSERT_TRUE(drained());
  auto projects = api().projects();
  EXPECT_NE(std::find(projects.begin(), projects.end(), "library"),
            projects.end());
  auto repo = api().repository("library/hello");
  EXPECT_EQ(repo["artifact_count"], 1);
  EXPECT_EQ(repo["pull_count"], 0);
  // One push entry: the layer and config blob uploads are not artifacts.
  auto pushes = audit("library/hello", "push");
  ASSERT_EQ(pushes.size(), 1u) << pushes.dump();
  EXPECT_EQ(pushes[0]["resource"], "library/hello:1.0");
  EXPECT_EQ(pushes[0]["operation"], "create"); // Harbor v2's name of a push
  EXPECT_EQ(pushes[0]["username"], "anonymous"); // no registry auth
  EXPECT_EQ(audit("library/hello", "pull").size(), 0u);
}

TEST_F(real_registry, docker_schema2_push_by_tag_keeps_its_media_type) {
  ASSERT_TRUE(start_both());
  auto img = image("v2s2-push", "2.0");
  auto digest = push(img, "library/legacy", "2.0", true);
  ASSERT_FALSE(digest.empty());
  // Converted on the way: another manifest, another digest.
  EXPECT_NE(digest, img.manifest_digest);
  auto raw = skopeo_.inspect_raw(registry().ref("library/legacy", digest));
  ASSERT_TRUE(raw.ok()) << raw.output;
  EXPECT_EQ(json::parse(raw.output)["mediaType"], docker_manifest_type);
  EXPECT_EQ(sha256_digest(raw.output), digest);

  ASSERT_TRUE(tags_become("library/legacy", digest, {"2.0"}));
  auto artifact = api().artifact("library/legacy", digest);
  EXPECT_EQ(artifact["manifest_media_type"], docker_manifest_type);
  EXPECT_EQ(artifact["size"], raw.output.size());
  EXPECT_EQ(api().repository("library/legacy")["artifact_count"], 1);
}

// ---- pulls

TEST_F(real_registry, pulls_by_tag_and_digest_count_and_a_head_only_touches) {
  ASSERT_TRUE(start_both());
  const std::string repo = "library/pulled";
  auto img = image("pulls", "1.0");
  auto digest = push(img, repo, "1.0");
  ASSERT_TRUE(tags_become(repo, digest, {"1.0"}));

  // A HEAD (what docker and containerd send before every pull) proves use:
  // pull time set on the artifact and the tag, no pull counted.
  ASSERT_EQ(head_manifest(registry(), repo, "1.0"), 200u);
  ASSERT_TRUE(eventually(
      [&] {
        auto a = api().artifact(repo, digest);
        return a.is_object() && !time_of(a["pull_time"]).empty()
               && !time_of(a["tags"][0]["pull_time"]).empty();
      },
      "pull_time after a HEAD"));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count(repo), 0);
  auto after_head = api().artifact(repo, digest);

  // A pull by tag counts and moves both pull times.
  auto pulled = skopeo_.pull(registry().ref(repo, "1.0"));
  ASSERT_TRUE(pulled.ok()) << pulled.output;
  ASSERT_TRUE(pull_count_becomes(repo, 1));
  ASSERT_TRUE(eventually(
      [&] {
        auto a = api().artifact(repo, digest);
        return time_of(a["pull_time"]) > time_of(after_head["pull_time"])
               && time_of(a["tags"][0]["pull_time"])
                      > time_of(after_head["tags"][0]["pull_time"]);
      },
      "pull times after a pull by tag"));
  auto after_tag = api().artifact(repo, digest);

  // A pull by digest counts and moves the artifact's pull time (Harbor 1.x
  // never did); the tag was not used, so its pull time stays.
  pulled = skopeo_.pull(registry().ref(repo, digest));
  ASSERT_TRUE(pulled.ok()) << pulled.output;
  ASSERT_TRUE(pull_count_becomes(repo, 2));
  ASSERT_TRUE(eventually(
      [&] {
        return time_of(api().artifact(repo, digest)["pull_time"])
               > time_of(after_tag["pull_time"]);
      },
      "artifact pull time after a pull by digest"));
  EXPECT_EQ(api().artifact(repo, digest)["tags"][0]["pull_time"],
            after_tag["tags"][0]["pull_time"]);

  // A HEAD by digest touches again and still counts nothing.
  auto after_digest = api().artifact(repo, digest);
  ASSERT_EQ(head_manifest(registry(), repo, digest), 200u);
  ASSERT_TRUE(eventually(
      [&] {
        return time_of(api().artifact(repo, digest)["pull_time"])
               > time_of(after_digest["pull_time"]);
      },
      "artifact pull time after a HEAD by digest"));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count(repo), 2);

  // Every pull is in the audit log, counted or not.
  auto pulls = audit(repo, "pull");
  ASSERT_EQ(pulls.size(), 4u) << pulls.dump();
  auto by_tag = std::count_if(pulls.begin(), pulls.end(), [&](const json& e) {
    return e["resource"] == repo + ":1.0";
  });
  auto by_digest
      = std::count_if(pulls.begin(), pulls.end(), [&](const json& e) {
          return e["resource"] == repo + "@" + digest;
        });
  EXPECT_EQ(by_tag, 2);
  EXPECT_EQ(by_digest, 2);
}

TEST_F(real_registry, pulls_by_an_internal_user_agent_are_not_counted) {
  ASSERT_TRUE(start_both());
  const std::string repo = "library/internal";
  auto digest = push(image("internal", "1.0"), repo, "1.0");
  ASSERT_TRUE(tags_become(repo, digest, {"1.0"}));

  // Real manifest GETs with Harbor's registry client's user agent (in the
  // default filter.internal_user_agents, matched by prefix), then one
  // from an ordinary client.
  auto client = registry().client();
  for (const char* agent :
       {"harbor-registry-client", "harbor-registry-client/2.0",
        "harbor-replication-service", "harbor-registry-client",
        "harbor-registry-client"})
    ASSERT_EQ(get_manifest(client, repo, "1.0", agent).status, 200u);
  ASSERT_EQ(get_manifest(client, repo, "1.0", "containerd/1.7.2").status, 200u);

  ASSERT_TRUE(pull_count_becomes(repo, 1));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count(repo), 1);
  EXPECT_EQ(audit(repo, "pull").size(), 1u);
}

// ---- tags, copies, deletes, projects

TEST_F(real_registry, pushing_a_tag_to_another_digest_moves_the_tag) {
  ASSERT_TRUE(start_both());
  const std::string repo = "library/moving";
  auto first = push(image("retag-first", "latest"), repo, "latest");
  ASSERT_TRUE(tags_become(repo, first, {"latest"}));

  auto second = push(image("retag-second", "latest"), repo, "latest");
  ASSERT_NE(first, second);
  ASSERT_TRUE(tags_become(repo, second, {"latest"}));
  ASSERT_TRUE(tags_become(repo, first, {}));
  // The old manifest is still in the registry: untagged, not deleted.
  EXPECT_TRUE(api().artifact(repo, first).is_object());
  EXPECT_EQ(api().repository(repo)["artifact_count"], 2);
}

TEST_F(real_registry, a_copy_to_another_repository_creates_it) {
  ASSERT_TRUE(start_both());
  auto digest = push(image("copied", "1.0"), "library/source", "1.0");
  ASSERT_TRUE(tags_become("library/source", digest, {"1.0"}));

  // The registry mounts the blobs (`mount` events, which must be accepted
  // and ignored: a refusal would block its queue) and then receives the
  // manifest.
  auto copied = skopeo_.copy(registry().ref("library/source", "1.0"),
                             registry().ref("library/target", "1.0"));
  ASSERT_TRUE(copied.ok()) << copied.output;
  ASSERT_TRUE(tags_become("library/target", digest, {"1.0"}));
  EXPECT_EQ(api().repository("library/target")["artifact_count"], 1);

  ASSERT_TRUE(drained());
  // skopeo read the source manifest once: one pull there, none on the copy.
  EXPECT_EQ(api().pull_count("library/source"), 1);
  EXPECT_EQ(api().pull_count("library/target"), 0);
  EXPECT_EQ(audit("library/target", "push").size(), 1u);
}

TEST_F(real_registry, deleting_a_manifest_removes_the_artifact_and_its_tags) {
  ASSERT_TRUE(start_both());
  const std::string repo = "library/doomed";
  auto img = image("deleted", "1.0");
  auto doomed = push(img, repo, "1.0");
  ASSERT_EQ(push(img, repo, "stable"), doomed);
  auto kept = push(image("kept", "2.0"), repo, "2.0");
  ASSERT_TRUE(tags_become(repo, doomed, {"1.0", "stable"}));
  ASSERT_TRUE(tags_become(repo, kept, {"2.0"}));

  // Distribution 2.8.2 cannot delete a tag alone: skopeo resolves the tag
  // and deletes the manifest, and the registry untags every tag on it.
  auto removed = skopeo_.remove(registry().ref(repo, "1.0"));
  ASSERT_TRUE(removed.ok()) << removed.output;
  auto client = registry().client();
  ASSERT_EQ(get_manifest(client, repo, doomed).status, 404u);

  ASSERT_TRUE(eventually([&] { return api().artifact(repo, doomed).is_null(); },
                         "artifact gone after the delete"));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().tags(repo, kept), tag_list{"2.0"});
  EXPECT_EQ(api().repository(repo)["artifact_count"], 1);
  auto deletes = audit(repo, "delete");
  EXPECT_TRUE(std::any_of(deletes.begin(), deletes.end(), [&](const json& e) {
    return e["resource"] == repo + "@" + doomed;
  })) << deletes.dump();

  // Pushed again under one tag, the image comes back with that tag only:
  // the deleted `stable` stays deleted.
  ASSERT_EQ(push(img, repo, "1.0"), doomed);
  ASSERT_TRUE(tags_become(repo, doomed, {"1.0"}));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().tags(repo, doomed), tag_list{"1.0"});
  EXPECT_EQ(api().repository(repo)["artifact_count"], 2);
  // skopeo delete read the manifest once; the blob HEADs of the re-push
  // are `pull` events too, but not of a manifest.
  EXPECT_EQ(api().pull_count(repo), 1);
}

TEST_F(real_registry, the_same_image_in_two_projects_is_listed_in_each) {
  ASSERT_TRUE(start_both());
  auto img = image("shared", "1.0");
  auto digest = push(img, "alpha/app", "1.0");
  ASSERT_EQ(push(img, "beta/app", "1.0"), digest);
  ASSERT_TRUE(tags_become("alpha/app", digest, {"1.0"}));
  ASSERT_TRUE(tags_become("beta/app", digest, {"1.0"}));

  // Unknown projects are created on first sight.
  auto projects = api().projects();
  for (const char* name : {"alpha", "beta"})
    EXPECT_NE(std::find(projects.begin(), projects.end(), name), projects.end())
        << name;
  EXPECT_TRUE(api().repository("alpha/app").is_object());
  EXPECT_TRUE(api().repository("beta/app").is_object());

  // Counted per repository, not per digest.
  auto pulled = skopeo_.pull(registry().ref("alpha/app", "1.0"));
  ASSERT_TRUE(pulled.ok()) << pulled.output;
  ASSERT_TRUE(pull_count_becomes("alpha/app", 1));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count("beta/app"), 0);
  EXPECT_EQ(api().artifact("beta/app", digest)["pull_time"],
            "0001-01-01T00:00:00.000Z");
}

// ---- delivery: the daemon down, the daemon killed

TEST_F(real_registry, events_sent_while_the_daemon_is_down_arrive_once) {
  // The daemon starts once for its port and stops: the registry then
  // starts pointed at a daemon that is not there.
  ASSERT_TRUE(daemon().start()) << daemon().log();
  daemon().signal(SIGTERM);
  ASSERT_EQ(daemon().wait_exit(std::chrono::seconds(10)), 0) << daemon().log();
  ASSERT_TRUE(registry().start()) << registry().log();
  const std::string repo = "library/offline";
  auto img = image("offline", "1.0");
  auto digest = push(img, repo, "1.0");
  ASSERT_FALSE(digest.empty()); // pushes are never blocked by the endpoint
  for (int i = 0; i < 3; ++i) {
    auto pulled = skopeo_.pull(registry().ref(repo, "1.0"));
    ASSERT_TRUE(pulled.ok()) << pulled.output;
  }
  auto client = registry().client();
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(get_manifest(client, repo, digest).status, 200u);
  ASSERT_EQ(head_manifest(registry(), repo, "1.0"), 200u);
  // The registry has really tried and failed (it logs every failure).
  ASSERT_TRUE(poll_until(
      [&] {
        return registry().log().find("connection refused") != std::string::npos;
      },
      api_deadline))
      << tail(registry().log());

  ASSERT_TRUE(daemon().start()) << daemon().log();
  ASSERT_TRUE(tags_become(repo, digest, {"1.0"}));
  ASSERT_TRUE(pull_count_becomes(repo, 5));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count(repo), 5);
  EXPECT_FALSE(time_of(api().artifact(repo, digest)["pull_time"]).empty());
  EXPECT_EQ(audit(repo, "push").size(), 1u);
  EXPECT_EQ(audit(repo, "pull").size(), 6u); // 5 GETs and the HEAD
}

TEST_F(real_registry, a_daemon_killed_during_a_pull_burst_counts_every_pull) {
  // On PostgreSQL the events the killed instance had claimed are taken
  // over once its heartbeat is older than the timeout (3 s here). On
  // SQLite the restart releases them at once.
  daemon_yaml_ = "dispatch:\n  heartbeat_timeout_ms: 3000\n";
  ASSERT_TRUE(start_both());
  const std::string repo = "library/burst";
  auto digest = push(image("burst", "1.0"), repo, "1.0");
  ASSERT_TRUE(tags_become(repo, digest, {"1.0"}));
  ASSERT_TRUE(drained());
  const auto journaled_pulls = [&] {
    return sql_scalar(daemon().database_path(),
                      "SELECT COUNT(*) FROM events WHERE action = 'pull' "
                      "AND repository = 'library/burst'");
  };

  // 600 manifest GETs from 4 clients at once: the registry answers them in
  // parallel but delivers their events one at a time, so a queue builds.
  // The burst is long enough that a poll on a loaded machine still sees a
  // quarter of it journaled before the registry delivered it all (with 200
  // it once saw the whole burst first).
  constexpr int clients = 4;
  constexpr int per_client = 150;
  constexpr long long burst = clients * per_client;
  std::atomic<int> failed_gets{0};
  std::vector<std::thread> pullers;
  for (int c = 0; c < clients; ++c)
    pullers.emplace_back([&] {
      auto client = registry().client();
      for (int i = 0; i < per_client; ++i)
        if (get_manifest(client, repo, "1.0").status != 200)
          ++failed_gets;
    });
  // SIGKILL once a part of the burst is journaled: some events are
  // applied, one may be journaled but unanswered (the registry sends it
  // again), the rest wait in the registry's queue.
  poll_until([&] { return journaled_pulls() >= burst / 4; }, api_deadline);
  daemon().kill_hard();
  auto at_kill = journaled_pulls();
  for (auto& t : pullers)
    t.join();
  ASSERT_EQ(failed_gets.load(), 0);
  std::cerr << "[ info ] " << at_kill << " of " << burst
            << " pulls journaled when regeventd was killed\n";
  EXPECT_LT(at_kill, burst) << "the kill came after the burst";

  // Restarted on the same port; the registry's queue (in its memory)
  // drains into it.
  ASSERT_TRUE(daemon().start()) << daemon().log();
  ASSERT_TRUE(pull_count_becomes(repo, burst));
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count(repo), burst);
  EXPECT_EQ(journaled_pulls(), burst);
  EXPECT_EQ(audit(repo, "pull").size(), static_cast<size_t>(burst));
  // How many events the registry sent again after the kill (journaled by
  // the first run, unanswered): informative, timing decides.
  auto metrics = daemon().client().get("/metrics", admin_token).body;
  const std::string duplicates
      = "regevent_events_total{outcome=\"duplicate\"} ";
  auto at = metrics.find(duplicates);
  if (at != std::string::npos)
    std::cerr << "[ info ] re-sent events deduplicated after the restart: "
              << metrics.substr(at + duplicates.size(),
                                metrics.find('\n', at) - at - duplicates.size())
              << "\n";
}

TEST_F(real_registry, a_push_and_a_pull_reach_a_webhook_receiver) {
  webhook_receiver receiver(dir_, "hooks", {});
  ASSERT_TRUE(receiver.started());
  daemon_yaml_ = "webhooks:\n  allow_networks: [127.0.0.0/8]\n"
                 "  registry_address: registry.e2e:5000\n"
                 "  poll_interval_ms: 50\n";
  ASSERT_TRUE(start_both());
  http_client admin("127.0.0.1", daemon_port());
  json policy{
      {"name", "e2e"},
      {"event_types", {"PUSH_ARTIFACT", "PULL_ARTIFACT"}},
      {"targets", {{{"type", "http"}, {"address", receiver.url("/e2e")}}}}};
  auto created = admin.request(
      "POST", "/api/v2.0/projects/library/webhook/policies", policy.dump(),
      {{"Authorization", std::string("Bearer ") + admin_token},
       {"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201u) << created.body;

  const std::string repo = "library/hooked";
  auto digest = push(image("hooked", "1.0"), repo, "1.0");
  ASSERT_FALSE(digest.empty());
  auto pulled = skopeo_.pull(registry().ref(repo, "1.0"));
  ASSERT_TRUE(pulled.ok()) << pulled.output;
  auto of_type = [&](const std::string& type) {
    std::vector<json> out;
    for (const auto& r : receiver.received()) {
      auto body = json::parse(r.value("body", ""), nullptr, false);
      if (body.is_object() && body.value("type", "") == type)
        out.push_back(body);
    }
    return out;
  };
  ASSERT_TRUE(eventually(
      [&] {
        return of_type("PUSH_ARTIFACT").size() == 1
               && !of_type("PULL_ARTIFACT").empty();
      },
      "a PUSH_ARTIFACT and a PULL_ARTIFACT delivery"));
  auto pushed = of_type("PUSH_ARTIFACT")[0]["event_data"];
  EXPECT_EQ(pushed["resources"][0]["digest"], digest);
  EXPECT_EQ(pushed["resources"][0]["tag"], "1.0");
  EXPECT_EQ(pushed["resources"][0]["resource_url"],
            "registry.e2e:5000/" + repo + ":1.0");
  EXPECT_EQ(pushed["repository"]["repo_full_name"], repo);
  // Every pull delivery names what skopeo pulled (a HEAD it may send first
  // is no pull and is not published).
  for (const auto& p : of_type("PULL_ARTIFACT")) {
    EXPECT_EQ(p["event_data"]["resources"][0]["digest"], digest);
    EXPECT_EQ(p["event_data"]["resources"][0]["tag"], "1.0");
  }
  ASSERT_TRUE(drained());
  // The sentinel push of drained() is delivered too; nothing twice.
  EXPECT_EQ(of_type("PULL_ARTIFACT").size(),
            static_cast<size_t>(api().pull_count(repo)));
}

} // namespace
} // namespace regevent::test
