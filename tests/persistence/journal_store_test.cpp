#include "persistence/journal_store.hpp"

#include "persistence/database.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace regevent {
namespace {

using test::make_event;

std::vector<std::string> ids(const std::vector<event_record>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back(e.id);
  return out;
}

class journal_store_test : public ::testing::Test {
protected:
  /// Appends in its own committed transaction, as the journal actor does.
  std::vector<bool> append(const std::vector<event_record>& events,
                           const std::string& owner = {},
                           timestamp_us expires = 0) {
    std::vector<bool> fresh;
    write_transaction tx(f.db());
    // A claiming instance is alive: it has a heartbeat.
    if (!owner.empty())
      journal.heartbeat(owner, 0);
    journal.append(events, owner, expires, fresh);
    tx.commit();
    return fresh;
  }

  /// Claims as a live instance (heartbeat at `now`); instances whose
  /// heartbeat is older than `alive_since` count as dead.
  std::vector<event_record> claim(const std::string& owner, timestamp_us now,
                                  timestamp_us expires, size_t limit,
                                  timestamp_us alive_since = 0) {
    write_transaction tx(f.db());
    journal.heartbeat(owner, now);
    auto out = journal.claim(owner, now, expires, alive_since, limit);
    tx.commit();
    return out;
  }

  void update(const std::vector<status_update>& updates, timestamp_us now) {
    write_transaction tx(f.db());
    journal.update_status(updates, now);
    tx.commit();
  }

  test::store_fixture f;
  journal_store journal{f.db()};
};

TEST_F(journal_store_test, append_reports_fresh_events) {
  auto fresh = append({make_event("a"), make_event("b")});
  EXPECT_EQ(fresh, (std::vector<bool>{true, true}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events"), 2);
  EXPECT_EQ(journal.count_pending(), 2u);
}

TEST_F(journal_store_test, duplicate_within_one_batch_is_stored_once) {
  auto fresh = append({make_event("a"), make_event("b"), make_event("a")});
  EXPECT_EQ(fresh, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events"), 2);
}

TEST_F(journal_store_test, duplicate_across_batches_is_stored_once) {
  append({make_event("a")});
  auto again = make_event("a", "pull", 9'000'000);
  auto fresh = append({again, make_event("c")});
  EXPECT_EQ(fresh, (std::vector<bool>{false, true}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events"), 2);
  // The first delivery wins; the duplicate changes nothing.
  EXPECT_EQ(f.text("SELECT action FROM events WHERE id = 'a'"), "push");
  EXPECT_EQ(f.scalar("SELECT event_time FROM events WHERE id = 'a'"),
            1'000'000);
}

TEST_F(journal_store_test, append_of_nothing_is_a_no_op) {
  auto fresh = append({});
  EXPECT_TRUE(fresh.empty());
  EXPECT_EQ(journal.count_pending(), 0u);
}

TEST_F(journal_store_test, fresh_is_reset_on_every_call) {
  std::vector<bool> fresh{true, true, true, true};
  write_transaction tx(f.db());
  journal.append({make_event("a")}, {}, 0, fresh);
  tx.commit();
  EXPECT_EQ(fresh, (std::vector<bool>{true}));
}

TEST_F(journal_store_test, rolled_back_append_leaves_nothing) {
  {
    std::vector<bool> fresh;
    write_transaction tx(f.db());
    journal.append({make_event("a")}, {}, 0, fresh);
  }
  EXPECT_EQ(journal.count_pending(), 0u);
  EXPECT_EQ(append({make_event("a")}), (std::vector<bool>{true}));
}

TEST_F(journal_store_test, stored_row_keeps_every_field) {
  auto e = make_event("full", "pull", 1'234'567);
  e.actor = "alice";
  append({e});
  EXPECT_EQ(f.text("SELECT raw FROM events WHERE id = 'full'"), e.raw);
  EXPECT_EQ(f.text("SELECT status FROM events WHERE id = 'full'"), "pending");
  auto claimed = claim("me", 10, 20, 10);
  ASSERT_EQ(claimed.size(), 1u);
  const auto& x = claimed[0];
  EXPECT_EQ(x.id, e.id);
  EXPECT_EQ(x.time, e.time);
  EXPECT_EQ(x.received, e.received);
  EXPECT_EQ(x.action, e.action);
  EXPECT_EQ(x.repository, e.repository);
  EXPECT_EQ(x.tag, e.tag);
  EXPECT_EQ(x.digest, e.digest);
  EXPECT_EQ(x.media_type, e.media_type);
  EXPECT_EQ(x.size, e.size);
  EXPECT_EQ(x.method, e.method);
  EXPECT_EQ(x.user_agent, e.user_agent);
  EXPECT_EQ(x.actor, e.actor);
  EXPECT_EQ(x.client_addr, e.client_addr);
  EXPECT_EQ(x.source_addr, e.source_addr);
}

TEST_F(journal_store_test, claim_returns_oldest_first_up_to_the_limit) {
  append({make_event("e1"), make_event("e2")});
  append({make_event("e3")});
  append({make_event("e4"), make_event("e5")});
  auto first = claim("me", 100, 200, 3);
  EXPECT_EQ(ids(first), (std::vector<std::string>{"e1", "e2", "e3"}));
  auto rest = claim("me", 100, 200, 3);
  EXPECT_EQ(ids(rest), (std::vector<std::string>{"e4", "e5"}));
  EXPECT_TRUE(claim("me", 100, 200, 3).empty());
}

TEST_F(journal_store_test, claim_order_is_arrival_not_event_time) {
  append({make_event("late", "push", 9'000'000)});
  append({make_event("early", "push", 1'000)});
  EXPECT_EQ(ids(claim("me", 1, 2, 10)),
            (std::vector<std::string>{"late", "early"}));
}

TEST_F(journal_store_test, claim_records_owner_and_expiry) {
  append({make_event("a")});
  claim("instance-1", 100, 5'000, 10);
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'a'"),
            "instance-1");
  EXPECT_EQ(f.scalar("SELECT claim_expires FROM events WHERE id = 'a'"), 5'000);
}

TEST_F(journal_store_test, unexpired_claims_are_skipped) {
  append({make_event("a"), make_event("b")});
  EXPECT_EQ(claim("one", 100, 1'000, 1).size(), 1u);
  // At 999 the claim of "one" on "a" still holds; "b" is free.
  EXPECT_EQ(ids(claim("two", 999, 2'000, 10)), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(claim("three", 1'000, 3'000, 10).empty());
}

TEST_F(journal_store_test, expired_claims_are_taken_over) {
  append({make_event("a")});
  claim("one", 100, 1'000, 10);
  auto taken = claim("two", 1'001, 9'000, 10);
  EXPECT_EQ(ids(taken), (std::vector<std::string>{"a"}));
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'a'"), "two");
}

TEST_F(journal_store_test, a_dead_instances_claims_are_taken_over_at_once) {
  append({make_event("a"), make_event("b")});
  claim("one", 100, 1'000'000, 10);
  // "one" last beat at 100; "two" beats at 500 and considers everything
  // older than 300 dead: the unexpired claims of "one" are its.
  auto taken = claim("two", 500, 1'000'000, 10, 300);
  EXPECT_EQ(ids(taken), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'b'"), "two");
}

TEST_F(journal_store_test, a_live_instances_claims_are_left_alone) {
  append({make_event("a")});
  claim("one", 400, 1'000'000, 10);
  EXPECT_TRUE(claim("two", 500, 1'000'000, 10, 300).empty());
}

TEST_F(journal_store_test, a_forgotten_instance_counts_as_dead) {
  append({make_event("a")});
  claim("one", 400, 1'000'000, 10);
  journal.forget_instance("one");
  EXPECT_EQ(claim("two", 500, 1'000'000, 10, 300).size(), 1u);
}

TEST_F(journal_store_test, an_unclaimed_scope_leaves_stale_claims_alone) {
  append({make_event("a"), make_event("b")});
  claim("one", 100, 1'000, 1);
  journal.forget_instance("one");
  // "a" is expired and its owner gone, yet only "b" is unclaimed. ("two"
  // is alive: its claim on "b" is not stale below.)
  journal.heartbeat("two", 5'000);
  auto cheap = journal.claim("two", 5'000, 9'000, 0, 10,
                             journal_store::claim_scope::unclaimed);
  EXPECT_EQ(ids(cheap), (std::vector<std::string>{"b"}));
  auto sweep = journal.claim("two", 5'000, 9'000, 0, 10,
                             journal_store::claim_scope::unclaimed_and_stale);
  EXPECT_EQ(ids(sweep), (std::vector<std::string>{"a"}));
}

TEST_F(journal_store_test, claims_read_only_their_partial_index) {
  // What SQLite plans for each candidate query: a scan of the index of
  // exactly the rows it may claim, never of the table or of all pending
  // rows (with many claimed rows, that is what made claims slow).
  auto plan = [&](const std::string& query) {
    long long n = 10, now = 0, alive = 0;
    std::string all;
    auto collect = [&all](soci::rowset<soci::row>& rs) {
      for (const auto& r : rs)
        all += r.get<std::string>(3) + "\n";
    };
    if (query.find(":now") == std::string::npos) {
      soci::rowset<soci::row> rs
          = (f.sql().prepare << "EXPLAIN QUERY PLAN " + query,
             soci::use(n, "n"));
      collect(rs);
    } else {
      soci::rowset<soci::row> rs
          = (f.sql().prepare << "EXPLAIN QUERY PLAN " + query,
             soci::use(now, "now"), soci::use(alive, "alive"),
             soci::use(n, "n"));
      collect(rs);
    }
    return all;
  };
  auto unclaimed = plan(journal_store::unclaimed_candidates);
  EXPECT_NE(unclaimed.find("INDEX events_unclaimed"), std::string::npos)
      << unclaimed;
  auto stale = plan(journal_store::stale_candidates);
  EXPECT_NE(stale.find("INDEX events_claimed"), std::string::npos) << stale;
  EXPECT_EQ(stale.find("SCAN events\n"), std::string::npos) << stale;
}

/// Marks an effect applied to the journaled event `id`, as an effect store
/// does.
void mark(test::store_fixture& f, const std::string& id) {
  f.sql() << "INSERT INTO effect_marks (event_seq, effect, applied_at) "
             "SELECT seq, 'access_log', 1 FROM events WHERE id = :e",
      soci::use(id);
}

/// Marks of the journaled events `ids`.
long long marks_of(test::store_fixture& f,
                   std::initializer_list<std::string> ids) {
  long long total = 0;
  for (const auto& id : ids) {
    long long n = 0;
    f.sql() << "SELECT COUNT(*) FROM effect_marks WHERE event_seq IN (SELECT "
               "seq FROM events WHERE id = :i)",
        soci::use(id), soci::into(n);
    total += n;
  }
  return total;
}

TEST_F(journal_store_test, compaction_keeps_only_the_row_of_finished_events) {
  // Received at 1 000 005 (make_event): done, ignored, pending, dead.
  append({make_event("done"), make_event("ignored"), make_event("pending"),
          make_event("dead")});
  for (const auto* id : {"done", "ignored", "pending", "dead"})
    mark(f, id);
  update({{"done", event_status::done, ""},
          {"ignored", event_status::ignored, "filtered"},
          {"dead", event_status::dead, "gave up"}},
         2'000'000);
  write_transaction tx(f.db());
  auto r = journal.compact_finished(0, 2'000'000, 100);
  tx.commit();
  EXPECT_EQ(r.changed, 2);
  EXPECT_TRUE(r.done); // the end of the table
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events"), 4);
  EXPECT_EQ(f.text("SELECT raw FROM events WHERE id = 'done'"), "");
  EXPECT_EQ(f.text("SELECT raw FROM events WHERE id = 'ignored'"), "");
  // What can still be dispatched keeps its body and its marks.
  EXPECT_NE(f.text("SELECT raw FROM events WHERE id = 'pending'"), "");
  EXPECT_NE(f.text("SELECT raw FROM events WHERE id = 'dead'"), "");
  EXPECT_EQ(marks_of(f, {"pending", "dead"}), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM effect_marks"), 2);
  // The id still deduplicates.
  EXPECT_EQ(append({make_event("done")}), (std::vector<bool>{false}));
}

TEST_F(journal_store_test,
       compaction_walks_in_batches_and_stops_at_the_cutoff) {
  for (int i = 0; i < 5; ++i)
    append({make_event("old" + std::to_string(i), "push", 1'000)});
  append({make_event("recent", "push", 9'000'000)});
  std::vector<status_update> all;
  for (const auto* id : {"old0", "old1", "old2", "old3", "old4", "recent"})
    all.push_back({id, event_status::done, ""});
  update(all, 9'500'000);
  write_transaction tx(f.db());
  auto first = journal.compact_finished(0, 5'000'000, 2);
  EXPECT_EQ(first.changed, 2);
  EXPECT_FALSE(first.done);
  auto second = journal.compact_finished(first.cursor, 5'000'000, 2);
  auto third = journal.compact_finished(second.cursor, 5'000'000, 2);
  // Three old rows are left for two steps; the third meets "recent".
  EXPECT_EQ(second.changed + third.changed, 3);
  EXPECT_TRUE(third.done);
  auto again = journal.compact_finished(third.cursor, 5'000'000, 2);
  EXPECT_EQ(again.changed, 0);
  EXPECT_EQ(again.cursor, third.cursor);
  tx.commit();
  EXPECT_NE(f.text("SELECT raw FROM events WHERE id = 'recent'"), "");
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events WHERE raw = ''"), 5);
}

TEST_F(journal_store_test, a_forgotten_event_is_new_again) {
  append({make_event("done"), make_event("pending"), make_event("dead")});
  for (const auto* id : {"done", "pending", "dead"})
    mark(f, id);
  update({{"done", event_status::done, ""},
          {"dead", event_status::dead, "gave up"}},
         2'000'000);
  write_transaction tx(f.db());
  auto r = journal.forget_finished(0, 2'000'000, 100);
  tx.commit();
  EXPECT_EQ(r.changed, 1);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events WHERE id = 'done'"), 0);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events"), 2);
  // Only the marks of the two events left remain.
  EXPECT_EQ(marks_of(f, {"pending", "dead"}), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM effect_marks"), 2);
  // Past the deduplication window a delivery of that id is journaled again.
  EXPECT_EQ(append({make_event("done"), make_event("pending")}),
            (std::vector<bool>{true, false}));
}

TEST_F(journal_store_test, append_can_claim_the_new_rows) {
  append({make_event("a")}, "ingest", 5'000);
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'a'"), "ingest");
  EXPECT_TRUE(claim("recovery", 4'000, 9'000, 10).empty());
  EXPECT_EQ(ids(claim("recovery", 5'001, 9'000, 10)),
            (std::vector<std::string>{"a"}));
}

TEST_F(journal_store_test, append_without_owner_leaves_rows_unclaimed) {
  append({make_event("a")}, "", 5'000);
  EXPECT_EQ(f.scalar("SELECT claim_expires FROM events WHERE id = 'a'"), 0);
  EXPECT_EQ(claim("recovery", 1, 2, 10).size(), 1u);
}

TEST_F(journal_store_test, duplicate_append_does_not_steal_a_claim) {
  append({make_event("a")}, "one", 5'000);
  auto fresh = append({make_event("a")}, "two", 9'000);
  EXPECT_EQ(fresh, (std::vector<bool>{false}));
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'a'"), "one");
}

TEST_F(journal_store_test, release_gives_back_only_the_owners_claims) {
  append({make_event("a"), make_event("b"), make_event("c")});
  claim("one", 100, 1'000'000, 2);
  claim("two", 100, 1'000'000, 1);
  EXPECT_EQ(journal.release("one"), 2u);
  EXPECT_EQ(ids(claim("three", 100, 1'000'000, 10)),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.text("SELECT claimed_by FROM events WHERE id = 'c'"), "two");
  EXPECT_EQ(journal.release("nobody"), 0u);
}

TEST_F(journal_store_test, release_skips_finished_events) {
  append({make_event("a"), make_event("b")}, "one", 1'000'000);
  update({{"a", event_status::done, ""}}, 50);
  EXPECT_EQ(journal.release("one"), 1u);
}

TEST_F(journal_store_test, release_all_frees_every_pending_claim) {
  append({make_event("a"), make_event("b"), make_event("c")});
  claim("one", 100, 1'000'000, 1);
  claim("two", 100, 1'000'000, 1);
  EXPECT_EQ(journal.release_all(), 2u);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events WHERE claimed_by <> ''"), 0);
  EXPECT_EQ(claim("three", 100, 1'000'000, 10).size(), 3u);
  EXPECT_EQ(journal.release_all(), 3u);
  EXPECT_EQ(journal.release_all(), 0u);
}

TEST_F(journal_store_test, update_status_finishes_events) {
  append({make_event("a"), make_event("b"), make_event("c")}, "one", 1'000'000);
  update({{"a", event_status::done, ""},
          {"b", event_status::ignored, "not a manifest"},
          {"c", event_status::dead, "artifacts: timeout"}},
         777);
  EXPECT_EQ(journal.count_pending(), 0u);
  EXPECT_EQ(f.text("SELECT status FROM events WHERE id = 'a'"), "done");
  EXPECT_EQ(f.text("SELECT status FROM events WHERE id = 'b'"), "ignored");
  EXPECT_EQ(f.text("SELECT reason FROM events WHERE id = 'b'"),
            "not a manifest");
  EXPECT_EQ(f.text("SELECT status FROM events WHERE id = 'c'"), "dead");
  EXPECT_EQ(f.scalar("SELECT finished_at FROM events WHERE id = 'a'"), 777);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM events WHERE claimed_by <> ''"), 0);
  // Finished events are never claimed again, even with no claim on them.
  EXPECT_TRUE(claim("two", 2'000'000, 3'000'000, 10).empty());
}

TEST_F(journal_store_test, update_status_of_unknown_id_changes_nothing) {
  append({make_event("a")});
  update({{"missing", event_status::done, ""}}, 1);
  EXPECT_EQ(journal.count_pending(), 1u);
}

TEST_F(journal_store_test, count_pending_counts_claimed_and_unclaimed) {
  append({make_event("a"), make_event("b"), make_event("c")});
  claim("one", 1, 1'000, 1);
  EXPECT_EQ(journal.count_pending(), 3u);
  update({{"b", event_status::done, ""}}, 5);
  EXPECT_EQ(journal.count_pending(), 2u);
}

TEST_F(journal_store_test, dead_letters_are_recorded) {
  append({make_event("a")});
  {
    write_transaction tx(f.db());
    journal.add_dead_letter({"a", "artifacts", "database is locked", 5}, 99);
    journal.add_dead_letter({"a", "pull_counter", "timeout", 3}, 100);
    tx.commit();
  }
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM dead_letters"), 2);
  EXPECT_EQ(f.text("SELECT error FROM dead_letters WHERE effect = "
                   "'artifacts'"),
            "database is locked");
  EXPECT_EQ(f.scalar("SELECT attempts FROM dead_letters WHERE effect = "
                     "'artifacts'"),
            5);
  EXPECT_EQ(f.scalar("SELECT created_at FROM dead_letters WHERE effect = "
                     "'pull_counter'"),
            100);
  EXPECT_EQ(f.scalar("SELECT replayed_at FROM dead_letters WHERE effect = "
                     "'pull_counter'"),
            0);
  EXPECT_EQ(f.text("SELECT event_id FROM dead_letters WHERE effect = "
                   "'pull_counter'"),
            "a");
}

TEST_F(journal_store_test, journal_survives_reopening_the_database) {
  append({make_event("a")});
  database other(f.cfg());
  journal_store reopened(other);
  EXPECT_EQ(reopened.count_pending(), 1u);
  std::vector<bool> fresh;
  write_transaction tx(other);
  reopened.append({make_event("a")}, {}, 0, fresh);
  tx.commit();
  EXPECT_EQ(fresh, (std::vector<bool>{false}));
}

/// One table as the code uses it: the columns its statements name and the
/// conflict targets of its upserts (each needs a unique index, or the
/// statement fails at run time).
struct used_table {
  std::string name;
  std::set<std::string> columns;
  std::set<std::set<std::string>> unique_keys;
};

/// Read from the SQL of persistence/, actors/journal.cpp,
/// actors/retention.cpp and http/api.cpp, not from the migrations.
const std::vector<used_table>& used_schema() {
  static const std::vector<used_table> tables{
      {"events",
       {"seq",        "id",          "received_at", "event_time",
        "action",     "repository",  "tag",         "digest",
        "media_type", "size",        "method",      "user_agent",
        "actor",      "client_addr", "source_addr", "raw",
        "status",     "reason",      "claimed_by",  "claim_expires",
        "finished_at"},
       {{"id"}}},
      {"effect_marks",
       {"event_seq", "effect", "applied_at"},
       {{"event_seq", "effect"}}},
      {"dead_letters",
       {"id", "event_id", "effect", "error", "attempts", "created_at",
        "replayed_at"},
       {}},
      {"webhook_policies",
       {"id", "project", "name", "description", "enabled", "event_types",
        "creation_time", "update_time"},
       {{"project", "name"}}},
      {"webhook_targets",
       {"policy_id", "position", "type", "address", "auth_header", "secret",
        "skip_cert_verify", "payload_format", "disabled_reason"},
       {{"policy_id", "position"}}},
      {"projects",
       {"id", "name", "public", "auto_scan", "creation_time", "update_time",
        "metadata"},
       {{"name"}}},
      {"repositories",
       {"id", "name", "project", "creation_time", "update_time",
        "description"},
       {{"name"}}},
      {"pull_counts",
       {"repository", "pull_count", "last_pull"},
       {{"repository"}}},
      {"artifacts",
       {"id", "repository", "digest", "media_type", "size", "push_time",
        "pull_time", "deleted_at", "alive_at"},
       {{"repository", "digest"}}},
      {"tags",
       {"id", "repository", "name", "digest", "push_time", "pull_time",
        "deleted_at", "alive_at", "digest_at"},
       {{"repository", "name"}}},
      {"artifact_details",
       {"repository", "digest", "status", "config_media_type",
        "artifact_type", "extra_attrs", "annotations", "refs", "size",
        "attempts", "next_attempt_at", "error", "fetched_at"},
       {{"repository", "digest"}}},
      {"access_logs",
       {"id", "event_id", "username", "project", "repository", "tag", "digest",
        "operation", "op_time", "client_addr", "user_agent"},
       {}},
      {"instances", {"id", "started_at", "heartbeat_at"}, {{"id"}}},
  };
  return tables;
}

std::set<std::string> columns_of(soci::session& sql, const std::string& table) {
  std::set<std::string> out;
  soci::rowset<std::string> rs
      = (sql.prepare << "SELECT name FROM pragma_table_info(:t)",
         soci::use(table));
  for (const auto& name : rs)
    out.insert(name);
  return out;
}

std::set<std::set<std::string>> unique_keys_of(soci::session& sql,
                                               const std::string& table) {
  std::vector<std::string> indexes;
  {
    soci::rowset<std::string> rs
        = (sql.prepare << "SELECT name FROM pragma_index_list(:t) WHERE "
                          "\"unique\" = 1",
           soci::use(table));
    indexes.assign(rs.begin(), rs.end());
  }
  std::set<std::set<std::string>> out;
  for (const auto& index : indexes) {
    std::set<std::string> key;
    soci::rowset<std::string> rs
        = (sql.prepare << "SELECT name FROM pragma_index_info(:i)",
           soci::use(index));
    for (const auto& column : rs)
      key.insert(column);
    out.insert(key);
  }
  return out;
}

std::string schema_text(soci::session& sql) {
  std::string out;
  soci::rowset<soci::row> rs = (sql.prepare << "SELECT type, name, "
                                               "COALESCE(sql, '') FROM "
                                               "sqlite_master ORDER BY name");
  for (const auto& r : rs)
    out += r.get<std::string>(0) + " " + r.get<std::string>(1) + " "
           + r.get<std::string>(2) + "\n";
  return out;
}

TEST(migrations, create_every_table_column_and_key_the_code_uses) {
  test::store_fixture f;
  for (const auto& table : used_schema()) {
    auto columns = columns_of(f.sql(), table.name);
    ASSERT_FALSE(columns.empty()) << "no table " << table.name;
    for (const auto& column : table.columns)
      EXPECT_EQ(columns.count(column), 1u) << table.name << "." << column;
    auto keys = unique_keys_of(f.sql(), table.name);
    for (const auto& key : table.unique_keys) {
      std::string named;
      for (const auto& column : key)
        named += (named.empty() ? "" : ", ") + column;
      EXPECT_EQ(keys.count(key), 1u)
          << table.name << " has no unique index on (" << named << ")";
    }
  }
}

TEST(migrations, a_second_run_changes_nothing_and_each_step_is_recorded) {
  test::store_fixture f;
  auto before = schema_text(f.sql());
  ASSERT_NE(before.find("table events "), std::string::npos) << before;
  migrate(f.db());
  EXPECT_EQ(schema_text(f.sql()), before);
  // Each step once, none skipped: a restart applies only what is new.
  std::vector<int> versions;
  soci::rowset<int> rs
      = (f.sql().prepare << "SELECT version FROM schema_migrations ORDER BY "
                            "version");
  versions.assign(rs.begin(), rs.end());
  std::vector<int> expected;
  for (int v = 1; v <= schema_version(); ++v)
    expected.push_back(v);
  EXPECT_EQ(versions, expected);
}

TEST(migrations, marks_move_to_keys_by_seq_and_none_is_lost) {
  test::store_fixture f;
  journal_store journal(f.db());
  std::vector<bool> fresh;
  journal.append({make_event("a"), make_event("b")}, {}, 0, fresh);
  // Back to the layout of step 5, with marks in it: one of an event that
  // was forgotten since (it has nothing to key by and goes).
  f.sql() << "DROP TABLE effect_marks";
  f.sql() << "CREATE TABLE event_effects (event_id TEXT NOT NULL, effect TEXT "
             "NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (event_id, "
             "effect)) WITHOUT ROWID";
  f.sql() << "INSERT INTO event_effects VALUES ('a', 'access_log', 1), ('a', "
             "'artifacts', 2), ('b', 'pull_counter', 3), ('gone', "
             "'access_log', 4)";
  // Steps after 6 run again too: their tables go.
  f.sql() << "DROP TABLE webhook_policies";
  f.sql() << "DROP TABLE webhook_targets";
  f.sql() << "DROP TABLE webhook_tasks";
  f.sql() << "DROP TABLE webhook_attempts";
  f.sql() << "DROP TABLE registries";
  f.sql() << "DROP TABLE replication_policies";
  f.sql() << "DROP TABLE replication_filters";
  f.sql() << "DROP TABLE replication_executions";
  f.sql() << "DROP TABLE replication_tasks";
  f.sql() << "DROP TABLE scanners";
  f.sql() << "DROP TABLE project_scanners";
  f.sql() << "DROP TABLE scan_tasks";
  f.sql() << "DROP TABLE scan_reports";
  f.sql() << "DROP TABLE reconcile_runs";
  f.sql() << "DROP TABLE artifact_details";
  for (const char* column :
       {"artifacts DROP COLUMN alive_at", "artifacts DROP COLUMN imported_at",
        "tags DROP COLUMN alive_at", "tags DROP COLUMN digest_at",
        "tags DROP COLUMN imported_at",
        "repositories DROP COLUMN imported_at",
        "access_logs DROP COLUMN resource_type",
        "access_logs DROP COLUMN resource",
        "repositories DROP COLUMN description",
        "projects DROP COLUMN metadata"})
    f.sql() << std::string("ALTER TABLE ") + column;
  f.sql() << "DELETE FROM schema_migrations WHERE version >= 6";
  migrate(f.db());
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                     "'event_effects'"),
            0);
  EXPECT_NE(f.text("SELECT sql FROM sqlite_master WHERE name = "
                   "'effect_marks'")
                .find("WITHOUT ROWID"),
            std::string::npos);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM effect_marks"), 3);
  EXPECT_EQ(f.scalar("SELECT applied_at FROM effect_marks m JOIN events e ON "
                     "e.seq = m.event_seq WHERE e.id = 'b' AND m.effect = "
                     "'pull_counter'"),
            3);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM effect_marks m JOIN events e ON "
                     "e.seq = m.event_seq WHERE e.id = 'a'"),
            2);
  // Still a key: a mark cannot be written twice.
  auto a = f.scalar("SELECT seq FROM events WHERE id = 'a'");
  EXPECT_THROW((f.sql() << "INSERT INTO effect_marks VALUES (:s, "
                           "'access_log', 9)",
                soci::use(a)),
               soci::soci_error);
}

TEST(database, sqlite_runs_in_wal_mode_with_the_configured_sync) {
  test::store_fixture f("  sqlite_synchronous: full\n");
  EXPECT_EQ(f.text("PRAGMA journal_mode"), "wal");
  // 2 = FULL.
  EXPECT_EQ(f.scalar("PRAGMA synchronous"), 2);
}

} // namespace
} // namespace regevent
