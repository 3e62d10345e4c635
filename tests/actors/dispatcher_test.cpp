// Deterministic tests of the dispatcher: routing, retry with exponential
// backoff on the test clock, dead-lettering, and retries that reach the
// instance that replaced a dead one. The journal, supervisor and effect
// actors here are test doubles (named so) that record what they get: the
// real ones block on SQLite on their own threads, which a deterministic
// scheduler cannot drive.

#include "actors/dispatcher.hpp"
#include "actors/errors.hpp"
#include "actors/filter.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"
#include "tests/fixtures/daemon.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

namespace regevent::test {
namespace {

/// What the doubles saw.
struct record {
  std::map<std::string, int> applies;  // effect -> requests received
  std::vector<status_update> finished; // journal finish messages
  std::vector<dead_letter> dead;       // dead letters stored
  int supervisor_gets = 0;
};

/// Test double of an effect actor: fails its first `failures` requests,
/// then succeeds.
effect_actor::behavior_type
scripted_effect(effect_actor::pointer, std::string name,
                std::shared_ptr<record> rec, int failures) {
  auto left = std::make_shared<int>(failures);
  return {
      [=](atom::apply, planned_event&) -> caf::result<bool> {
        ++rec->applies[name];
        if (*left > 0) {
          --*left;
          return make_error(ec::database_error, "scripted failure");
        }
        return true;
      },
      [](atom::resolve, const std::string&) { return true; },
      [](atom::flush) {},
      [](atom::bind, journal_actor&) {},
  };
}

/// Test double of an effect actor that never answers (a hung instance).
/// `name` is unused: CAF 0.17's spawn of a function without arguments
/// dereferences a null argument tuple (init_fun_factory.hpp), undefined
/// behaviour that UBSan stops on.
effect_actor::behavior_type silent_effect(effect_actor::pointer self,
                                          const std::string& /*name*/) {
  return {
      [self](atom::apply, planned_event&) -> caf::result<bool> {
        // Keep the promise and never deliver: the requester's timeout fires.
        return self->make_response_promise<bool>();
      },
      [](atom::resolve, const std::string&) { return true; },
      [](atom::flush) {},
      [](atom::bind, journal_actor&) {},
  };
}

/// Test double of the journal.
journal_actor::behavior_type recording_journal(journal_actor::pointer,
                                               std::shared_ptr<record> rec) {
  return {
      [](atom::append, std::vector<event_record>& xs,
         bool) -> std::vector<event_record> { return xs; },
      [rec](atom::finish, std::vector<status_update>& xs) {
        rec->finished.insert(rec->finished.end(), xs.begin(), xs.end());
      },
      [rec](atom::dead, dead_letter& x) {
        rec->dead.push_back(x);
        return true;
      },
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
      [](atom::subscribe, backlog_listener&) {},
      [](atom::flush) {},
      [](atom::tick) {},
  };
}

/// Test double of the supervisor: serves `initial` to new dispatchers and
/// `replacement` (when set) to retries, as after a restart.
supervisor_actor::behavior_type
fixed_supervisor(supervisor_actor::pointer, std::shared_ptr<record> rec,
                 effect_pools initial, effect_pools replacement) {
  return {
      [initial](atom::get) { return initial; },
      [rec, initial,
       replacement](atom::get, const std::string& effect,
                    const std::string&) -> caf::result<effect_actor> {
        ++rec->supervisor_gets;
        const auto& pools = replacement.pools.empty() ? initial : replacement;
        auto it = pools.pools.find(effect);
        if (it == pools.pools.end())
          return make_error(ec::effect_unavailable, effect);
        return it->second.front();
      },
      [](atom::bind, journal_actor&) {},
  };
}

config retry_config(uint32_t attempts) {
  auto c = default_config();
  c.effects.retry = {attempts, 100, 1000, 0.0};
  for (auto& [name, e] : c.effects.actors)
    e.request_timeout_ms = 500;
  return c;
}

class dispatcher_test : public ::testing::Test {
protected:
  explicit dispatcher_test(uint32_t attempts = 3)
      : t(retry_config(attempts)), rec(std::make_shared<record>()) {}

  effect_pools pools_with(int failures) {
    effect_pools p;
    for (const auto& name : effect_names())
      p.pools[name].push_back(
          t.sys.spawn(scripted_effect, name, rec, failures));
    return p;
  }

  void dispatch(effect_pools pools, std::vector<event_record> batch,
                effect_pools replacement = {}) {
    auto journal = t.sys.spawn(recording_journal, rec);
    auto sup = t.sys.spawn(fixed_supervisor, rec, std::move(pools),
                           std::move(replacement));
    t.sys.spawn(dispatcher, dispatcher_config::from(t.rt), journal, sup,
                std::move(batch));
    t.run();
  }

  std::string status_of(const std::string& id) {
    for (const auto& u : rec->finished)
      if (u.event_id == id)
        return u.status;
    return "";
  }

  actor_test t;
  std::shared_ptr<record> rec;
};

TEST_F(dispatcher_test, routes_each_kept_event_to_its_effects) {
  auto head = manifest_pull("head", "HEAD");
  auto blob = manifest_pull("blob", "GET");
  blob.media_type = "application/octet-stream";
  event_record push = manifest_pull("push", "PUT");
  push.action = "push";
  dispatch(pools_with(0), {manifest_pull("get", "GET"), head, blob, push});
  // GET pull: access log, repositories, artifacts, pull counter. HEAD
  // (touch): access log, repositories and artifacts. Push: access log,
  // repositories, artifacts. The blob is dropped.
  EXPECT_EQ(rec->applies["access_log"], 3);
  EXPECT_EQ(rec->applies["artifacts"], 3);
  EXPECT_EQ(rec->applies["pull_counter"], 1);
  EXPECT_EQ(rec->applies["repositories"], 3);
  EXPECT_EQ(status_of("get"), "done");
  EXPECT_EQ(status_of("head"), "done");
  EXPECT_EQ(status_of("push"), "done");
  EXPECT_EQ(status_of("blob"), "ignored");
  EXPECT_TRUE(rec->dead.empty());
}

TEST_F(dispatcher_test, a_disabled_effect_is_not_requested) {
  auto pools = pools_with(0);
  pools.pools.erase("pull_counter");
  dispatch(pools, {manifest_pull("get", "GET")});
  EXPECT_EQ(rec->applies["pull_counter"], 0);
  EXPECT_EQ(status_of("get"), "done");
}

TEST_F(dispatcher_test, failures_are_retried_with_exponential_backoff) {
  effect_pools pools;
  for (const auto& name : effect_names())
    pools.pools[name].push_back(t.sys.spawn(scripted_effect, name, rec,
                                            name == "pull_counter" ? 2 : 0));
  dispatch(pools, {manifest_pull("get", "GET")});
  EXPECT_EQ(rec->applies["pull_counter"], 1);
  EXPECT_TRUE(rec->finished.empty()); // waiting for the retry
  // No jitter: the first retry is due after exactly 100 ms.
  t.advance(std::chrono::milliseconds(99));
  EXPECT_EQ(rec->applies["pull_counter"], 1);
  t.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(rec->applies["pull_counter"], 2);
  // The second after 200 ms more.
  t.advance(std::chrono::milliseconds(199));
  EXPECT_EQ(rec->applies["pull_counter"], 2);
  t.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(rec->applies["pull_counter"], 3);
  EXPECT_EQ(status_of("get"), "done");
  EXPECT_EQ(rec->supervisor_gets, 2);
  EXPECT_TRUE(rec->dead.empty());
  EXPECT_EQ(t.rt.stats->effect("pull_counter").retried.Value(), 2u);
}

TEST_F(dispatcher_test, exhausted_attempts_go_to_dead_letters) {
  effect_pools pools;
  for (const auto& name : effect_names())
    pools.pools[name].push_back(
        t.sys.spawn(scripted_effect, name, rec, name == "artifacts" ? 99 : 0));
  dispatch(pools, {manifest_pull("get", "GET")});
  t.advance(std::chrono::milliseconds(100));
  t.advance(std::chrono::milliseconds(200));
  EXPECT_EQ(rec->applies["artifacts"], 3);
  ASSERT_EQ(rec->dead.size(), 1u);
  EXPECT_EQ(rec->dead[0].event_id, "get");
  EXPECT_EQ(rec->dead[0].effect, "artifacts");
  EXPECT_EQ(rec->dead[0].attempts, 3u);
  EXPECT_NE(rec->dead[0].error.find("scripted failure"), std::string::npos);
  // Marked dead by the journal with the letter, never done.
  EXPECT_EQ(status_of("get"), "");
  EXPECT_EQ(t.rt.stats->events_dead.Value(), 1u);
  // The other effects were applied once each.
  EXPECT_EQ(rec->applies["access_log"], 1);
  EXPECT_EQ(rec->applies["pull_counter"], 1);
}

TEST_F(dispatcher_test, a_retry_reaches_the_instance_that_replaced_a_dead_one) {
  auto pools = pools_with(0);
  auto hung = t.sys.spawn(silent_effect, std::string("artifacts"));
  pools.pools["artifacts"] = {hung};
  effect_pools replacement = pools_with(0);
  dispatch(pools, {manifest_pull("get", "GET")}, replacement);
  EXPECT_EQ(rec->applies["artifacts"], 0);
  // The old instance is killed: the request fails at its timeout (500 ms),
  // and the retry 100 ms later goes to the replacement.
  caf::anon_send_exit(hung, caf::exit_reason::kill);
  t.run();
  t.advance(std::chrono::milliseconds(500));
  t.advance(std::chrono::milliseconds(100));
  EXPECT_EQ(rec->applies["artifacts"], 1);
  EXPECT_EQ(rec->supervisor_gets, 1);
  EXPECT_EQ(status_of("get"), "done");
}

TEST(backoff, doubles_from_the_base_up_to_the_cap) {
  retry_policy p{10, 100, 1000, 0.0};
  EXPECT_EQ(backoff_ms(p, 0, 0.5), 100u);
  EXPECT_EQ(backoff_ms(p, 1, 0.5), 200u);
  EXPECT_EQ(backoff_ms(p, 3, 0.5), 800u);
  EXPECT_EQ(backoff_ms(p, 4, 0.5), 1000u);
  EXPECT_EQ(backoff_ms(p, 30, 0.5), 1000u);
}

TEST(backoff, jitter_spreads_within_its_fraction) {
  retry_policy p{10, 100, 1000, 0.2};
  EXPECT_EQ(backoff_ms(p, 0, 0.0), 80u);
  EXPECT_EQ(backoff_ms(p, 0, 0.5), 100u);
  EXPECT_EQ(backoff_ms(p, 0, 0.999), 119u);
}

} // namespace
} // namespace regevent::test
