// Replication's outbox and work queue on a real SQLite file: the effect
// writes one execution and task per selecting policy exactly once, workers
// claim only the oldest unfinished task of a destination repository, a
// lease guards every outcome, executions end with their last task, a stop
// holds the repository until its copy lets go, and a failed or stopped
// execution runs again.

#include "persistence/replication_work_store.hpp"

#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/replication_store.hpp"
#include "persistence/secret_box.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regevent {
namespace {

const std::string key = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";

class replication_work_test : public ::testing::Test {
protected:
  replication_work_test()
      : box(key),
        config_store(f.db(), box),
        work(f.db(), box),
        outbox(make_effect_store(effect_kind::replication, f.db(),
                                 unknown_project_policy::create)) {
    registry_spec r;
    r.name = "dr";
    r.url = "https://dr.example";
    r.credential.type = "basic";
    r.credential.access_key = "robot";
    r.credential.access_secret = "pa55";
    r.credential.has_access_secret = true;
    registry = config_store.create_registry(r, 1).registry.id;
  }

  int64_t policy(const std::string& name,
                 std::vector<replication_filter> filters,
                 bool deletion = false, const std::string& ns = "mirror",
                 int64_t replace = -1) {
    replication_policy_spec p;
    p.name = name;
    p.dest_registry_id = registry;
    p.dest_namespace = ns;
    p.dest_namespace_replace_count = replace;
    p.filters = std::move(filters);
    p.deletion = deletion;
    return config_store.create_policy(p, 1).policy.id;
  }

  /// Applies events to the replication effect in one transaction.
  std::vector<bool> apply(const std::vector<event_record>& events) {
    std::vector<effect_input> inputs;
    for (const auto& e : events) {
      effect_input p;
      p.event = e;
      p.project = "library";
      inputs.push_back(std::move(p));
    }
    std::vector<const effect_input*> pointers;
    for (const auto& p : inputs)
      pointers.push_back(&p);
    std::vector<bool> applied;
    write_transaction tx(f.db());
    outbox->apply(pointers, applied);
    tx.commit();
    return applied;
  }

  event_record push(const std::string& id, const std::string& repository,
                    const std::string& tag) {
    auto e = test::make_event(id, "push");
    // In the order pushed, as the journal numbers them: the effect writes
    // a batch's tasks in seq order.
    e.seq = ++seq;
    e.repository = repository;
    e.tag = tag;
    return e;
  }

  /// A time on a clock that starts after the effect wrote its tasks (at
  /// the real now), so that they are due.
  timestamp_us t(timestamp_us offset) const {
    return base + offset;
  }

  long long tasks() {
    return f.scalar("SELECT COUNT(*) FROM replication_tasks");
  }

  test::store_fixture f;
  secret_box box;
  replication_store config_store;
  replication_work_store work;
  std::unique_ptr<effect_store> outbox;
  int64_t registry = 0;
  long long seq = 0;
  timestamp_us base = now_us() + 10'000'000;
};

TEST(destination_repository, follows_harbors_namespace_replacement) {
  EXPECT_EQ(*destination_repository("library/hello", "", -1), "library/hello");
  EXPECT_EQ(*destination_repository("a/b/c", "mirror", -1), "mirror/c");
  EXPECT_EQ(*destination_repository("hello", "mirror", -1), "mirror/hello");
  EXPECT_EQ(*destination_repository("a/b/c", "mirror", 0), "mirror/a/b/c");
  EXPECT_EQ(*destination_repository("a/b/c", "mirror", 1), "mirror/b/c");
  EXPECT_EQ(*destination_repository("a/b/c", "mirror", 2), "mirror/c");
  EXPECT_FALSE(destination_repository("a/b/c", "mirror", 3));
  EXPECT_FALSE(destination_repository("hello", "mirror", 1));
}

TEST(policy_selects, name_on_the_whole_name_and_tag_on_each_tag) {
  std::vector<replication_filter> f{{"name", "library/**"}, {"tag", "v{1,2}*"}};
  EXPECT_TRUE(policy_selects(f, "library/a/b", "v1.0"));
  EXPECT_TRUE(policy_selects(f, "library/a", "v2"));
  EXPECT_FALSE(policy_selects(f, "other/a", "v1.0"));
  EXPECT_FALSE(policy_selects(f, "library/a", "v3"));
  // An untagged artifact matches no tag filter.
  EXPECT_FALSE(policy_selects(f, "library/a", ""));
  EXPECT_TRUE(policy_selects({}, "any/thing", ""));
}

TEST_F(replication_work_test, a_push_gets_one_task_per_selecting_policy_once) {
  auto all = policy("all", {});
  auto only_v = policy("only-v", {{"tag", "v*"}});
  policy("other-repo", {{"name", "other/**"}});
  auto e = push("p1", "library/hello", "v1");
  EXPECT_EQ(apply({e}), std::vector<bool>{true});
  EXPECT_EQ(tasks(), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM replication_tasks WHERE "
                     "policy_id = "
                     + std::to_string(all)),
            1);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM replication_tasks WHERE "
                     "policy_id = "
                     + std::to_string(only_v)),
            1);
  EXPECT_EQ(f.text("SELECT dst_repository FROM replication_tasks LIMIT 1"),
            "mirror/hello");
  // The same event again (redelivered, recovered): nothing new.
  EXPECT_EQ(apply({e}), std::vector<bool>{false});
  EXPECT_EQ(tasks(), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM replication_executions"), 2);
  // A tag the filter does not take.
  apply({push("p2", "library/hello", "latest")});
  EXPECT_EQ(tasks(), 3);
}

TEST_F(replication_work_test, untagged_pushes_pulls_and_disabled_policies_make_none) {
  policy("all", {});
  replication_policy_spec off;
  off.name = "off";
  off.dest_registry_id = registry;
  off.enabled = false;
  config_store.create_policy(off, 1);
  auto child = push("c1", "library/multi", "");
  auto pull = test::make_event("g1", "pull");
  apply({child, pull});
  EXPECT_EQ(tasks(), 0);
}

TEST_F(replication_work_test, deletes_replicate_only_for_policies_with_deletion) {
  policy("copies", {});
  auto deleting = policy("deletes", {}, true);
  auto d = test::make_event("d1", "delete");
  d.tag = "";
  apply({d});
  ASSERT_EQ(tasks(), 1);
  EXPECT_EQ(f.scalar("SELECT policy_id FROM replication_tasks"), deleting);
  EXPECT_EQ(f.text("SELECT operation FROM replication_tasks"), "deletion");
  // A manifest delete names the digest.
  EXPECT_EQ(f.text("SELECT dst_reference FROM replication_tasks"),
            "sha256:aaaa");
}

TEST_F(replication_work_test, a_name_the_policy_cannot_rename_fails_at_once) {
  policy("deep", {}, false, "mirror", 3);
  apply({push("p1", "library/hello", "v1")});
  ASSERT_EQ(tasks(), 1);
  EXPECT_EQ(f.text("SELECT status FROM replication_tasks"), "Failed");
  EXPECT_EQ(f.text("SELECT status FROM replication_executions"), "Failed");
  EXPECT_NE(f.text("SELECT error FROM replication_tasks")
                .find("dest_namespace_replace_count"),
            std::string::npos);
}

TEST_F(replication_work_test, one_task_of_a_repository_at_a_time_in_order) {
  policy("all", {});
  apply({push("p1", "library/a", "1"), push("p2", "library/a", "2"),
         push("p3", "library/b", "1")});
  auto first = work.claim(t(100), 10, t(1'000));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].dst_repository, "mirror/a");
  EXPECT_EQ(first[0].src_reference, "1");
  EXPECT_EQ(first[1].dst_repository, "mirror/b");
  // The secret is open for the copy.
  EXPECT_EQ(first[0].destination.credential.access_secret, "pa55");
  // Tag 2 of library/a waits behind tag 1 while it runs.
  EXPECT_TRUE(work.claim(t(200), 10, t(2'000)).empty());
  replication_outcome_record done;
  done.task_id = first[0].task_id;
  done.execution_id = first[0].execution_id;
  done.lease = first[0].lease;
  done.status = replication_status::succeed;
  done.digest = "sha256:aaaa";
  done.bytes_copied = 42;
  done.started_at = t(150);
  work.record({done}, t(300));
  auto next = work.claim(t(400), 10, t(3'000));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].src_reference, "2");
  auto x = work.execution(first[0].execution_id);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->status, "Succeed");
  EXPECT_EQ(x->succeed, 1);
  EXPECT_EQ(x->end_time, t(300));
}

TEST_F(replication_work_test, an_outcome_counts_only_under_its_lease) {
  policy("all", {});
  apply({push("p1", "library/a", "1")});
  auto a = work.claim(t(100), 1, t(1'000));
  ASSERT_EQ(a.size(), 1u);
  // The lease expires (the worker stalled); another claim takes it.
  auto b = work.claim(t(1'001), 1, t(5'000));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].task_id, a[0].task_id);
  // The stale worker's renewal and outcome are refused.
  EXPECT_TRUE(work.renew({{a[0].task_id, a[0].lease}}, t(9'000)).empty());
  replication_outcome_record stale;
  stale.task_id = a[0].task_id;
  stale.execution_id = a[0].execution_id;
  stale.lease = a[0].lease;
  stale.status = replication_status::failed;
  stale.error = "late";
  work.record({stale}, t(1'100));
  EXPECT_EQ(f.text("SELECT status FROM replication_tasks"), "InProgress");
  // The holder renews, then its retry is recorded.
  auto kept = work.renew({{b[0].task_id, b[0].lease}}, t(9'000));
  ASSERT_EQ(kept.size(), 1u);
  replication_outcome_record retry;
  retry.task_id = b[0].task_id;
  retry.execution_id = b[0].execution_id;
  retry.lease = t(9'000);
  retry.status = replication_status::pending;
  retry.next_attempt_at = t(20'000);
  retry.error = "HTTP 503";
  work.record({retry}, t(1'200));
  EXPECT_EQ(f.text("SELECT status FROM replication_tasks"), "Pending");
  EXPECT_EQ(f.scalar("SELECT attempts FROM replication_tasks"), 1);
  EXPECT_TRUE(work.claim(t(19'999), 1, t(30'000)).empty());
  EXPECT_EQ(work.claim(t(20'000), 1, t(30'000)).size(), 1u);
}

TEST_F(replication_work_test, a_task_given_back_is_due_at_once_without_an_attempt) {
  policy("all", {});
  apply({push("p1", "library/a", "1")});
  auto a = work.claim(t(100), 1, t(100'000));
  ASSERT_EQ(a.size(), 1u);
  replication_outcome_record back;
  back.task_id = a[0].task_id;
  back.execution_id = a[0].execution_id;
  back.lease = a[0].lease;
  back.attempted = false;
  back.next_attempt_at = t(200);
  work.record({back}, t(200));
  EXPECT_EQ(f.scalar("SELECT attempts FROM replication_tasks"), 0);
  EXPECT_EQ(work.claim(t(200), 1, t(300'000)).size(), 1u);
}

TEST_F(replication_work_test, a_failed_execution_runs_again_with_a_fresh_budget) {
  policy("all", {});
  apply({push("p1", "library/a", "1")});
  auto a = work.claim(t(100), 1, t(1'000));
  ASSERT_EQ(a.size(), 1u);
  replication_outcome_record failed;
  failed.task_id = a[0].task_id;
  failed.execution_id = a[0].execution_id;
  failed.lease = a[0].lease;
  failed.status = replication_status::failed;
  failed.error = "HTTP 401 UNAUTHORIZED";
  work.record({failed}, t(200));
  replication_execution x;
  ASSERT_EQ(work.retry(a[0].execution_id, t(300), x), replication_lookup::ok);
  EXPECT_EQ(x.status, "InProgress");
  EXPECT_EQ(x.in_progress, 1);
  auto again = work.claim(t(300), 1, t(2'000));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].retry_base, 1);
  // Only a failed (or stopped) execution runs again.
  EXPECT_EQ(work.retry(a[0].execution_id, t(400), x),
            replication_lookup::not_failed);
  EXPECT_EQ(work.retry(999, t(400), x), replication_lookup::no_execution);
}

TEST_F(replication_work_test, a_manual_run_is_listed_into_tasks) {
  auto id = policy("manual", {{"name", "library/**"}});
  replication_execution x;
  ASSERT_EQ(work.start_manual(id, 100, x), replication_lookup::ok);
  EXPECT_EQ(x.trigger, "manual");
  EXPECT_EQ(x.status, "InProgress");
  EXPECT_EQ(work.start_manual(999, 100, x), replication_lookup::no_policy);
  auto listing = work.claim_listing(100, 5'000);
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->policy.filters.size(), 1u);
  // Leased: not listed twice at once.
  EXPECT_FALSE(work.claim_listing(200, 6'000));
  work.record_listing(*listing,
                      {{"library/a", "1"}, {"library/b", "2"}}, "", 300);
  auto t = work.tasks(listing->execution_id);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->items.size(), 2u);
  EXPECT_EQ(t->items[0].src_resource, "library/a:1");
  EXPECT_EQ(t->items[0].dst_resource, "mirror/a:1");
  EXPECT_EQ(work.claim(300, 10, 9'000).size(), 2u);
  // A run that finds nothing succeeds at once.
  ASSERT_EQ(work.start_manual(id, 400, x), replication_lookup::ok);
  auto empty = work.claim_listing(400, 9'000);
  ASSERT_TRUE(empty);
  work.record_listing(*empty, {}, "", 500);
  EXPECT_EQ(work.execution(empty->execution_id)->status, "Succeed");
  // A listing that failed fails its execution with the reason.
  ASSERT_EQ(work.start_manual(id, 600, x), replication_lookup::ok);
  auto broken = work.claim_listing(600, 9'000);
  ASSERT_TRUE(broken);
  work.record_listing(*broken, {}, "GET /v2/_catalog: HTTP 401", 700);
  auto failed = work.execution(broken->execution_id);
  EXPECT_EQ(failed->status, "Failed");
  EXPECT_NE(failed->status_text.find("HTTP 401"), std::string::npos);
  auto page = work.executions({id, 1, 10});
  EXPECT_EQ(page.total, 3);
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_EQ(page.items[0].id, broken->execution_id);
}

TEST_F(replication_work_test, a_deleted_policy_or_registry_makes_a_task_unusable) {
  auto id = policy("all", {});
  apply({push("p1", "library/a", "1")});
  ASSERT_TRUE(config_store.remove_policy(id));
  auto a = work.claim(t(100), 1, t(1'000));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].unusable, "the policy was deleted");
}

TEST_F(replication_work_test, a_stop_ends_the_execution_and_refuses_its_copies) {
  policy("all", {});
  apply({push("p1", "library/a", "1"), push("p2", "library/a", "2"),
         push("p3", "library/b", "1")});
  // Three executions (one per event); the first of library/a is copying.
  auto running = work.claim(t(100), 1, t(9'000));
  ASSERT_EQ(running.size(), 1u);
  auto id = running[0].execution_id;
  replication_execution x;
  ASSERT_EQ(work.stop(id, t(200), x), replication_lookup::ok);
  EXPECT_EQ(x.status, "Stopped");
  EXPECT_EQ(x.stopped, 1);
  EXPECT_EQ(x.in_progress, 0);
  EXPECT_EQ(x.end_time, t(200));
  // The copy in flight loses its lease: its renewal and outcome are
  // refused, and its execution stays Stopped.
  EXPECT_TRUE(
      work.renew({{running[0].task_id, running[0].lease}}, t(20'000)).empty());
  replication_outcome_record late;
  late.task_id = running[0].task_id;
  late.execution_id = id;
  late.lease = running[0].lease;
  late.status = replication_status::succeed;
  work.record({late}, t(300));
  EXPECT_EQ(work.execution(id)->status, "Stopped");
  EXPECT_EQ(work.tasks(id)->items[0].status, "Stopped");
  // Its copy may still run until the worker lets go: the repository's
  // next task waits (so that an older manifest cannot land last); another
  // repository's does not.
  auto next = work.claim(t(400), 5, t(20'000));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].src_repository, "library/b");
  // A re-run meanwhile is due only once the stopped copy has let go.
  ASSERT_EQ(work.retry(id, t(500), x), replication_lookup::ok);
  EXPECT_EQ(x.status, "InProgress");
  EXPECT_EQ(x.in_progress, 1);
  EXPECT_TRUE(work.claim(t(600), 5, t(20'000)).empty());
  // The worker's copy ended: the re-run's task is due now, ahead of the
  // repository's later one.
  work.release_stopped(running[0].task_id, running[0].lease, t(700));
  auto again = work.claim(t(700), 5, t(20'000));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].task_id, running[0].task_id);
  // A stop of an ended execution changes nothing; an unknown one is not
  // found.
  replication_execution other;
  ASSERT_EQ(work.stop(next[0].execution_id, t(800), other),
            replication_lookup::ok);
  ASSERT_EQ(work.stop(next[0].execution_id, t(900), other),
            replication_lookup::ok);
  EXPECT_EQ(other.end_time, t(800));
  EXPECT_EQ(work.stop(999, t(900), x), replication_lookup::no_execution);
}

TEST_F(replication_work_test, a_stopped_task_lets_its_repository_go_when_its_lease_expires) {
  policy("all", {});
  apply({push("p1", "library/a", "1"), push("p2", "library/a", "2")});
  auto running = work.claim(t(100), 1, t(1'000));
  ASSERT_EQ(running.size(), 1u);
  replication_execution x;
  ASSERT_EQ(work.stop(running[0].execution_id, t(200), x),
            replication_lookup::ok);
  EXPECT_TRUE(work.claim(t(999), 5, t(9'000)).empty());
  // The worker died without letting go: the lease's end frees it.
  auto next = work.claim(t(1'001), 5, t(9'000));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].task_id, running[0].task_id);
}

TEST_F(replication_work_test, a_manual_run_stopped_before_its_listing_lists_nothing) {
  auto id = policy("all", {});
  replication_execution x;
  ASSERT_EQ(work.start_manual(id, 100, x), replication_lookup::ok);
  auto listing = work.claim_listing(100, 9'000);
  ASSERT_TRUE(listing);
  ASSERT_EQ(work.stop(x.id, 200, x), replication_lookup::ok);
  replication_listed found;
  found.src_repository = "library/a";
  found.tag = "1";
  work.record_listing(*listing, {found}, "", 300);
  EXPECT_EQ(tasks(), 0);
  EXPECT_EQ(work.execution(x.id)->status, "Stopped");
  EXPECT_FALSE(work.claim_listing(400, 9'000));
}

TEST_F(replication_work_test, ended_executions_past_retention_are_deleted_with_their_tasks) {
  policy("all", {});
  apply({push("p1", "library/a", "1"), push("p2", "library/b", "1"),
         push("p3", "library/c", "1")});
  auto claimed = work.claim(t(100), 3, t(9'000));
  ASSERT_EQ(claimed.size(), 3u);
  // a and b end at t(200) and t(300); c is still copying.
  std::vector<replication_outcome_record> ended;
  for (size_t i = 0; i < 2; ++i) {
    replication_outcome_record o;
    o.task_id = claimed[i].task_id;
    o.execution_id = claimed[i].execution_id;
    o.lease = claimed[i].lease;
    o.status = replication_status::succeed;
    work.record({o}, t(200 + 100 * static_cast<timestamp_us>(i)));
  }
  // A REPLICATION delivery that has not gone out yet names b.
  long long b = claimed[1].execution_id;
  f.sql() << "INSERT INTO webhook_tasks (webhook_id, event_seq, policy_id, "
             "target_position, event_type, project, occur_at, "
             "next_attempt_at, created_at, updated_at, "
             "replication_execution) VALUES ('w1', 0, 1, 0, 'REPLICATION', "
             "'library', 1, 1, 1, 1, :b)",
      soci::use(b);
  // Nothing ended before t(200).
  EXPECT_EQ(work.purge_finished(t(200), 10), 0u);
  // a goes with its task; b waits for its delivery; c has not ended.
  EXPECT_EQ(work.purge_finished(t(10'000), 10), 1u);
  EXPECT_FALSE(work.execution(claimed[0].execution_id));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM replication_tasks WHERE "
                     "execution_id = "
                     + std::to_string(claimed[0].execution_id)),
            0);
  EXPECT_TRUE(work.execution(b));
  EXPECT_TRUE(work.execution(claimed[2].execution_id));
  // Once the delivery is sent, b goes too.
  f.sql() << "UPDATE webhook_tasks SET status = 'succeeded'";
  EXPECT_EQ(work.purge_finished(t(10'000), 10), 1u);
  EXPECT_FALSE(work.execution(b));
  EXPECT_EQ(tasks(), 1);
}

} // namespace
} // namespace regevent
