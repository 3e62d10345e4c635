// Effects against the real daemon and SQLite: the captured fixtures in
// sequence, redelivery, injected failures (retry, dead letters, restarts),
// unknown projects, retention, and the management API.

#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/faults.hpp"
#include "tests/test_secrets.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

namespace regevent::test {
namespace {

using json = nlohmann::json;

const std::string admin = secrets::admin_token;

class effects : public ::testing::Test {
protected:
  void start(const std::string& yaml = {},
             std::map<std::string, std::string> env = {}) {
    daemon_ = std::make_unique<daemon_process>(
        dir_, "auth:\n  admin_token: " + admin + "\n" + yaml, std::move(env));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  long long count(const std::string& query) {
    return sql_scalar(daemon_->database_path(), query);
  }

  /// Waits until no journaled event is pending.
  bool drained() {
    return poll_until(
        [&] {
          return count("SELECT COUNT(*) FROM events WHERE status = 'pending'")
                 == 0;
        },
        std::chrono::seconds(60));
  }

  json api(const std::string& target) {
    auto a = daemon_->client().get(target, admin);
    EXPECT_EQ(a.status, 200u) << target << " " << a.body;
    return json::parse(a.body, nullptr, false);
  }

  /// Every table an effect writes, as text, for comparisons.
  std::string snapshot() {
    std::string out;
    for (auto q :
         {"SELECT COUNT(*) FROM access_logs",
          "SELECT COUNT(DISTINCT event_id) FROM access_logs",
          "SELECT COALESCE(SUM(pull_count), 0) FROM pull_counts",
          "SELECT COUNT(*) FROM repositories", "SELECT COUNT(*) FROM projects",
          "SELECT COUNT(*) FROM artifacts WHERE alive_at > deleted_at",
          "SELECT COUNT(*) FROM tags WHERE alive_at > deleted_at",
          "SELECT COALESCE(SUM(pull_time), 0) FROM artifacts",
          "SELECT COUNT(*) FROM events WHERE status = 'done'",
          "SELECT COUNT(*) FROM events WHERE status = 'ignored'"})
      out += std::string(q) + " = " + std::to_string(count(q)) + "\n";
    return out;
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(effects, the_fixtures_in_sequence_give_exactly_the_expected_rows) {
  start();
  auto c = daemon_->client();
  for (const auto& name : registry_fixture_names())
    ASSERT_EQ(c.notify(registry_fixture(name)).status, 200u) << name;
  ASSERT_TRUE(drained());
  // Kept: 2 manifest pushes, 4 manifest pulls (one HEAD), 3 deletes.
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs"), 9);
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs WHERE operation = "
                  "'pull'"),
            4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs WHERE username = "
                  "'anonymous'"),
            9);
  // Blobs, the mount and the HEAD-by-blob are filtered with a reason.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE status = 'ignored' AND "
                  "reason <> ''"),
            8);
  auto repos = api("/api/v2.0/projects/library/repositories");
  // library/other is only ever deleted from in the fixtures (its image
  // came before them): the deletes make it visible, with nothing in it.
  ASSERT_EQ(repos.size(), 2u) << repos.dump();
  EXPECT_EQ(repos[1]["name"], "library/other");
  EXPECT_EQ(repos[1]["artifact_count"], 0);
  EXPECT_EQ(repos[1]["pull_count"], 0);
  EXPECT_EQ(repos[0]["name"], "library/hello");
  // GET by tag, GET by digest, GET answered 404: 3. The HEAD only touches.
  EXPECT_EQ(repos[0]["pull_count"], 3);
  EXPECT_EQ(repos[0]["artifact_count"], 2);
  auto artifacts
      = api("/api/v2.0/projects/library/repositories/hello/artifacts");
  ASSERT_EQ(artifacts.size(), 2u);
  std::map<std::string, json> by_type;
  for (const auto& a : artifacts)
    by_type[a["manifest_media_type"]] = a;
  auto oci = by_type["application/vnd.oci.image.manifest.v1+json"];
  EXPECT_EQ(oci["digest"], "sha256:ac336651fca2240140126c56a6ec25b80d273dfab"
                           "ef8f755a856dc5db47ac41e");
  EXPECT_EQ(oci["size"], 401);
  EXPECT_EQ(oci["push_time"], "2026-11-27T23:01:07.134Z");
  // The last pull of it was the GET answered 404 (fixture 16).
  EXPECT_EQ(oci["pull_time"], "2026-11-27T23:01:33.562Z");
  ASSERT_EQ(oci["tags"].size(), 1u);
  EXPECT_EQ(oci["tags"][0]["name"], "1.0");
  auto v2 = by_type["application/vnd.docker.distribution.manifest.v2+json"];
  EXPECT_EQ(v2["tags"][0]["name"], "1.0-v2s2");
  EXPECT_EQ(v2["pull_time"], "0001-01-01T00:00:00.000Z");
  auto logs = api("/api/v2.0/audit-logs?operation=push");
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0]["resource"], "library/hello:1.0-v2s2");
  EXPECT_EQ(logs[0]["resource_type"], "artifact");
}

TEST_F(effects, every_fixture_delivered_three_times_gives_the_same_rows) {
  start();
  auto c = daemon_->client();
  for (const auto& name : registry_fixture_names())
    ASSERT_EQ(c.notify(registry_fixture(name)).status, 200u);
  ASSERT_TRUE(drained());
  auto once = snapshot();
  for (int round = 0; round < 2; ++round)
    for (const auto& name : registry_fixture_names()) {
      auto a = c.notify(registry_fixture(name));
      ASSERT_EQ(a.status, 200u);
      EXPECT_EQ(json::parse(a.body)["duplicates"], 1) << name;
    }
  ASSERT_TRUE(drained());
  EXPECT_EQ(snapshot(), once);
}

TEST_F(effects, a_commit_that_fails_twice_is_retried_and_applied_once) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  start("effects:\n  retry:\n    attempts: 5\n    base_ms: 10\n    "
        "max_ms: 50\n",
        {{"REGEVENT_FAULT_INJECTION", "pull_counter:fail:2"}});
  auto a = daemon_->client().notify(
      registry_fixture("04-pull-manifest-by-tag.json"));
  ASSERT_EQ(a.status, 200u);
  ASSERT_TRUE(drained());
  EXPECT_EQ(count("SELECT pull_count FROM pull_counts"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM dead_letters"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE status = 'done'"), 1);
  auto m = daemon_->client().request("GET", "/metrics").body;
  EXPECT_NE(m.find("regevent_effect_events_total{effect=\"pull_counter\","
                   "outcome=\"retried\"} 2"),
            std::string::npos)
      << m;
}

TEST_F(effects, an_effect_that_always_fails_is_dead_lettered_and_replayed) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  start("effects:\n  retry:\n    attempts: 3\n    base_ms: 10\n    "
        "max_ms: 20\n",
        {{"REGEVENT_FAULT_INJECTION", "artifacts:fail:3"}});
  auto c = daemon_->client();
  ASSERT_EQ(c.notify(registry_fixture("03-push-manifest-oci-tag.json")).status,
            200u);
  // The event is marked dead with its dead letter, possibly before the
  // other effects of the event commit: wait for all of it.
  ASSERT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM events WHERE status = 'dead'") == 1
           && count("SELECT COUNT(*) FROM access_logs") == 1
           && count("SELECT COUNT(*) FROM repositories") == 1;
  })) << "dead: "
      << count("SELECT COUNT(*) FROM events WHERE status = 'dead'")
      << ", access logs: " << count("SELECT COUNT(*) FROM access_logs")
      << ", repositories: " << count("SELECT COUNT(*) FROM repositories");
  // The other effects of the event applied; the failed one waits.
  EXPECT_EQ(count("SELECT COUNT(*) FROM artifacts"), 0);
  auto letters = api("/api/v2.0/dead-letters");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0]["effect"], "artifacts");
  EXPECT_EQ(letters[0]["attempts"], 3);
  EXPECT_NE(letters[0]["error"].get<std::string>().find("injected_fault"),
            std::string::npos);
  // The fault budget is spent: a replay applies the missing effect once.
  auto id = std::to_string(letters[0]["id"].get<long long>());
  auto replay = c.request("POST", "/api/v2.0/dead-letters/" + id + "/replay",
                          {}, {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(replay.status, 202u) << replay.body;
  ASSERT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM events WHERE status = 'done'") == 1;
  }));
  EXPECT_EQ(count("SELECT COUNT(*) FROM artifacts"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM repositories"), 1);
}

TEST_F(effects, an_effect_that_throws_is_restarted_and_the_event_applied) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  start("effects:\n  retry:\n    base_ms: 10\n    max_ms: 20\n",
        {{"REGEVENT_FAULT_INJECTION", "artifacts:throw:1"}});
  ASSERT_EQ(daemon_->client()
                .notify(registry_fixture("03-push-manifest-oci-tag.json"))
                .status,
            200u);
  ASSERT_TRUE(drained());
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE status = 'done'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM artifacts"), 1);
  auto m = daemon_->client().request("GET", "/metrics").body;
  EXPECT_NE(m.find("regevent_supervisor_restarts_total 1"), std::string::npos);
  EXPECT_EQ(daemon_->client().request("GET", "/readyz").status, 200u);
}

TEST_F(effects, a_journal_that_dies_is_restarted_and_nothing_is_lost) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  // The journal dies in its fourth commit, whatever that holds: appends
  // (answered 503, sent again like the registry does) or final states
  // (lost with it; the events are finished again once their one-second
  // claims expire).
  start("dispatch:\n  claim_lease_ms: 1000\nfault_injection:\n  effect: "
        "journal\n  mode: throw\n  count: 1\n  skip: 3\n");
  auto c = daemon_->client();
  size_t refused = 0;
  for (const auto& name : registry_fixture_names()) {
    auto body = registry_fixture(name);
    http_answer a;
    // Sent again until accepted, as a registry does after a 503.
    poll_until([&] {
      a = c.notify(body);
      if (a.status == 200u)
        return true;
      EXPECT_EQ(a.status, 503u) << name << " " << a.body;
      ++refused;
      return false;
    });
    ASSERT_EQ(a.status, 200u) << name << " " << a.body;
  }
  ASSERT_TRUE(drained()) << daemon_->log();
  EXPECT_NE(daemon_->log().find("root restarts the journal"), std::string::npos)
      << daemon_->log();
  auto m = c.request("GET", "/metrics").body;
  EXPECT_NE(m.find("regevent_supervisor_restarts_total 1"), std::string::npos)
      << m;
  EXPECT_EQ(c.request("GET", "/readyz").status, 200u);
  // The same rows as a daemon without the crash: nothing lost, nothing
  // twice.
  auto crashed = snapshot();
  temp_dir clean_dir;
  daemon_ = std::make_unique<daemon_process>(clean_dir, "");
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  for (const auto& name : registry_fixture_names())
    ASSERT_EQ(daemon_->client().notify(registry_fixture(name)).status, 200u);
  ASSERT_TRUE(drained());
  EXPECT_EQ(crashed, snapshot());
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 17);
  daemon_.reset(); // Before its folder goes.
  std::cout << "answers refused while the journal restarted: " << refused
            << "\n";
}

TEST_F(effects, an_exhausted_restart_budget_turns_readyz_503) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  start("effects:\n  restart:\n    max_restarts: 2\n    window_s: 600\n  "
        "retry:\n    attempts: 10\n    base_ms: 10\n    max_ms: 20\n",
        {{"REGEVENT_FAULT_INJECTION", "artifacts:throw:100"}});
  ASSERT_EQ(daemon_->client()
                .notify(registry_fixture("03-push-manifest-oci-tag.json"))
                .status,
            200u);
  ASSERT_TRUE(poll_until([&] {
    return daemon_->client().request("GET", "/readyz").status == 503u;
  }));
  auto r = daemon_->client().request("GET", "/readyz");
  EXPECT_NE(r.body.find("artifacts"), std::string::npos) << r.body;
  // Nothing is dropped silently: the effect ends in a dead letter.
  ASSERT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM dead_letters WHERE effect = "
                 "'artifacts'")
           == 1;
  }));
}

TEST_F(effects, unknown_projects_are_skipped_under_skip) {
  start("filter:\n  unknown_project: skip\n");
  auto c = daemon_->client();
  auto created
      = c.request("POST", "/api/v2.0/projects", "{\"project_name\":\"known\"}",
                  {{"Authorization", "Bearer " + admin},
                   {"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201u) << created.body;
  event_spec known;
  known.id = "k-1";
  known.action = "push";
  known.repository = "known/app";
  known.method = "PUT";
  event_spec unknown = known;
  unknown.id = "u-1";
  unknown.repository = "unknown/app";
  ASSERT_EQ(
      c.notify(envelope_json({event_json(known), event_json(unknown)})).status,
      200u);
  ASSERT_TRUE(drained());
  EXPECT_EQ(count("SELECT COUNT(*) FROM repositories WHERE name = "
                  "'known/app'"),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM repositories"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE id = 'u-1' AND status = "
                  "'ignored' AND reason = 'unknown project unknown'"),
            1);
  // The push of known/app; the project's creation is audited apart.
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs WHERE resource_type = "
                  "'artifact'"),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs WHERE resource_type = "
                  "'project' AND resource = 'known' AND username = 'admin'"),
            1);
}

// Started next to a registry that already holds images, regevent sees
// only pulls (and deletes) of them: they make the project, the repository,
// the artifact and the tag visible, with no push time invented.
TEST_F(effects, pulls_and_deletes_of_unknown_repositories_make_them_visible) {
  start();
  auto c = daemon_->client();
  constexpr int repositories = 50, pulls_each = 18;
  std::vector<std::string> batch;
  auto digest_of = [](int r) {
    auto hex = std::to_string(1000 + r);
    return "sha256:" + std::string(60, 'a') + hex;
  };
  for (int i = 0; i < repositories * pulls_each; ++i) {
    event_spec e;
    e.id = "pull-" + std::to_string(i);
    e.repository = "many/r" + std::to_string(i % repositories);
    e.digest = digest_of(i % repositories);
    batch.push_back(event_json(e));
    if (batch.size() == 60) {
      ASSERT_EQ(c.notify(envelope_json(batch)).status, 200u);
      batch.clear();
    }
  }
  event_spec gone;
  gone.id = "delete-unknown";
  gone.action = "delete";
  gone.method = "DELETE";
  gone.repository = "many/deleted";
  gone.tag.clear();
  batch.push_back(event_json(gone));
  ASSERT_EQ(c.notify(envelope_json(batch)).status, 200u);
  ASSERT_TRUE(drained());
  auto repos = api("/api/v2.0/projects/many/repositories?page_size=100");
  ASSERT_EQ(repos.size(), static_cast<size_t>(repositories + 1)) << repos;
  for (const auto& r : repos) {
    if (r["name"] == "many/deleted") {
      EXPECT_EQ(r["artifact_count"], 0);
      EXPECT_EQ(r["pull_count"], 0);
      continue;
    }
    EXPECT_EQ(r["pull_count"], pulls_each) << r;
    EXPECT_EQ(r["artifact_count"], 1) << r;
  }
  auto artifacts = api("/api/v2.0/projects/many/repositories/r7/artifacts");
  ASSERT_EQ(artifacts.size(), 1u) << artifacts;
  EXPECT_EQ(artifacts[0]["digest"], digest_of(7));
  EXPECT_EQ(artifacts[0]["media_type"],
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(artifacts[0]["push_time"], "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(artifacts[0]["pull_time"], "2026-11-27T23:01:07.134Z");
  ASSERT_EQ(artifacts[0]["tags"].size(), 1u);
  EXPECT_EQ(artifacts[0]["tags"][0]["name"], "latest");
  EXPECT_EQ(artifacts[0]["tags"][0]["push_time"], "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(count("SELECT COUNT(*) FROM projects WHERE name = 'many'"), 1);
}

TEST_F(effects, a_repository_without_slash_belongs_to_the_default_project) {
  start("filter:\n  default_project: main\n");
  event_spec e;
  e.id = "noslash";
  e.action = "push";
  e.repository = "hello";
  ASSERT_EQ(daemon_->client().notify(envelope_json({event_json(e)})).status,
            200u);
  ASSERT_TRUE(drained());
  EXPECT_EQ(count("SELECT COUNT(*) FROM repositories WHERE project = 'main'"),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM projects WHERE name = 'main'"), 1);
}

TEST_F(effects, retention_purges_old_access_logs) {
  start("retention:\n  access_log_days: 1\n  purge_interval_s: 1\n  "
        "purge_batch: 2\n");
  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i) {
    event_spec old;
    old.id = "old-" + std::to_string(i);
    old.timestamp = "2020-01-01T00:00:00Z";
    events.push_back(event_json(old));
  }
  event_spec fresh;
  fresh.id = "fresh";
  fresh.timestamp = "2099-01-01T00:00:00Z";
  events.push_back(event_json(fresh));
  ASSERT_EQ(daemon_->client().notify(envelope_json(events)).status, 200u);
  ASSERT_TRUE(drained());
  EXPECT_TRUE(poll_until(
      [&] { return count("SELECT COUNT(*) FROM access_logs") == 1; }));
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs WHERE event_id = "
                  "'fresh'"),
            1);
}

TEST_F(effects, finished_events_are_compacted_then_forgotten) {
  const std::string retention = "retention:\n  journal_days: 7\n  dedup_days: "
                                "30\n  purge_interval_s: 1\n  purge_batch: "
                                "2\n";
  start(retention);
  std::vector<std::string> events;
  for (const auto* id : {"month-old", "week-old", "today"}) {
    event_spec e;
    e.id = id;
    e.action = "pull";
    events.push_back(event_json(e));
  }
  ASSERT_EQ(daemon_->client().notify(envelope_json(events)).status, 200u);
  ASSERT_TRUE(drained());
  // A pull has marks of the effects that apply to it.
  const auto marks_per_pull
      = count("SELECT COUNT(*) FROM effect_marks WHERE event_seq = (SELECT "
              "seq FROM events WHERE id = 'week-old')");
  ASSERT_GT(marks_per_pull, 0);
  // The daemon stamps what it receives with its own clock: age the rows
  // by hand while it is down, as if days had passed.
  ASSERT_EQ(daemon_->stop(), 0);
  constexpr long long day_us = 86'400'000'000LL;
  auto db = daemon_->database_path();
  sql_exec(db, "UPDATE events SET received_at = received_at - "
                   + std::to_string(31 * day_us) + " WHERE id = 'month-old'");
  sql_exec(db, "UPDATE events SET received_at = received_at - "
                   + std::to_string(8 * day_us) + " WHERE id = 'week-old'");
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM events WHERE id = 'month-old'") == 0;
  })) << daemon_->log();
  EXPECT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM events WHERE id = 'week-old' AND "
                 "raw = ''")
           == 1;
  })) << daemon_->log();
  // The compacted event lost its marks; the forgotten one's went with it:
  // what is left are the marks of today's event.
  EXPECT_EQ(count("SELECT COUNT(*) FROM effect_marks WHERE event_seq = "
                  "(SELECT seq FROM events WHERE id = 'week-old')"),
            0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM effect_marks WHERE event_seq = "
                  "(SELECT seq FROM events WHERE id = 'today')"),
            marks_per_pull);
  EXPECT_EQ(count("SELECT COUNT(*) FROM effect_marks"), marks_per_pull);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE id = 'today' AND raw "
                  "<> ''"),
            1);
  auto pulls = count("SELECT SUM(pull_count) FROM pull_counts");
  // Delivered again: the compacted event is still a duplicate; the
  // forgotten one is new again, and counted (the documented trade).
  std::vector<std::string> again;
  for (const auto* id : {"month-old", "week-old"}) {
    event_spec e;
    e.id = id;
    e.action = "pull";
    again.push_back(event_json(e));
  }
  auto answer = daemon_->client().notify(envelope_json(again));
  ASSERT_EQ(answer.status, 200u);
  EXPECT_EQ(json::parse(answer.body)["accepted"], 1) << answer.body;
  ASSERT_TRUE(drained());
  EXPECT_EQ(count("SELECT SUM(pull_count) FROM pull_counts"), pulls + 1);
}

TEST_F(effects, the_management_api_checks_tokens_and_parameters) {
  start();
  auto c = daemon_->client();
  EXPECT_EQ(c.get("/api/v2.0/projects").status, 401u);
  EXPECT_EQ(c.get("/api/v2.0/projects", "wrong").status, 403u);
  EXPECT_EQ(c.get("/api/v2.0/projects?page=0", admin).status, 400u);
  // Harbor's bound on page_size, as go-swagger answers past it.
  EXPECT_EQ(c.get("/api/v2.0/projects?page_size=101", admin).status, 422u);
  EXPECT_EQ(c.get("/api/v2.0/projects/nope", admin).status, 404u);
  EXPECT_EQ(c.get("/api/v2.0/projects/nope/repositories", admin).status, 404u);
  EXPECT_EQ(c.get("/api/v2.0/audit-logs?operation=fly", admin).status, 400u);
  auto bad = c.request("POST", "/api/v2.0/projects", "{",
                       {{"Authorization", "Bearer " + admin}});
  EXPECT_EQ(bad.status, 400u);
  auto err = json::parse(bad.body);
  EXPECT_TRUE(err["errors"][0]["code"].is_string());
  EXPECT_TRUE(err["errors"][0]["message"].is_string());
}

// sha256sum of "reader-secret-token" and "ops-secret-token"; the daemon
// knows only these.
const std::string reader_sha
    = "00505bee9fcd64666a3227ec7b5dc33b6d89d85e4ffc43c9796b7633a1b60936";
const std::string ops_sha
    = "94ed6916cae590cc10702d4d18cd55d814ae96403f1cc883a06482e4155c15d4";

TEST_F(effects, api_tokens_have_roles_and_failed_logins_are_limited) {
  // More keys of the fixture's `auth:` section; every request logged.
  start("  notify_token: notify-secret\n  api_tokens: [\"ci:read:"
        + reader_sha + "\", \"ops:admin:" + ops_sha
        + "\"]\n  max_failures: 3\n  failure_window_s: 30\nlog:\n  level: "
          "debug\n");
  auto c = daemon_->client();
  auto as = [&](const std::string& token, const std::string& method) {
    return c.request(method, "/api/v2.0/projects",
                     method == "POST" ? "{\"project_name\":\"p-" + token + "\"}"
                                      : std::string(),
                     {{"Authorization", "Bearer " + token},
                      {"Content-Type", "application/json"}});
  };
  // The plain admin token of the single-token setup still works.
  EXPECT_EQ(as(admin, "GET").status, 200u);
  // A read token reads, and may not write.
  EXPECT_EQ(as("reader-secret-token", "GET").status, 200u);
  auto refused = as("reader-secret-token", "POST");
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("'ci' has the read role"), std::string::npos)
      << refused.body;
  for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS"})
    EXPECT_EQ(as("reader-secret-token", method).status, 403u) << method;
  EXPECT_EQ(as("ops-secret-token", "POST").status, 201u);
  // The configured hash is no token.
  EXPECT_EQ(as(reader_sha, "GET").status, 403u);
  // Three failures in the window (the one above and two more), then 429
  // for anything from this address, a right token included.
  EXPECT_EQ(as("guess-1", "GET").status, 403u);
  EXPECT_EQ(as("guess-2", "GET").status, 403u);
  auto limited = as("guess-3", "GET");
  EXPECT_EQ(limited.status, 429u) << limited.body;
  auto wait = std::stoi(limited.headers["Retry-After"]);
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 30);
  EXPECT_EQ(as("ops-secret-token", "GET").status, 429u);
  // The notification endpoint limits this address too, before looking
  // at its token...
  event_spec e;
  e.id = "while-limited";
  EXPECT_EQ(c.notify(envelope_json({event_json(e)}), "wrong").status, 429u);
  EXPECT_EQ(c.notify(envelope_json({event_json(e)}), "notify-secret").status,
            429u);
  ASSERT_EQ(daemon_->stop(), 0);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  // ...but an address that sent the right token is always heard: someone
  // guessing from the registry's address never slows it.
  auto registry = daemon_->client();
  EXPECT_EQ(
      registry.notify(envelope_json({event_json(e)}), "notify-secret").status,
      200u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(registry.notify(envelope_json({event_json(e)}), "wrong").status,
              401u);
  EXPECT_EQ(
      registry.notify(envelope_json({event_json(e)}), "notify-secret").status,
      200u);
  // Nothing secret reached the log, which holds every request line.
  auto log = daemon_->log();
  EXPECT_NE(log.find("http api GET /api/v2.0/projects"), std::string::npos);
  for (const char* secret :
       {"reader-secret-token", "ops-secret-token", "notify-secret",
        "admin-secret"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
}

TEST_F(effects, lists_are_paginated_with_total_count_and_link) {
  start();
  std::vector<std::string> events;
  for (int i = 0; i < 25; ++i) {
    event_spec e;
    e.id = "p-" + std::to_string(i);
    e.action = "push";
    e.method = "PUT";
    e.repository = "library/r" + std::to_string(100 + i);
    events.push_back(event_json(e));
  }
  // A nested repository name: {repo} carries its `/` percent-encoded.
  event_spec nested;
  nested.id = "nested";
  nested.action = "push";
  nested.repository = "library/team/app";
  events.push_back(event_json(nested));
  ASSERT_EQ(daemon_->client().notify(envelope_json(events)).status, 200u);
  ASSERT_TRUE(drained());
  auto c = daemon_->client();
  auto page2 = c.get(
      "/api/v2.0/projects/library/repositories?page=2&page_size=10", admin);
  ASSERT_EQ(page2.status, 200u);
  EXPECT_EQ(page2.headers["X-Total-Count"], "26");
  EXPECT_EQ(page2.headers["Link"],
            "</api/v2.0/projects/library/repositories?page=1&page_size=10>; "
            "rel=\"prev\", "
            "</api/v2.0/projects/library/repositories?page=3&page_size=10>; "
            "rel=\"next\"");
  // A decoded CR LF in a query value must not reach the header as one: it
  // would let a caller inject a header of its own.
  auto injected = c.get("/api/v2.0/projects/library/repositories?page=2&"
                        "page_size=10&x=a%0D%0AX-Injected:%201",
                        admin);
  ASSERT_EQ(injected.status, 200u);
  EXPECT_EQ(injected.headers.count("X-Injected"), 0u);
  EXPECT_NE(injected.headers["Link"].find("x=a%0D%0AX-Injected%3A%201&"),
            std::string::npos)
      << injected.headers["Link"];
  auto items = json::parse(page2.body);
  ASSERT_EQ(items.size(), 10u);
  EXPECT_EQ(items[0]["name"], "library/r110");
  auto repo
      = c.get("/api/v2.0/projects/library/repositories/team%2Fapp", admin);
  ASSERT_EQ(repo.status, 200u) << repo.body;
  EXPECT_EQ(json::parse(repo.body)["name"], "library/team/app");
  auto arts = c.get(
      "/api/v2.0/projects/library/repositories/team%2Fapp/artifacts", admin);
  ASSERT_EQ(arts.status, 200u);
  EXPECT_EQ(json::parse(arts.body).size(), 1u);
}

} // namespace
} // namespace regevent::test
