// The journal and an effect actor on a real SQLite file, driven by the
// deterministic scheduler: requests that queue while the actor is busy
// share one commit, and each is answered after it.

#include "actors/effect.hpp"
#include "actors/journal.hpp"
#include "actors/pull_counter.hpp"
#include "persistence/database.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"
#include "tests/fixtures/daemon.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

namespace regevent::test {
namespace {

config sqlite_config(const temp_dir& dir) {
  return load_config_from_string("database:\n  url: sqlite://"
                                 + dir.file("j.db") + "\n");
}

struct journal_fixture : ::testing::Test {
  journal_fixture() : t(sqlite_config(dir)) {
    database db(*t.rt.cfg);
    migrate(db);
  }
  temp_dir dir;
  actor_test t;
};

TEST_F(journal_fixture, queued_appends_share_one_group_commit) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  auto commits_before = t.rt.stats->journal_commits.Value();
  // Ten requests are in the mailbox before the journal runs once.
  for (int i = 0; i < 10; ++i)
    t.self->send(
        j, atom::append_v,
        std::vector<event_record>{manifest_pull("e" + std::to_string(i)),
                                  manifest_pull("e0")},
        false);
  t.run();
  EXPECT_EQ(t.rt.stats->journal_commits.Value() - commits_before, 1u);
  size_t fresh = 0;
  for (int i = 0; i < 10; ++i)
    t.self->receive([&](std::vector<event_record>& xs) { fresh += xs.size(); },
                    [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
  // e0 is new once, a duplicate nine times and inside its own batch.
  EXPECT_EQ(fresh, 10u);
  EXPECT_EQ(sql_scalar(dir.file("j.db"), "SELECT COUNT(*) FROM events"), 10);
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(journal_fixture, finish_updates_are_committed_with_the_next_flush) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.self->send(j, atom::append_v, std::vector<event_record>{manifest_pull("a")},
               false);
  t.run();
  t.self->receive([](std::vector<event_record>&) {}, [](caf::error&) {});
  t.self->send(j, atom::finish_v,
               std::vector<status_update>{{"a", event_status::done, ""}});
  t.run();
  EXPECT_EQ(sql_scalar(dir.file("j.db"),
                       "SELECT COUNT(*) FROM events WHERE status = 'done'"),
            1);
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(journal_fixture, an_effect_batches_queued_requests_into_one_commit) {
  auto pc = t.sys.spawn(
      pull_counter, effect_actor_config::from(t.rt, effect_kind::pull_counter));
  for (int i = 0; i < 20; ++i) {
    planned_event p;
    p.event = manifest_pull("p" + std::to_string(i % 10)); // each id twice
    p.project = "library";
    p.count_pull = true;
    t.self->send(pc, atom::apply_v, std::move(p));
  }
  // Twenty requests, then the flush the actor sent itself after the first:
  // one commit, one upsert for the hot repository.
  t.run();
  t.advance(std::chrono::milliseconds(5));
  auto& m = t.rt.stats->effect("pull_counter");
  EXPECT_EQ(m.committed.Value(), 10u);
  EXPECT_EQ(m.skipped.Value(), 10u);
  int applied = 0;
  for (int i = 0; i < 20; ++i)
    t.self->receive([&](bool fresh) { applied += fresh; },
                    [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(applied, 10);
  EXPECT_EQ(sql_scalar(dir.file("j.db"),
                       "SELECT pull_count FROM pull_counts WHERE repository "
                       "= 'library/hello'"),
            10);
  EXPECT_EQ(m.batch_size.Collect().histogram.sample_count, 1u);
  caf::anon_send_exit(pc, caf::exit_reason::user_shutdown);
  t.run();
}

} // namespace
} // namespace regevent::test
