// The real regeventd on a free loopback port with a temporary SQLite
// database: every status code of POST /service/notifications, duplicates,
// garbage, crash and graceful shutdown.

#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/faults.hpp"
#include "tests/fixtures/metrics.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <csignal>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

namespace regevent::test {
namespace {

using json = nlohmann::json;

std::string one_pull(const std::string& id) {
  event_spec e;
  e.id = id;
  return envelope_json({event_json(e)});
}

class ingest : public ::testing::Test {
protected:
  void start(const std::string& yaml = {},
             std::map<std::string, std::string> env = {}) {
    daemon_ = std::make_unique<daemon_process>(dir_, yaml, std::move(env));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  long long count(const std::string& query) {
    return sql_scalar(daemon_->database_path(), query);
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(ingest, accepts_a_registry_fixture_and_answers_the_counts) {
  start();
  auto c = daemon_->client();
  auto a = c.notify(registry_fixture("03-push-manifest-oci-tag.json"));
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(json::parse(a.body),
            json({{"accepted", 1}, {"duplicates", 0}, {"ignored", 0}}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE id = "
                  "'a2c3ad3b-d961-46f9-a0d8-7988ad6c1e30'"),
            1);
  EXPECT_FALSE(a.headers["X-Request-Id"].empty());
}

TEST_F(ingest, the_journal_keeps_each_event_as_the_registry_wrote_it) {
  // Audit and replay read the text the registry sent, not a re-encoding:
  // through HTTP, the envelope parser and the journal, byte for byte.
  start();
  auto c = daemon_->client();
  std::map<std::string, std::string> text_of_id;
  for (const auto& name : registry_fixture_names()) {
    auto body = registry_fixture(name);
    auto a = c.notify(body);
    ASSERT_EQ(a.status, 200u) << name << ": " << a.body;
    EXPECT_EQ(json::parse(a.body)["accepted"], 1) << name << ": " << a.body;
    auto id = json::parse(body)["events"][0]["id"].get<std::string>();
    text_of_id[id] = sole_event_text(body);
  }
  ASSERT_GE(text_of_id.size(), 17u);
  for (const auto& [id, text] : text_of_id)
    EXPECT_EQ(sql_text(daemon_->database_path(),
                       "SELECT raw FROM events WHERE id = :key", id),
              text)
        << id;
}

TEST_F(ingest, a_duplicate_delivery_is_counted_once) {
  start();
  auto c = daemon_->client();
  auto body = registry_fixture("retry-duplicate-same-event-id.json");
  auto first = c.notify(body);
  auto second = c.notify(body);
  ASSERT_EQ(first.status, 200u);
  ASSERT_EQ(second.status, 200u);
  EXPECT_EQ(json::parse(first.body)["accepted"], 1);
  EXPECT_EQ(json::parse(second.body)["accepted"], 0);
  EXPECT_EQ(json::parse(second.body)["duplicates"], 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 1);
}

TEST_F(ingest, duplicates_inside_one_envelope_are_counted_once) {
  start();
  event_spec e;
  e.id = "same-id";
  auto a
      = daemon_->client().notify(envelope_json({event_json(e), event_json(e)}));
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(json::parse(a.body),
            json({{"accepted", 1}, {"duplicates", 1}, {"ignored", 0}}));
}

TEST_F(ingest, unusable_events_are_ignored_without_rejecting_the_batch) {
  start();
  event_spec good;
  good.id = "good-1";
  auto body = "{\"events\":[" + event_json(good)
              + ",{\"action\":\"push\"},{\"id\":\"x\",\"action\":\"fly\","
                "\"target\":{\"repository\":\"a/b\"}},{\"id\":\"y\","
                "\"action\":\"pull\"},42]}";
  auto a = daemon_->client().notify(body);
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(json::parse(a.body),
            json({{"accepted", 1}, {"duplicates", 0}, {"ignored", 4}}));
}

TEST_F(ingest, an_empty_events_array_is_accepted) {
  start();
  auto a = daemon_->client().notify("{\"events\":[]}");
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(json::parse(a.body)["accepted"], 0);
}

TEST_F(ingest, malformed_bodies_get_400_with_a_reason) {
  start();
  auto c = daemon_->client();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "empty body"},
      {"{\"events\":[", "invalid JSON"},
      {"[1,2]", "JSON object"},
      {"{\"foo\":1}", "no \"events\" array"},
      {"{\"events\":{}}", "must be an array"},
      {std::string(10'000, '[') + std::string(10'000, ']'), "nesting"},
  };
  for (const auto& [body, reason] : cases) {
    auto a = c.notify(body);
    EXPECT_EQ(a.status, 400u) << body.substr(0, 40);
    auto message = json::parse(a.body)["errors"][0]["message"];
    ASSERT_TRUE(message.is_string()) << a.body;
    EXPECT_NE(message.get<std::string>().find(reason), std::string::npos)
        << a.body;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 0);
}

TEST_F(ingest, wrong_content_type_gets_415) {
  start();
  auto c = daemon_->client();
  auto a = c.request("POST", "/service/notifications", one_pull("ct-1"),
                     {{"Content-Type", "text/plain"}});
  EXPECT_EQ(a.status, 415u);
  auto none = c.request("POST", "/service/notifications", one_pull("ct-2"));
  EXPECT_EQ(none.status, 415u);
  for (auto type : {"application/json", "application/json; charset=utf-8",
                    "application/vnd.docker.distribution.events.v2+json"}) {
    auto ok = c.request("POST", "/service/notifications",
                        one_pull(std::string("ct-") + type),
                        {{"Content-Type", type}});
    EXPECT_EQ(ok.status, 200u) << type;
  }
}

TEST_F(ingest, a_body_over_the_limit_gets_413_and_the_daemon_keeps_serving) {
  start("http:\n  body_limit: 2048\n");
  auto c = daemon_->client();
  std::string at_limit = one_pull("limit-ok");
  at_limit += std::string(2048 - at_limit.size(), ' ');
  EXPECT_EQ(c.notify(at_limit).status, 200u);
  auto over = c.notify(at_limit + " ");
  EXPECT_EQ(over.status, 413u);
  EXPECT_EQ(daemon_->client().notify(one_pull("after-413")).status, 200u);
}

TEST_F(ingest, a_notify_token_is_required_when_configured) {
  start("auth:\n  notify_token: s3cret\n");
  auto c = daemon_->client();
  auto none = c.notify(one_pull("auth-1"));
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer realm=\"regevent\"");
  EXPECT_EQ(c.notify(one_pull("auth-2"), "wrong").status, 401u);
  EXPECT_EQ(c.notify(one_pull("auth-3"), "s3cret").status, 200u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 1);
}

TEST_F(ingest, the_notify_token_can_come_from_a_file) {
  write_file(dir_.file("token"), "from-file\n");
  start({}, {{"REGEVENT_NOTIFY_TOKEN_FILE", dir_.file("token")}});
  auto c = daemon_->client();
  EXPECT_EQ(c.notify(one_pull("f-1"), "from-file").status, 200u);
  EXPECT_EQ(c.notify(one_pull("f-2"), "other").status, 401u);
}

TEST_F(ingest, backlog_over_the_limit_gets_503_with_retry_after) {
  // Paused effects keep every event pending: the backlog only grows.
  start("effects:\n  paused: true\ningest:\n  max_backlog: 2\n  "
        "retry_after_s: 7\n");
  auto c = daemon_->client();
  EXPECT_EQ(c.notify(one_pull("b-1")).status, 200u);
  EXPECT_EQ(c.notify(one_pull("b-2")).status, 200u);
  auto full = c.notify(one_pull("b-3"));
  EXPECT_EQ(full.status, 503u);
  EXPECT_EQ(full.headers["Retry-After"], "7");
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 2);
}

TEST_F(ingest, other_methods_and_routes) {
  start();
  auto c = daemon_->client();
  auto get = c.request("GET", "/service/notifications");
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.headers["Allow"], "POST");
  EXPECT_EQ(c.request("GET", "/nope").status, 404u);
  EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
  EXPECT_EQ(c.request("GET", "/readyz").status, 200u);
}

TEST_F(ingest, a_request_id_is_echoed_or_generated) {
  start();
  auto c = daemon_->client();
  auto given = c.request("GET", "/healthz", {}, {{"X-Request-Id", "abc-1"}});
  EXPECT_EQ(given.headers["X-Request-Id"], "abc-1");
  auto a = c.request("GET", "/healthz");
  auto b = c.request("GET", "/healthz");
  EXPECT_FALSE(a.headers["X-Request-Id"].empty());
  EXPECT_NE(a.headers["X-Request-Id"], b.headers["X-Request-Id"]);
}

TEST_F(ingest, metrics_count_requests_events_and_commits_exactly) {
  start();
  auto c = daemon_->client();
  auto pull = [](const std::string& id) {
    event_spec e;
    e.id = id;
    return event_json(e);
  };
  // 7 events accepted in 4 envelopes, 2 duplicates in a fifth, 2 bodies
  // refused before the journal.
  ASSERT_EQ(c.notify(envelope_json(
                         {pull("m-0"), pull("m-1"), pull("m-2"), pull("m-3")}))
                .status,
            200u);
  for (const char* id : {"m-4", "m-5", "m-6"})
    ASSERT_EQ(c.notify(one_pull(id)).status, 200u);
  ASSERT_EQ(c.notify(envelope_json({pull("m-0"), pull("m-5")})).status, 200u);
  ASSERT_EQ(c.notify("not json").status, 400u);
  ASSERT_EQ(c.notify("{\"events\":[").status, 400u);

  std::string t;
  auto value = [&](const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
    return metric_value(t, name, labels).value_or(-1);
  };
  // The effects finish after the answers: wait until every accepted event
  // is done and its final state committed.
  bool settled = poll_until([&] {
    auto m = c.request("GET", "/metrics");
    t = m.body;
    return m.status == 200u && value("regevent_events_done_total") == 7
           && value("regevent_backlog_events") == 0;
  });
  ASSERT_TRUE(settled) << t;
  EXPECT_EQ(value("regevent_events_total", {{"outcome", "accepted"}}), 7) << t;
  EXPECT_EQ(value("regevent_events_total", {{"outcome", "duplicate"}}), 2);
  EXPECT_EQ(value("regevent_events_total", {{"outcome", "ignored"}}), 0);
  EXPECT_EQ(value("regevent_events_dead_total"), 0);
  EXPECT_EQ(value("regevent_http_requests_total",
                  {{"route", "notifications"}, {"code", "200"}}),
            5);
  EXPECT_EQ(value("regevent_http_requests_total",
                  {{"route", "notifications"}, {"code", "400"}}),
            2);
  // Five requests reached the journal, however they were grouped.
  EXPECT_EQ(value("regevent_journal_batch_size_sum"), 5);
  EXPECT_GE(value("regevent_journal_commits_total"), 1);
  // Every commit is timed. A background commit (the journal's own state)
  // may land between the counter and the histogram of one scrape: the two
  // agree on a scrape between commits, and a missing observation never
  // would.
  EXPECT_TRUE(poll_until([&] {
    t = c.request("GET", "/metrics").body;
    return value("regevent_journal_commit_seconds_count")
           == value("regevent_journal_commits_total");
  })) << t;
  EXPECT_EQ(value("regevent_journal_commit_failures_total"), 0);
  auto m = c.request("GET", "/metrics");
  EXPECT_NE(m.headers["Content-Type"].find("text/plain"), std::string::npos);
}

TEST_F(ingest, ten_thousand_garbage_requests_leave_it_serving) {
  start();
  std::mt19937 gen(42);
  auto c = daemon_->client();
  int answered = 0;
  for (int i = 0; i < 10'000; ++i) {
    std::string body(static_cast<size_t>(gen() % 200), '\0');
    for (auto& ch : body)
      ch = static_cast<char>(gen() % 256);
    switch (i % 4) {
      case 0: { // random bytes as a notification body
        auto a = c.notify(body);
        answered += a.status == 400u;
        if (i < 8) {
          EXPECT_EQ(a.status, 400u) << a.error << " " << a.body;
        }
        break;
      }
      case 1: // JSON that is not an envelope
        answered += c.notify("{\"events\":" + std::to_string(i) + "}").status
                    == 400u;
        break;
      case 2: // wrong types everywhere
        answered += c.notify("{\"events\":[{\"id\":" + std::to_string(i)
                             + ",\"action\":[],\"target\":\"x\"}]}")
                        .status
                    == 200u;
        break;
      default: // a wrong method
        answered
            += c.request("PUT", "/service/notifications", body).status == 405u;
    }
  }
  EXPECT_EQ(answered, 10'000);
  // Broken HTTP on raw connections, a few hundred times.
  for (int i = 0; i < 300; ++i) {
    auto out = c.raw(i % 2 ? "GARBAGE\r\n\r\n"
                           : "POST / HTTP/1.1\r\nContent-"
                             "Length: x\r\n\r\n",
                     1000);
    EXPECT_NE(out.find("400"), std::string::npos) << out;
  }
  auto ok = daemon_->client().notify(one_pull("after-garbage"));
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(daemon_->client().request("GET", "/healthz").status, 200u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 1);
}

TEST_F(ingest, a_journaled_event_survives_sigkill_and_is_recovered) {
  // Paused effects: the event is journaled but not dispatched yet.
  start("effects:\n  paused: true\n");
  auto a = daemon_->client().notify(
      registry_fixture("04-pull-manifest-by-tag.json"));
  ASSERT_EQ(a.status, 200u);
  daemon_->kill_hard();
  // The id of fixture 04.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE id = "
                  "'c78a751d-af13-4dbc-b269-663835ee86de' AND status = "
                  "'pending'"),
            1);
  // Restarted without the pause: recovery dispatches it.
  daemon_process again(dir_);
  ASSERT_TRUE(again.start()) << again.log();
  EXPECT_TRUE(poll_until([&] {
    return count("SELECT COUNT(*) FROM events WHERE id = "
                 "'c78a751d-af13-4dbc-b269-663835ee86de' AND status = "
                 "'done'")
           == 1;
  }));
  EXPECT_EQ(count("SELECT COUNT(*) FROM access_logs"), 1);
  EXPECT_EQ(count("SELECT pull_count FROM pull_counts WHERE repository = "
                  "'library/hello'"),
            1);
}

TEST_F(ingest, the_sqlite_wal_is_truncated_past_its_limit) {
  if (testing_postgresql())
    GTEST_SKIP() << "a SQLite file property";
  start("database:\n  url: sqlite://" + dir_.file("wal.db")
        + "\n  wal_limit_bytes: 1048576\n");
  std::vector<std::string> events;
  for (int i = 0; i < 3000; ++i) {
    event_spec e;
    e.id = "wal-" + std::to_string(i);
    events.push_back(event_json(e));
    if (events.size() == 100) {
      ASSERT_EQ(daemon_->client().notify(envelope_json(events)).status, 200u);
      events.clear();
    }
  }
  auto wal = dir_.file("wal.db") + "-wal";
  // 3 000 events of ~1.5 KB went through the WAL, and more for their
  // effects; once quiet, the journal's tick cuts it back.
  EXPECT_TRUE(poll_until([&] {
    std::error_code ec;
    auto size = std::filesystem::file_size(wal, ec);
    return !ec && size < (1u << 20);
  }));
  EXPECT_EQ(sql_scalar("sqlite://" + dir_.file("wal.db"),
                       "SELECT COUNT(*) FROM events"),
            3000);
}

TEST_F(ingest, sigterm_drains_and_exits_zero) {
  start("shutdown:\n  grace_period_ms: 5000\n");
  auto c = daemon_->client();
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(c.notify(one_pull("term-" + std::to_string(i))).status, 200u);
  daemon_->signal(SIGTERM);
  EXPECT_EQ(daemon_->wait_exit(std::chrono::seconds(10)), 0) << daemon_->log();
  // Drained: nothing accepted is left pending.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE status = 'done'"), 50);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE claimed_by <> ''"), 0);
}

TEST_F(ingest, readyz_is_503_while_shutting_down) {
  REGEVENT_REQUIRE_FAULT_INJECTION();
  // A dispatcher held by an effect that keeps failing holds the daemon in
  // its grace period; the listener is closed by then, so the question goes
  // on a connection opened before the signal.
  start("shutdown:\n  grace_period_ms: 5000\neffects:\n  retry:\n    "
        "attempts: 1000\n    base_ms: 50\n    max_ms: 50\n",
        {{"REGEVENT_FAULT_INJECTION", "access_log:fail:1000"}});
  auto c = daemon_->client();
  ASSERT_EQ(c.notify(one_pull("held")).status, 200u);
  ASSERT_EQ(c.request("GET", "/readyz").status, 200u);
  daemon_->signal(SIGTERM);
  http_answer r;
  ASSERT_TRUE(poll_until([&] {
    r = c.request("GET", "/readyz");
    return r.status != 200u;
  }));
  // An answer, not a refused or closed connection.
  ASSERT_EQ(r.status, 503u) << r.error;
  auto body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["errors"][0]["code"], "NOT_READY") << r.body;
  EXPECT_EQ(body["errors"][0]["message"], "shutting down") << r.body;
  EXPECT_EQ(daemon_->wait_exit(std::chrono::seconds(15)), 0) << daemon_->log();
  // Not finished within the grace period: still pending for the next start.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE status = 'pending'"), 1);
}

} // namespace
} // namespace regevent::test
