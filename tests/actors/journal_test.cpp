// The journal and an effect actor on a real SQLite file, driven by the
// deterministic scheduler: requests that queue while the actor is busy
// share one commit, and each is answered after it.

#include "actors/access_log.hpp"
#include "actors/effect.hpp"
#include "actors/journal.hpp"
#include "actors/pull_counter.hpp"
#include "persistence/database.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"
#include "tests/fixtures/daemon.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>
#include <soci/soci.h>

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

planned_event planned_pull(const std::string& id) {
  planned_event p;
  p.event = manifest_pull(id);
  p.project = "library";
  p.count_pull = true;
  return p;
}

/// Receives `n` effect answers; how many applied, and how many failed.
std::pair<int, int> effect_answers(actor_test& t, int n) {
  int applied = 0;
  int failed = 0;
  for (int i = 0; i < n; ++i)
    t.self->receive([&](bool fresh) { applied += fresh; },
                    [&](caf::error&) { ++failed; });
  return {applied, failed};
}

TEST_F(journal_fixture, effects_commit_in_the_writers_group_commit) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  auto commits_before = t.rt.stats->journal_commits.Value();
  auto with_writer = [&](effect_kind kind) {
    auto c = effect_actor_config::from(t.rt, kind);
    c.writer = j;
    return c;
  };
  auto pc = t.sys.spawn(pull_counter, with_writer(effect_kind::pull_counter));
  auto al = t.sys.spawn(access_log, with_writer(effect_kind::access_log));
  // An append, a final state and two effects' batches (each id twice) are
  // queued before the journal runs: all of them share one transaction.
  t.self->send(j, atom::append_v,
               std::vector<event_record>{manifest_pull("new")}, false);
  for (int i = 0; i < 6; ++i) {
    t.self->send(pc, atom::apply_v, planned_pull("p" + std::to_string(i % 3)));
    t.self->send(al, atom::apply_v, planned_pull("p" + std::to_string(i % 3)));
  }
  t.run();
  EXPECT_EQ(t.rt.stats->journal_commits.Value() - commits_before, 1u);
  t.self->receive(
      [](std::vector<event_record>& xs) { EXPECT_EQ(xs.size(), 1u); },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  auto [applied, failed] = effect_answers(t, 12);
  EXPECT_EQ(applied, 6); // three ids, two effects
  EXPECT_EQ(failed, 0);
  auto db = dir.file("j.db");
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 3);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM access_logs"), 3);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM event_effects"), 6);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), 1);
  // Delivered again (a retry, a second dispatcher): skipped by the marks.
  t.self->send(pc, atom::apply_v, planned_pull("p0"));
  t.run();
  EXPECT_EQ(effect_answers(t, 1), std::make_pair(0, 0));
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 3);
  for (const auto& a :
       {caf::actor_cast<caf::actor>(pc), caf::actor_cast<caf::actor>(al),
        caf::actor_cast<caf::actor>(j)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(journal_fixture, a_refused_effect_batch_is_rolled_back_alone) {
  auto db = dir.file("j.db");
  {
    // The access log's table is gone: the database refuses that batch.
    database admin(*t.rt.cfg);
    admin.session() << "ALTER TABLE access_logs RENAME TO gone";
  }
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  auto with_writer = [&](effect_kind kind) {
    auto c = effect_actor_config::from(t.rt, kind);
    c.writer = j;
    return c;
  };
  auto pc = t.sys.spawn(pull_counter, with_writer(effect_kind::pull_counter));
  auto al = t.sys.spawn(access_log, with_writer(effect_kind::access_log));
  t.self->send(j, atom::append_v,
               std::vector<event_record>{manifest_pull("kept")}, false);
  t.self->send(al, atom::apply_v, planned_pull("x"));
  t.self->send(pc, atom::apply_v, planned_pull("x"));
  t.run();
  t.self->receive(
      [](std::vector<event_record>& xs) { EXPECT_EQ(xs.size(), 1u); },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  // One answer each: the access log's is the database's refusal (it spends
  // an attempt, as a statement error does), the pull count's is applied.
  bool access_log_refused = false;
  bool pull_applied = false;
  for (int i = 0; i < 2; ++i)
    t.self->receive(
        [&](bool fresh) { pull_applied = fresh; },
        [&](caf::error& e) { access_log_refused = is(e, ec::database_error); });
  EXPECT_TRUE(access_log_refused);
  EXPECT_TRUE(pull_applied);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), 1);
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 1);
  // The refused batch left no completion mark: it is applied once the
  // table is back.
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM event_effects WHERE effect "
                           "= 'access_log'"),
            0);
  for (const auto& a :
       {caf::actor_cast<caf::actor>(pc), caf::actor_cast<caf::actor>(al),
        caf::actor_cast<caf::actor>(j)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  t.run();
}

} // namespace
} // namespace regevent::test
