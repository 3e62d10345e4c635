// Adopting an existing registry, end to end: images pushed with skopeo into
// the real `docker-registry` before regevent runs (its notifications
// pointed nowhere), then the real regeventd imports them, counts pulls on
// them, and later reconciles what changed while its notifications were
// lost. Runs on SQLite and, in the PostgreSQL variant, on PostgreSQL (where
// two instances also share one database).

#include "tests/e2e/api_helper.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "persistence/event.hpp"
#include "tests/fixtures/metrics.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* notify_secret = "reconcile-notify-secret";
constexpr const char* admin_token = "reconcile-admin-token";
constexpr const char* zero_time = "0001-01-01T00:00:00.000Z";

class reconcile : public ::testing::Test {
protected:
  static std::string tail(const std::string& text, size_t n = 5000) {
    return text.size() <= n ? text : text.substr(text.size() - n);
  }

  void TearDown() override {
    if (!HasFailure())
      return;
    if (daemon_)
      std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
    if (registry_)
      std::cerr << "---- registry log (tail)\n" << tail(registry_->log());
  }

  /// A registry that notifies nowhere yet (what it is given now is lost
  /// to regevent), on a port kept across its restarts.
  void start_registry() {
    registry_ = std::make_unique<registry_process>(registry_dir_, "",
                                                   notify_secret);
    registry_->keep_port_across_restarts();
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
  }

  /// The daemon with `yaml` (and the registry as its source); its port
  /// kept across restarts.
  void start_daemon(const std::string& yaml) {
    daemon_ = std::make_unique<daemon_process>(
        dir_, std::string("auth:\n  notify_token: ") + notify_secret
                  + "\n  admin_token: " + admin_token
                  + "\nsource_registry:\n  url: " + registry_->url() + "\n"
                  + yaml);
    daemon_->keep_port_across_restarts();
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  }

  /// Restarts the registry notifying the daemon (`notify`) or nowhere.
  void restart_registry(bool notify) {
    registry_->stop();
    registry_->set_notify_url(
        notify ? "http://127.0.0.1:" + std::to_string(daemon_->port())
                     + "/service/notifications"
               : std::string());
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
  }

  std::string push(const std::string& repository, const std::string& tag,
                   const std::string& content) {
    auto img = write_oci_image(dir_.file("img-" + std::to_string(++n_)), tag,
                               content);
    std::string digest;
    auto r = skopeo_.push(img, registry_->ref(repository, tag), false, &digest);
    EXPECT_TRUE(r.ok()) << r.output;
    return digest;
  }

  http_answer call(const std::string& method, const std::string& target) {
    return daemon_->client().request(
        method, target, {}, {{"Authorization", std::string("Bearer ") + admin_token}});
  }

  management_api api() {
    return management_api(daemon_->port(), admin_token);
  }

  /// The newest run once it ended (null if none ended in time).
  json ended_run(std::chrono::milliseconds deadline = 60s) {
    json last;
    poll_until(
        [&] {
          last = api().get("/api/v2.0/system/reconcile");
          return last.is_object()
                 && (last["status"] == "succeeded"
                     || last["status"] == "failed");
        },
        deadline);
    return last;
  }

  /// The run `id` once it ended (null if it did not in time).
  json ended_run_id(long long id, std::chrono::milliseconds deadline = 60s) {
    json found;
    poll_until(
        [&] {
          auto all = api().get("/api/v2.0/system/reconcile/runs");
          if (!all.is_array())
            return false;
          for (const auto& run : all)
            if (run["id"] == id)
              found = run;
          return found.is_object()
                 && (found["status"] == "succeeded"
                     || found["status"] == "failed");
        },
        deadline);
    return found;
  }

  /// The newest run once there are `runs` and it ended.
  json ended_run_number(size_t runs, std::chrono::milliseconds deadline = 60s) {
    json last;
    poll_until(
        [&] {
          auto all = api().get("/api/v2.0/system/reconcile/runs");
          if (!all.is_array() || all.size() != runs)
            return false;
          last = all[0];
          return last["status"] == "succeeded" || last["status"] == "failed";
        },
        deadline);
    return last;
  }

  /// Every live tag of every repository the API shows in `project`, as
  /// `repo:tag@digest` lines, with the repository's push-time knowledge.
  std::set<std::string> catalog_of(const std::string& project) {
    std::set<std::string> out;
    auto repos = api().get("/api/v2.0/projects/" + project
                           + "/repositories?page_size=100");
    if (!repos.is_array())
      return out;
    for (const auto& r : repos) {
      std::string name = r["name"];
      for (const auto& a : api().artifacts(name)) {
        std::string digest = a["digest"];
        if (a["tags"].empty())
          out.insert(name + "@" + digest);
        for (const auto& t : a["tags"])
          out.insert(name + ":" + t["name"].get<std::string>() + "@" + digest);
      }
    }
    return out;
  }

  bool drained() {
    return poll_until(
        [&] {
          auto m = call("GET", "/metrics");
          return m.status == 200
                 && metric_value(m.body, "regevent_backlog_events")
                            .value_or(-1)
                        == 0;
        },
        60s);
  }

  temp_dir dir_;
  temp_dir registry_dir_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<registry_process> registry_;
  std::unique_ptr<daemon_process> daemon_;
  int n_ = 0;
};

TEST_F(reconcile, imports_an_existing_registry_then_finds_what_was_missed) {
  start_registry();
  // Before regevent: five repositories (more than two catalog pages of
  // two), one nested, one without a project, one multi-platform.
  auto app1 = push("team/app", "1.0", "app one");
  auto app2 = push("team/app", "2.0", "app two");
  auto tool = push("team/nested/tool", "1.0", "tool");
  auto solo = push("other/solo", "latest", "solo");
  auto index = write_oci_index(dir_.file("multi"), "1.0", "multi",
                               {"amd64", "arm64"});
  std::string index_digest;
  auto r = skopeo_.push(index, registry_->ref("team/multi", "1.0"),
                        &index_digest);
  ASSERT_TRUE(r.ok()) << r.output;
  // A second tag of an image. (Distribution 2.8 answers a tag list whole:
  // tags paging is the registry client test's, with a double that pages.)
  push("team/app", "latest", "app one");

  // The daemon's port is known once it ran: the registry notifies it from
  // now on; then the daemon starts again, importing at start.
  start_daemon("");
  ASSERT_EQ(daemon_->stop(), 0);
  restart_registry(true);
  daemon_->add_config("reconcile:\n  on_start: true\n  page_size: 2\n");
  ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  auto run = ended_run_number(1);
  ASSERT_EQ(run["status"], "succeeded") << run;
  EXPECT_EQ(run["trigger"], "start");
  // team/app, team/multi, team/nested/tool, other/solo.
  EXPECT_EQ(run["repositories_walked"], 4);
  EXPECT_EQ(run["repositories_created"], 4);
  EXPECT_EQ(run["deleted"], 0);
  EXPECT_EQ(run["corrected"], 0);
  // Artifacts: app1, app2, tool, solo, the index and its two images (7);
  // tags: 1.0, 2.0, latest, tool 1.0, solo latest, multi 1.0 (6).
  EXPECT_EQ(run["created"], 13);

  EXPECT_EQ(catalog_of("team"),
            (std::set<std::string>{
                "team/app:1.0@" + app1, "team/app:latest@" + app1,
                "team/app:2.0@" + app2, "team/nested/tool:1.0@" + tool,
                "team/multi:1.0@" + index_digest,
                "team/multi@" + index.manifest_digests[0],
                "team/multi@" + index.manifest_digests[1]}));
  EXPECT_EQ(catalog_of("other"),
            (std::set<std::string>{"other/solo:latest@" + solo}));
  // No push time is invented; imported repositories count no pulls.
  auto a = api().artifact("team/app", app1);
  EXPECT_EQ(a["push_time"], zero_time) << a;
  EXPECT_EQ(a["pull_time"], "0001-01-01T00:00:00.000Z") << a;
  EXPECT_EQ(api().pull_count("team/app"), 0);
  auto multi = api().artifact("team/multi", index_digest);
  EXPECT_EQ(multi["manifest_media_type"],
            "application/vnd.oci.image.index.v1+json");
  // The walk's own HEADs and GETs were not counted as pulls.
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count("team/multi"), 0);

  // Pulls of the imported images count, through notifications.
  ASSERT_TRUE(skopeo_.pull(registry_->ref("team/app", "1.0")).ok());
  ASSERT_TRUE(poll_until([&] { return api().pull_count("team/app") == 1; }))
      << api().repository("team/app");
  // On PostgreSQL the effects commit apart: the pull time may follow the
  // count.
  json pulled;
  EXPECT_TRUE(poll_until([&] {
    pulled = api().artifact("team/app", app1);
    return pulled.is_object() && pulled["pull_time"].is_string();
  })) << pulled;
  EXPECT_EQ(pulled["push_time"], zero_time);

  // While regevent is down and the registry notifies nowhere: 2.0 is
  // deleted (by digest, as skopeo does) and 3.0 pushed.
  ASSERT_EQ(daemon_->stop(), 0);
  restart_registry(false);
  ASSERT_TRUE(skopeo_.remove(registry_->ref("team/app", "2.0")).ok());
  auto app3 = push("team/app", "3.0", "app three");
  restart_registry(true);
  ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  // on_start again: this start's run finds the gaps; one asked for by
  // hand after it finds nothing more.
  auto second = ended_run_number(2);
  ASSERT_EQ(second["status"], "succeeded") << second;
  EXPECT_EQ(second["trigger"], "start");
  // Tag 2.0 and its artifact deleted; 3.0 and its artifact created.
  EXPECT_EQ(second["deleted"], 2) << second;
  EXPECT_EQ(second["created"], 2) << second;
  auto asked = call("POST", "/api/v2.0/system/reconcile");
  ASSERT_EQ(asked.status, 202u) << asked.body;
  auto third = ended_run_number(3);
  ASSERT_EQ(third["status"], "succeeded") << third;
  EXPECT_EQ(third["trigger"], "manual");
  EXPECT_EQ(third["created"].get<int>() + third["deleted"].get<int>()
                + third["corrected"].get<int>(),
            0)
      << third;

  EXPECT_EQ(catalog_of("team"),
            (std::set<std::string>{
                "team/app:1.0@" + app1, "team/app:latest@" + app1,
                "team/app:3.0@" + app3, "team/nested/tool:1.0@" + tool,
                "team/multi:1.0@" + index_digest,
                "team/multi@" + index.manifest_digests[0],
                "team/multi@" + index.manifest_digests[1]}));
  // The gaps are in the audit log, as the reconcile's.
  auto logs = api().audit_logs("username=regevent:reconcile");
  std::set<std::string> seen;
  for (const auto& entry : logs)
    seen.insert(entry["operation"].get<std::string>() + " "
                + entry["resource"].get<std::string>());
  EXPECT_EQ(seen.count("delete team/app:2.0"), 1u) << logs;
  EXPECT_EQ(seen.count("delete team/app@" + app2), 1u) << logs;
  EXPECT_EQ(seen.count("create team/app:3.0"), 1u) << logs;
  // The pull counted before is kept: a reconcile never touches counts.
  EXPECT_EQ(api().pull_count("team/app"), 1);

  auto m = call("GET", "/metrics");
  EXPECT_GE(metric_value(m.body, "regevent_reconcile_changes_total",
                         {{"change", "deleted"}})
                .value_or(0),
            2)
      << m.body;
  EXPECT_EQ(metric_value(m.body, "regevent_reconcile_runs_total",
                         {{"outcome", "succeeded"}})
                .value_or(0),
            2);
}

TEST_F(reconcile, a_registry_down_mid_walk_fails_the_run_and_the_next_finishes) {
  start_registry();
  std::set<std::string> expected;
  for (int i = 0; i < 8; ++i) {
    auto name = "team/r" + std::to_string(i);
    expected.insert(name + ":1.0@" + push(name, "1.0", name));
  }
  // Slow: two requests a second (a repository a second), one at a time.
  start_daemon("reconcile:\n  rate: 2\n  concurrency: 1\n  page_size: 2\n");
  auto asked = call("POST", "/api/v2.0/system/reconcile");
  ASSERT_EQ(asked.status, 202u) << asked.body;
  // One at a time: a second request while it runs is refused.
  auto again = call("POST", "/api/v2.0/system/reconcile");
  EXPECT_EQ(again.status, 409u) << again.body;
  ASSERT_TRUE(poll_until([&] {
    auto run = api().get("/api/v2.0/system/reconcile");
    return run.is_object() && run.value("repositories_walked", 0) >= 2;
  }));
  registry_->stop();
  auto failed = ended_run();
  ASSERT_EQ(failed["status"], "failed") << failed;
  EXPECT_GE(failed["errors"], 1);
  EXPECT_FALSE(failed["error"].get<std::string>().empty());
  EXPECT_LT(failed["repositories_walked"], 8);
  // Whatever it applied is whole: every repository shown has its tag.
  auto partial = catalog_of("team");
  for (const auto& line : partial)
    EXPECT_EQ(expected.count(line), 1u) << line;
  EXPECT_EQ(partial.size(), failed["repositories_walked"].get<size_t>());

  ASSERT_TRUE(registry_->start()) << tail(registry_->log());
  ASSERT_EQ(call("POST", "/api/v2.0/system/reconcile").status, 202u);
  auto next = ended_run_number(2, 120s);
  ASSERT_EQ(next["status"], "succeeded") << next;
  EXPECT_EQ(catalog_of("team"), expected);
  // It created only what the first left undone.
  EXPECT_EQ(next["created"].get<size_t>(),
            2 * (expected.size() - partial.size()));
}

TEST_F(reconcile, live_pushes_during_a_reconcile_stay_exact) {
  start_registry();
  for (int i = 0; i < 4; ++i)
    push("team/r" + std::to_string(i), "1.0", "before " + std::to_string(i));
  start_daemon("reconcile:\n  rate: 3\n  concurrency: 1\n");
  restart_registry(true);
  ASSERT_EQ(call("POST", "/api/v2.0/system/reconcile").status, 202u);
  // While it walks: 1.0 of the last repository moves, a new tag arrives.
  auto moved = push("team/r3", "1.0", "moved");
  auto fresh = push("team/r3", "2.0", "fresh");
  auto run = ended_run(120s);
  ASSERT_EQ(run["status"], "succeeded") << run;
  ASSERT_TRUE(drained());
  // The live pushes win over anything the walk read before them.
  EXPECT_EQ(api().tags("team/r3", moved), (std::vector<std::string>{"1.0"}));
  EXPECT_EQ(api().tags("team/r3", fresh), (std::vector<std::string>{"2.0"}));
  // Nothing a live push made is deleted by a walk that read the registry
  // before it.
  EXPECT_EQ(run["deleted"], 0) << run;
  // Each push is in the audit log once as the pusher's.
  auto pushes = api().audit_logs("operation=push&resource=team/r3");
  size_t by_client = 0;
  for (const auto& entry : pushes)
    if (entry["username"] != "regevent:reconcile")
      ++by_client;
  EXPECT_EQ(by_client, 2u) << pushes;
  // Their push times are the events', not unknown.
  EXPECT_NE(api().artifact("team/r3", moved)["push_time"], zero_time);
}

TEST_F(reconcile, a_schedule_runs_again_each_interval) {
  start_registry();
  auto first = push("team/app", "1.0", "scheduled");
  start_daemon("reconcile:\n  interval_s: 2\n  poll_interval_ms: 100\n");
  auto one = ended_run_id(1);
  ASSERT_EQ(one["status"], "succeeded") << one;
  EXPECT_EQ(one["trigger"], "schedule");
  EXPECT_EQ(one["created"], 2);
  // Pushed with the notifications lost: a later scheduled run finds it.
  auto second_digest = push("team/app", "2.0", "scheduled later");
  const std::set<std::string> both{"team/app:1.0@" + first,
                                   "team/app:2.0@" + second_digest};
  ASSERT_TRUE(poll_until([&] { return catalog_of("team") == both; }, 30s))
      << api().get("/api/v2.0/system/reconcile/runs");
  auto runs = api().get("/api/v2.0/system/reconcile/runs");
  ASSERT_GE(runs.size(), 2u) << runs;
  // Each by the schedule, none before its interval: two seconds from one
  // start to the next.
  auto start_of = [](const json& run) {
    timestamp_us t = 0;
    parse_rfc3339(run["start_time"].get<std::string>(), t);
    return t;
  };
  for (size_t i = 0; i + 1 < runs.size(); ++i) {
    EXPECT_EQ(runs[i]["trigger"], "schedule") << runs;
    if (runs[i]["start_time"].is_string()) {
      EXPECT_GE(start_of(runs[i]) - start_of(runs[i + 1]), 1'900'000) << runs;
    }
  }
}

TEST_F(reconcile, two_instances_on_postgresql_never_reconcile_at_once) {
  if (!testing_postgresql())
    GTEST_SKIP() << "runs in the PostgreSQL variant of this suite";
  start_registry();
  for (int i = 0; i < 4; ++i)
    push("team/r" + std::to_string(i), "1.0", "pg " + std::to_string(i));
  // Both on a one-second schedule, each run a few seconds long: they
  // contend for every run.
  const std::string yaml = "reconcile:\n  rate: 4\n  concurrency: 1\n  "
                           "interval_s: 1\n  poll_interval_ms: 50\n";
  start_daemon(yaml);
  temp_dir other_dir;
  daemon_process other(other_dir,
                       std::string("auth:\n  admin_token: ") + admin_token
                           + "\nsource_registry:\n  url: " + registry_->url()
                           + "\ndatabase:\n  url: "
                           + daemon_->database_path() + "\n" + yaml);
  ASSERT_TRUE(other.start()) << tail(other.log());
  // A run asked for while one is unfinished is refused, on either.
  auto b = other.client().request(
      "POST", "/api/v2.0/system/reconcile", {},
      {{"Authorization", std::string("Bearer ") + admin_token}});
  EXPECT_TRUE(b.status == 202u || b.status == 409u) << b.body;
  json runs;
  ASSERT_TRUE(poll_until(
      [&] {
        runs = api().get("/api/v2.0/system/reconcile/runs");
        size_t ended = 0;
        for (const auto& run : runs)
          ended += run["status"] == "succeeded" ? 1 : 0;
        return ended >= 3;
      },
      120s))
      << runs;
  EXPECT_EQ(other.stop(), 0);
  // Never at once: no run started before the one before it ended.
  std::vector<std::pair<timestamp_us, timestamp_us>> spans;
  for (const auto& run : runs) {
    if (run["status"] != "succeeded")
      continue;
    timestamp_us start = 0, end = 0;
    parse_rfc3339(run["start_time"].get<std::string>(), start);
    parse_rfc3339(run["end_time"].get<std::string>(), end);
    spans.emplace_back(start, end);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    EXPECT_GE(spans[i].first, spans[i - 1].second) << runs;
  // The first imported everything; the others found nothing to do.
  EXPECT_EQ(runs.back()["created"], 8) << runs;
}

} // namespace
} // namespace regevent::test
