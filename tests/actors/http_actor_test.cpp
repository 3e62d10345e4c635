// Deterministic tests of the HTTP actor: backpressure decided on what the
// journal told it (never on shared state), a restarted journal that gets
// the appends and the subscription, and a shutdown answered only once the
// last dispatcher finished. The journal, recovery and supervisor here are
// test doubles (named so) that record what they get.

#include "actors/errors.hpp"
#include "actors/http_actor.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"

#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace regevent::test {
namespace {

/// What the doubles saw.
struct record {
  int subscribes = 0;
  int appends = 0;
  int wakeups = 0;
};

/// Test double of the journal: every appended event is new.
journal_actor::behavior_type recording_journal(journal_actor::pointer,
                                               std::shared_ptr<record> rec) {
  return {
      [rec](atom::append, std::vector<event_record>& xs, bool) {
        ++rec->appends;
        return xs;
      },
      [](atom::finish, std::vector<status_update>&) {},
      [](atom::dead, dead_letter&) { return true; },
      // Effects commit on their own in these tests, never here.
      [](atom::apply, effect_batch&) -> caf::result<effect_outcome> {
        return make_error(ec::effect_unavailable, "not a writer");
      },
      [](atom::resolve, const std::string&) -> caf::result<bool> {
        return make_error(ec::effect_unavailable, "not a writer");
      },
      // Nothing in these tests asks for writer jobs.
      [](atom::write, writer_job_handle&) -> caf::result<bool> {
        return make_error(ec::effect_unavailable, "not a writer");
      },
      [](atom::pending) -> uint64_t { return 0; },
      [](atom::replay, int64_t id) {
        return replay_result{id, "", false};
      },
      [rec](atom::subscribe, backlog_listener&) { ++rec->subscribes; },
      [](atom::flush) {},
      [](atom::tick) {},
  };
}

/// Test double of recovery.
recovery_actor::behavior_type recording_recovery(recovery_actor::pointer,
                                                 std::shared_ptr<record> rec) {
  return {
      [rec](atom::wakeup) { ++rec->wakeups; },
      [](atom::tick) {},
      [](atom::bind, journal_actor&) {},
      [](atom::shutdown) { return true; },
      [](atom::status) -> uint64_t { return 0; },
  };
}

struct http_actor_fixture : ::testing::Test {
  http_actor_fixture()
      : t(config_with_backlog_limit(10)), rec(std::make_shared<record>()) {
    journal = t.sys.spawn(recording_journal, rec);
    recovery = t.sys.spawn(recording_recovery, rec);
    sup = t.sys.spawn(silent_supervisor, 0);
    auto cfg = http_actor_config::from(t.rt);
    cfg.validate();
    http = t.sys.spawn(http_actor_impl, cfg, journal, recovery, sup);
    t.run();
  }

  ~http_actor_fixture() override {
    for (auto a : {caf::actor_cast<caf::actor>(http),
                   caf::actor_cast<caf::actor>(journal),
                   caf::actor_cast<caf::actor>(recovery),
                   caf::actor_cast<caf::actor>(sup)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    t.run();
  }

  static config config_with_backlog_limit(uint64_t limit) {
    auto c = default_config();
    c.ingest.max_backlog = limit;
    return c;
  }

  /// Sends one notification of `ids` and runs until it is answered.
  caf::expected<ingest_result> ingest(std::vector<std::string> ids) {
    std::optional<caf::expected<ingest_result>> answer;
    std::vector<event_record> events;
    for (const auto& id : ids)
      events.push_back(manifest_pull(id));
    caf::anon_send(http, atom::ingest_v,
                   ingest_request{std::move(events), 0,
                                  [&answer](caf::expected<ingest_result> x) {
                                    answer = std::move(x);
                                  }});
    t.run();
    if (!answer)
      return make_error(ec::database_error, "no answer");
    return std::move(*answer);
  }

  /// What the journal would tell.
  void tell(uint64_t backlog, bool database_ok) {
    caf::anon_send(http, atom::backlog_v, backlog, database_ok);
    t.run();
  }

  uint64_t busy() {
    uint64_t n = 0;
    t.self->send(http, atom::status_v);
    t.run();
    t.self->receive([&](uint64_t x) { n = x; },
                    [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return n;
  }

  actor_test t;
  std::shared_ptr<record> rec;
  journal_actor journal;
  recovery_actor recovery;
  supervisor_actor sup;
  http_actor http;
};

TEST_F(http_actor_fixture, subscribes_to_the_journal_at_start) {
  EXPECT_EQ(rec->subscribes, 1);
}

TEST_F(http_actor_fixture, a_full_backlog_is_refused_until_the_journal_says) {
  tell(10, true);
  auto refused = ingest({"a"});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::overloaded)) << describe(refused.error());
  EXPECT_EQ(rec->appends, 0);
  tell(9, true);
  auto accepted = ingest({"a"});
  ASSERT_TRUE(accepted) << describe(accepted.error());
  EXPECT_EQ(accepted->accepted, 1u);
  EXPECT_EQ(rec->appends, 1);
}

TEST_F(http_actor_fixture,
       a_database_outage_is_refused_until_the_journal_says) {
  tell(0, false);
  auto refused = ingest({"a"});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::database_unavailable))
      << describe(refused.error());
  EXPECT_EQ(rec->appends, 0);
  tell(0, true);
  EXPECT_TRUE(ingest({"a"}));
  EXPECT_EQ(rec->appends, 1);
}

TEST_F(http_actor_fixture,
       a_restarted_journal_gets_the_appends_and_a_subscribe) {
  auto rec2 = std::make_shared<record>();
  auto journal2 = t.sys.spawn(recording_journal, rec2);
  caf::anon_send(http, atom::bind_v, journal2);
  t.run();
  EXPECT_EQ(rec2->subscribes, 1);
  ASSERT_TRUE(ingest({"a", "b"}));
  EXPECT_EQ(rec2->appends, 1);
  EXPECT_EQ(rec->appends, 0);
  caf::anon_send_exit(journal2, caf::exit_reason::user_shutdown);
}

TEST_F(http_actor_fixture, shutdown_answers_once_the_last_dispatcher_finished) {
  ASSERT_TRUE(ingest({"a"}));
  // The batch went to a dispatcher, which waits for the silent supervisor.
  EXPECT_EQ(busy(), 1u);
  std::optional<bool> drained;
  t.self->send(http, atom::shutdown_v);
  t.run();
  // Not answered while the dispatcher lives.
  t.self->receive([&](bool x) { drained = x; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_FALSE(drained);
  // Past its timeout the dispatcher gives up (the event stays journaled).
  t.advance(std::chrono::milliseconds(
      http_actor_config::from(t.rt).journal_timeout.count() + 1));
  t.self->receive([&](bool x) { drained = x; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
  ASSERT_TRUE(drained);
  EXPECT_TRUE(*drained);
  EXPECT_EQ(busy(), 0u);
  // Draining, it refuses new work.
  auto refused = ingest({"b"});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::shutting_down));
}

} // namespace
} // namespace regevent::test
