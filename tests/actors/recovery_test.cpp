// Recovery on a real SQLite file, driven by the deterministic scheduler:
// it claims journaled, unfinished events in bounded batches up to its
// dispatcher limit, claims more as dispatchers finish, answers a shutdown
// once the last one finished, and gives its claims back when it stops.
// The journal and supervisor are test doubles (named so): dispatchers only
// need someone to ask for the topology.

#include "actors/errors.hpp"
#include "actors/recovery.hpp"
#include "actors/writer_job.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"
#include "tests/fixtures/daemon.hpp"

#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace regevent::test {
namespace {

/// Test double of the journal: takes everything and stores nothing, except
/// that it runs writer jobs (recovery's claims, heartbeat and release) on a
/// connection of its own to the test's file, as the journal runs them on
/// its writer, and counts them.
struct idle_journal_state {
  std::unique_ptr<database> db;
  std::unique_ptr<journal_store> store;
  std::shared_ptr<int> jobs;
};

journal_actor::behavior_type
idle_journal(journal_actor::stateful_pointer<idle_journal_state> self,
             std::string file, std::shared_ptr<int> jobs) {
  self->state.db = std::make_unique<database>(
      load_config_from_string("database:\n  url: sqlite://" + file + "\n")
          .database);
  self->state.store = std::make_unique<journal_store>(*self->state.db);
  self->state.jobs = std::move(jobs);
  return {
      [self](atom::write, writer_job_handle& h) -> caf::result<bool> {
        auto& st = self->state;
        ++*st.jobs;
        writer_context ctx{*st.db, st.store.get()};
        h.job->run(ctx);
        return true;
      },
      [](atom::append, std::vector<event_record>& xs, bool) { return xs; },
      [](atom::finish, std::vector<status_update>&) {},
      [](atom::dead, dead_letter&) { return true; },
      // Effects commit on their own in these tests, never here.
      [](atom::apply, effect_batch&) -> caf::result<effect_outcome> {
        return make_error(ec::effect_unavailable, "not a writer");
      },
      [](atom::resolve, const std::string&) -> caf::result<bool> {
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

config recovery_config_for(const temp_dir& dir) {
  return load_config_from_string("database:\n  url: sqlite://"
                                 + dir.file("r.db")
                                 + "\ndispatch:\n  recovery_batch: 2\n  "
                                   "recovery_dispatchers: 2\n");
}

struct recovery_fixture : ::testing::Test {
  recovery_fixture() : t(recovery_config_for(dir)) {
    database db(*t.rt.cfg);
    migrate(db);
    journal_store store(db);
    std::vector<event_record> events;
    for (int i = 0; i < 5; ++i)
      events.push_back(manifest_pull("r" + std::to_string(i)));
    std::vector<bool> fresh;
    store.append(events, "", 0, fresh);
  }

  long long claimed() {
    return sql_scalar(dir.file("r.db"),
                      "SELECT COUNT(*) FROM events WHERE claimed_by = "
                      "'test-instance'");
  }

  uint64_t busy(const recovery_actor& r) {
    uint64_t n = 0;
    t.self->send(r, atom::status_v);
    t.run();
    t.self->receive([&](uint64_t x) { n = x; },
                    [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return n;
  }

  temp_dir dir;
  actor_test t;
  /// Writer jobs the journal double ran.
  std::shared_ptr<int> jobs = std::make_shared<int>(0);
};

TEST_F(recovery_fixture, claims_in_batches_up_to_its_dispatcher_limit) {
  auto cfg = recovery_config::from(t.rt);
  cfg.validate();
  auto timeout = cfg.dispatch->journal_timeout;
  auto journal = t.sys.spawn(idle_journal, dir.file("r.db"), jobs);
  auto sup = t.sys.spawn(silent_supervisor, 0);
  auto r = t.sys.spawn(recovery, cfg, journal, sup);
  t.run();
  // Two dispatchers of two events each; the fifth event waits.
  EXPECT_EQ(busy(r), 2u);
  EXPECT_EQ(claimed(), 4);
  // The heartbeat and both claims were the journal's to write: recovery
  // has no write connection of its own on SQLite.
  EXPECT_EQ(*jobs, 3);
  std::optional<bool> drained;
  t.self->send(r, atom::shutdown_v);
  t.run();
  t.self->receive([&](bool x) { drained = x; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_FALSE(drained) << "answered while dispatchers run";
  // The dispatchers give up past their timeout. Draining, recovery claims
  // no more, and answers.
  t.advance(timeout + std::chrono::milliseconds(1));
  t.self->receive([&](bool x) { drained = x; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
  ASSERT_TRUE(drained);
  EXPECT_EQ(busy(r), 0u);
  EXPECT_EQ(claimed(), 4);
  // Stopping gives every claim back, for the next start or another
  // instance.
  caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  t.run();
  EXPECT_EQ(claimed(), 0);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(recovery_fixture, a_finished_dispatcher_makes_room_for_the_rest) {
  auto cfg = recovery_config::from(t.rt);
  auto timeout = cfg.dispatch->journal_timeout;
  auto journal = t.sys.spawn(idle_journal, dir.file("r.db"), jobs);
  auto sup = t.sys.spawn(silent_supervisor, 0);
  auto r = t.sys.spawn(recovery, cfg, journal, sup);
  t.run();
  EXPECT_EQ(claimed(), 4);
  // Both dispatchers finish (give up); their events stay claimed by this
  // instance until the lease expires, so only the fifth is claimed now.
  t.advance(timeout + std::chrono::milliseconds(1));
  EXPECT_EQ(claimed(), 5);
  EXPECT_EQ(busy(r), 1u);
  caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
}

} // namespace
} // namespace regevent::test
