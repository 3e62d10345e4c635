// The journal and an effect actor on a real SQLite file, driven by the
// deterministic scheduler: requests that queue while the actor is busy
// share one commit, and each is answered after it.

#include "actors/effect.hpp"
#include "actors/journal.hpp"
#include "actors/pull_counter.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"
#include "tests/actors/actor_test_fixture.hpp"
#include "tests/actors/doubles.hpp"
#include "tests/fixtures/daemon.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>
#include <optional>
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

effect_batch batch_of(effect_kind kind, const std::vector<std::string>& ids) {
  effect_batch b;
  b.effect = kind;
  for (const auto& id : ids)
    b.events.push_back(planned_pull(id));
  return b;
}

/// The next answer in the test's mailbox; a failure when there is none.
template<class... Handlers>
void next_answer(actor_test& t, Handlers&&... handlers) {
  t.self->receive(
      std::forward<Handlers>(handlers)...,
      caf::after(std::chrono::seconds(0)) >>
          [] { ADD_FAILURE() << "no answer"; });
}

void stop_all(actor_test& t, std::initializer_list<caf::actor> actors) {
  for (const auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(journal_fixture, appends_commit_first_then_all_effect_batches_at_once) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  auto commits_before = t.rt.stats->journal_commits.Value();
  // An append and two effects' batches (each id twice) are queued before
  // the journal runs: the append commits (and is answered) first, both
  // batches then share the next transaction.
  t.self->send(j, atom::append_v,
               std::vector<event_record>{manifest_pull("new")}, false);
  t.self->send(j, atom::apply_v,
               batch_of(effect_kind::pull_counter,
                        {"p0", "p1", "p2", "p0", "p1", "p2"}));
  t.self->send(j, atom::apply_v,
               batch_of(effect_kind::access_log, {"p0", "p1", "p2", "p0"}));
  t.run();
  EXPECT_EQ(t.rt.stats->journal_commits.Value() - commits_before, 2u);
  next_answer(
      t, [](std::vector<event_record>& xs) { EXPECT_EQ(xs.size(), 1u); },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  std::vector<std::vector<bool>> applied;
  for (int i = 0; i < 2; ++i)
    next_answer(
        t, [&](effect_outcome& o) { applied.push_back(o.applied); },
        [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0],
            (std::vector<bool>{true, true, true, false, false, false}));
  EXPECT_EQ(applied[1], (std::vector<bool>{true, true, true, false}));
  auto db = dir.file("j.db");
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 3);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM access_logs"), 3);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM effect_marks"), 6);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), 1);
  stop_all(t, {caf::actor_cast<caf::actor>(j)});
}

TEST_F(journal_fixture, an_effect_actor_commits_through_its_writer) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  auto commits_before = t.rt.stats->journal_commits.Value();
  auto c = effect_actor_config::from(t.rt, effect_kind::pull_counter);
  c.writer = j;
  auto pc = t.sys.spawn(pull_counter, c);
  for (int i = 0; i < 6; ++i)
    t.self->send(pc, atom::apply_v, planned_pull("p" + std::to_string(i % 3)));
  t.run();
  t.advance(c.batch_delay + std::chrono::milliseconds(1));
  int applied = 0;
  for (int i = 0; i < 6; ++i)
    next_answer(
        t, [&](bool fresh) { applied += fresh; },
        [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(applied, 3);
  // The six requests were one batch, and the journal's commit was theirs.
  EXPECT_EQ(t.rt.stats->journal_commits.Value() - commits_before, 1u);
  EXPECT_EQ(t.rt.stats->effect("pull_counter").committed.Value(), 3u);
  auto db = dir.file("j.db");
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 3);
  // Delivered again (a retry, a second dispatcher): skipped by the marks.
  t.self->send(pc, atom::apply_v, planned_pull("p0"));
  t.run();
  t.advance(c.batch_delay + std::chrono::milliseconds(1));
  next_answer(
      t, [](bool fresh) { EXPECT_FALSE(fresh); },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 3);
  stop_all(t,
           {caf::actor_cast<caf::actor>(pc), caf::actor_cast<caf::actor>(j)});
}

TEST_F(journal_fixture, projects_are_resolved_on_the_writers_connection) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  auto c = effect_actor_config::from(t.rt, effect_kind::repositories);
  c.writer = j;
  // The effect actor has no connection: it asks the writer.
  auto repos = spawn_effect(t.sys, c);
  t.run();
  auto resolve = [&](const std::string& project) {
    bool exists = false;
    t.self->send(repos, atom::resolve_v, project);
    t.run();
    next_answer(
        t, [&](bool x) { exists = x; },
        [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return exists;
  };
  EXPECT_FALSE(resolve("team"));
  {
    database admin(*t.rt.cfg);
    ensure_project(admin, "team");
  }
  EXPECT_TRUE(resolve("team"));
  stop_all(
      t, {caf::actor_cast<caf::actor>(repos), caf::actor_cast<caf::actor>(j)});
}

TEST_F(journal_fixture, a_refused_effect_batch_is_rolled_back_alone) {
  auto db = dir.file("j.db");
  {
    // The access log's table is gone: the database refuses that batch.
    database admin(*t.rt.cfg);
    admin.session() << "ALTER TABLE access_logs RENAME TO gone";
  }
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  t.self->send(j, atom::append_v,
               std::vector<event_record>{manifest_pull("kept")}, false);
  t.self->send(j, atom::apply_v, batch_of(effect_kind::access_log, {"x"}));
  t.self->send(j, atom::apply_v, batch_of(effect_kind::pull_counter, {"x"}));
  t.run();
  next_answer(
      t, [](std::vector<event_record>& xs) { EXPECT_EQ(xs.size(), 1u); },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  // The access log's answer is the database's refusal (it spends an
  // attempt, as a statement error does); the pull count is applied.
  next_answer(
      t, [](effect_outcome&) { ADD_FAILURE() << "the access log applied"; },
      [](caf::error& e) {
        EXPECT_TRUE(is(e, ec::database_error)) << to_string(e);
      });
  next_answer(
      t,
      [](effect_outcome& o) {
        EXPECT_EQ(o.applied, (std::vector<bool>{true}));
      },
      [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), 1);
  EXPECT_EQ(sql_scalar(db, "SELECT pull_count FROM pull_counts"), 1);
  // The refused batch left no completion mark: it is applied once the
  // table is back.
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM effect_marks WHERE effect "
                           "= 'access_log'"),
            0);
  stop_all(t, {caf::actor_cast<caf::actor>(j)});
}

/// Appends `ids` and waits for the answer.
void append_all(actor_test& t, const journal_actor& j,
                const std::vector<std::string>& ids) {
  std::vector<event_record> events;
  for (const auto& id : ids)
    events.push_back(manifest_pull(id));
  t.self->send(j, atom::append_v, std::move(events), false);
  t.run();
  t.self->receive([](std::vector<event_record>&) {},
                  [](caf::error& e) { ADD_FAILURE() << to_string(e); });
}

TEST_F(journal_fixture, writer_jobs_run_after_the_commits_and_fail_alone) {
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  // Queued behind an append: the job sees the appended row (the ack path
  // commits first).
  auto seen = make_writer_job([](writer_context& ctx) {
    long long n = 0;
    ctx.db.session() << "SELECT COUNT(*) FROM events", soci::into(n);
    return n;
  });
  auto refused = make_writer_job([](writer_context& ctx) {
    ctx.db.session() << "INSERT INTO no_such_table VALUES (1)";
    return true;
  });
  t.self->send(j, atom::append_v, std::vector<event_record>{manifest_pull("w")},
               false);
  t.self->send(j, atom::write_v, writer_job_handle{seen});
  t.self->send(j, atom::write_v, writer_job_handle{refused});
  t.run();
  t.self->receive([](std::vector<event_record>&) {},
                  [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  t.self->receive([](bool) {},
                  [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  std::optional<caf::error> failure;
  t.self->receive([](bool) { ADD_FAILURE() << "a refused job succeeded"; },
                  [&](caf::error& e) { failure = e; });
  ASSERT_TRUE(seen->result);
  EXPECT_EQ(*seen->result, 1);
  EXPECT_TRUE(failure);
  EXPECT_FALSE(refused->result);
  // The writer goes on after a failed job.
  append_all(t, j, {"after"});
  EXPECT_EQ(sql_scalar(dir.file("j.db"), "SELECT COUNT(*) FROM events"), 2);
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(journal_fixture, counts_by_status_follow_the_transitions_it_makes) {
  {
    // Finished before this journal starts: found by its one count at start.
    database db(*t.rt.cfg);
    journal_store store(db);
    std::vector<bool> fresh;
    store.append({manifest_pull("old")}, "", 0, fresh);
    store.update_status({{"old", event_status::done, ""}}, now_us());
  }
  auto j = t.sys.spawn(journal, journal_config::from(t.rt));
  t.run();
  auto gauge = [&](size_t status) {
    return t.rt.stats->events_by_status[status]->Value();
  };
  EXPECT_EQ(gauge(2), 1);
  append_all(t, j, {"a", "b", "c"});
  t.self->send(j, atom::finish_v,
               std::vector<status_update>{{"a", event_status::done, ""},
                                          {"b", event_status::ignored, "x"}});
  // A late second answer for an event already finished changes nothing.
  t.self->send(j, atom::finish_v,
               std::vector<status_update>{{"a", event_status::ignored, ""}});
  t.run();
  EXPECT_EQ(gauge(0), 1); // c
  EXPECT_EQ(gauge(1), 1); // b
  EXPECT_EQ(gauge(2), 2); // old, a
  EXPECT_EQ(sql_scalar(dir.file("j.db"),
                       "SELECT COUNT(*) FROM events WHERE id = 'a' AND "
                       "status = 'done'"),
            1);
  // Counted by transitions, never by reading the table again: a row
  // written behind the journal's back does not show, even after ticks.
  {
    database db(*t.rt.cfg);
    db.session() << "UPDATE events SET status = 'dead' WHERE id = 'old'";
  }
  // Past a recount of the pending events (every 15 ticks).
  for (int i = 0; i < 16; ++i)
    t.advance(std::chrono::seconds(1));
  EXPECT_EQ(gauge(0), 1);
  EXPECT_EQ(gauge(2), 2);
  EXPECT_EQ(gauge(3), 0);
  // Deleted rows a job reports go from the counts.
  auto forget = make_writer_job([](writer_context& ctx) {
    ctx.removed[2] = 1;
    return true;
  });
  t.self->send(j, atom::write_v, writer_job_handle{forget});
  t.run();
  t.self->receive([](bool) {},
                  [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(gauge(2), 1);
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  t.run();
}

} // namespace
} // namespace regevent::test
