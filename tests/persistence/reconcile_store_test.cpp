#include "persistence/reconcile_store.hpp"

#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <sstream>
#include <string>
#include <vector>

namespace regevent {
namespace {

const std::string oci = "application/vnd.oci.image.manifest.v1+json";
const std::string index_type = "application/vnd.oci.image.index.v1+json";

/// What the API shows of a repository, as one line per artifact (with its
/// tags) from the catalog store: what a reconcile must get right.
std::string shown(database& db, const std::string& repository) {
  catalog_store catalog(db);
  artifact_query q;
  q.repository = repository;
  q.page.size = 100;
  auto page = catalog.list_artifacts(q);
  if (!page)
    return "no repository";
  std::ostringstream out;
  for (const auto& a : page->items) {
    out << a.digest << " " << a.media_type << " push=" << a.push_time
        << " pull=" << a.pull_time << " tags=";
    for (const auto& t : a.tags)
      out << t.name << ",";
    out << "\n";
  }
  return out.str();
}

reconcile_observation observe(const std::string& repository, timestamp_us t,
                              std::vector<observed_tag> tags,
                              std::vector<observed_artifact> artifacts = {}) {
  reconcile_observation o;
  o.repository = repository;
  o.project = repository.substr(0, repository.find('/'));
  o.observed_at = t;
  o.tags = std::move(tags);
  for (const auto& tag : o.tags)
    o.artifacts.push_back({tag.digest, oci, 400});
  for (auto& a : artifacts)
    o.artifacts.push_back(std::move(a));
  return o;
}

reconcile_counts apply(test::store_fixture& f, const reconcile_observation& o,
                       unknown_project_policy policy
                       = unknown_project_policy::create) {
  reconcile_store store(f.db());
  write_transaction tx(f.db());
  auto c = store.apply(o, policy, 7);
  tx.commit();
  return c;
}

/// Applies one event to the repositories and artifacts stores, as live
/// ingest does.
void event(test::store_fixture& f, const std::string& id,
           const std::string& action, const std::string& tag,
           const std::string& digest, timestamp_us t,
           const std::string& repository = "team/app") {
  auto e = test::make_event(id, action, t);
  e.repository = repository;
  e.tag = tag;
  e.digest = digest;
  effect_input p;
  p.event = e;
  p.project = "team";
  p.count_pull = action == "pull";
  write_transaction tx(f.db());
  for (const char* effect : {"repositories", "artifacts"}) {
    auto store = make_effect_store(effect, f.db(), f.cfg());
    std::vector<bool> applied;
    store->apply({&p}, applied);
  }
  tx.commit();
}

TEST(reconcile_store, import_creates_what_the_registry_has_without_a_push_time) {
  test::store_fixture f;
  auto o = observe("team/app", 1000,
                   {{"1.0", "sha256:aaaa"}, {"latest", "sha256:aaaa"},
                    {"2.0", "sha256:bbbb"}});
  auto c = apply(f, o);
  EXPECT_EQ(c.repositories_created, 1);
  // Two artifacts and three tags.
  EXPECT_EQ(c.created, 5);
  EXPECT_EQ(c.deleted, 0);
  EXPECT_EQ(c.corrected, 0);
  EXPECT_EQ(shown(f.db(), "team/app"),
            "sha256:aaaa " + oci + " push=0 pull=0 tags=1.0,latest,\n"
            "sha256:bbbb " + oci + " push=0 pull=0 tags=2.0,\n");
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects WHERE name = 'team'"), 1);
  EXPECT_EQ(f.scalar("SELECT imported_at FROM repositories WHERE name = "
                     "'team/app'"),
            1000);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM artifacts WHERE imported_at = 1000"),
            2);
  // The audit log says who: one row per tag created.
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs WHERE username = "
                     "'regevent:reconcile' AND operation = 'push' AND "
                     "event_id = 'reconcile-7'"),
            3);
  // Pull counts are never invented.
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM pull_counts"), 0);

  // The same observation again, or a later one of the same registry,
  // changes nothing and writes no audit row.
  auto again = apply(f, o);
  EXPECT_EQ(again.created + again.deleted + again.corrected
                + again.repositories_created,
            0);
  auto later = observe("team/app", 2000,
                       {{"1.0", "sha256:aaaa"}, {"latest", "sha256:aaaa"},
                        {"2.0", "sha256:bbbb"}});
  auto c2 = apply(f, later);
  EXPECT_EQ(c2.created + c2.deleted + c2.corrected, 0);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 3);
}

TEST(reconcile_store, gaps_are_found_corrected_and_audited) {
  test::store_fixture f;
  // What events told regevent: 1.0 on A, 2.0 on B, an untagged C.
  event(f, "p1", "push", "1.0", "sha256:aaaa", 100);
  event(f, "p2", "push", "2.0", "sha256:bbbb", 110);
  event(f, "p3", "push", "", "sha256:cccc", 120);
  // The registry now: 1.0 moved to D (its push lost), 2.0 deleted (the
  // delete lost), C gone by digest, 3.0 new on D.
  auto o = observe("team/app", 1000, {{"1.0", "sha256:dddd"},
                                      {"3.0", "sha256:dddd"}});
  o.absent = {"sha256:cccc"};
  auto c = apply(f, o);
  EXPECT_EQ(c.corrected, 1);
  // D and 3.0.
  EXPECT_EQ(c.created, 2);
  // 2.0 and C.
  EXPECT_EQ(c.deleted, 2);
  // A and B stay: no one said they were deleted by digest (the walk asks
  // for every known digest no tag names, and these were not absent).
  EXPECT_EQ(shown(f.db(), "team/app"),
            "sha256:bbbb " + oci + " push=110 pull=0 tags=\n"
            "sha256:aaaa " + oci + " push=100 pull=0 tags=\n"
            "sha256:dddd " + oci + " push=0 pull=0 tags=1.0,3.0,\n");
  EXPECT_EQ(f.text("SELECT digest FROM access_logs WHERE operation = "
                   "'delete' AND tag = ''"),
            "sha256:cccc");
  EXPECT_EQ(f.text("SELECT tag FROM access_logs WHERE operation = 'delete' "
                   "AND tag <> ''"),
            "2.0");
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs WHERE operation = "
                     "'push' AND username = 'regevent:reconcile'"),
            2);
}

TEST(reconcile_store, a_repository_gone_from_the_catalog_is_deleted) {
  test::store_fixture f;
  event(f, "p1", "push", "1.0", "sha256:aaaa", 100);
  event(f, "p2", "push", "", "sha256:bbbb", 110);
  reconcile_observation o;
  o.repository = "team/app";
  o.project = "team";
  o.listed = false;
  o.observed_at = 1000;
  auto c = apply(f, o);
  // The tag and both artifacts.
  EXPECT_EQ(c.deleted, 3);
  EXPECT_EQ(shown(f.db(), "team/app"), "");
}

TEST(reconcile_store, events_newer_than_the_observation_win) {
  test::store_fixture f;
  // A push after the registry was read: the reconcile neither moves its
  // tag back nor deletes it.
  event(f, "p1", "push", "1.0", "sha256:eeee", 1500);
  auto o = observe("team/app", 1000, {{"1.0", "sha256:aaaa"}});
  apply(f, o);
  EXPECT_EQ(f.text("SELECT digest FROM tags WHERE name = '1.0'"),
            "sha256:eeee");
  auto gone = observe("team/app", 1200, {});
  EXPECT_EQ(apply(f, gone).deleted, 0);
  EXPECT_NE(shown(f.db(), "team/app").find("sha256:eeee"), std::string::npos);

  // A delete after the observation deletes what the reconcile imported; a
  // delete from before it does not bring down what the registry still
  // had when it was read.
  auto seen = observe("team/other", 2000, {{"1.0", "sha256:ffff"}});
  apply(f, seen);
  event(f, "d-old", "delete", "", "sha256:ffff", 1900, "team/other");
  EXPECT_NE(shown(f.db(), "team/other").find("sha256:ffff"),
            std::string::npos);
  event(f, "d-new", "delete", "", "sha256:ffff", 2100, "team/other");
  EXPECT_EQ(shown(f.db(), "team/other"), "");
}

// A push at 1800, the registry read at 2000 (it still has the image), and
// a delete made at 1900 but delivered late: the image stays, whichever of
// the read and the delete is applied first.
TEST(reconcile_store, a_late_older_delete_gives_the_same_rows_in_either_order) {
  std::vector<std::string> shown_after;
  for (bool read_first : {true, false}) {
    test::store_fixture f;
    event(f, "p", "push", "1.0", "sha256:aaaa", 1800);
    auto o = observe("team/app", 2000, {{"1.0", "sha256:aaaa"}});
    if (read_first) {
      apply(f, o);
      event(f, "d", "delete", "", "sha256:aaaa", 1900);
    } else {
      event(f, "d", "delete", "", "sha256:aaaa", 1900);
      apply(f, o);
    }
    shown_after.push_back(shown(f.db(), "team/app"));
  }
  EXPECT_EQ(shown_after[0], shown_after[1]);
  EXPECT_EQ(shown_after[0],
            "sha256:aaaa " + oci + " push=1800 pull=0 tags=1.0,\n");
}

TEST(reconcile_store, counts_only_what_changed_what_regevent_shows) {
  test::store_fixture f;
  // A delete after the read: the read neither brings the artifact back
  // nor counts it as created.
  event(f, "p", "push", "1.0", "sha256:aaaa", 100);
  event(f, "d", "delete", "", "sha256:aaaa", 3000);
  auto c = apply(f, observe("team/app", 2000, {{"1.0", "sha256:aaaa"}}));
  EXPECT_EQ(c.created + c.corrected + c.deleted, 0);
  EXPECT_EQ(shown(f.db(), "team/app"), "");
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs WHERE username = "
                     "'regevent:reconcile'"),
            0);
}

TEST(reconcile_store, index_children_are_artifacts_of_their_own) {
  test::store_fixture f;
  auto o = observe("team/multi", 1000, {},
                   {{"sha256:1111", oci, 500}, {"sha256:2222", oci, 501}});
  o.tags = {{"1.0", "sha256:9999"}};
  o.artifacts.push_back({"sha256:9999", index_type, 300});
  auto c = apply(f, o);
  EXPECT_EQ(c.created, 4);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM artifacts WHERE repository = "
                     "'team/multi' AND alive_at > deleted_at"),
            3);
  EXPECT_EQ(f.text("SELECT media_type FROM artifacts WHERE digest = "
                   "'sha256:9999'"),
            index_type);
  // The untagged children are audited by digest, the index by its tag.
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs WHERE tag = '' AND "
                     "operation = 'push'"),
            2);
}

TEST(reconcile_store, unknown_project_skip_imports_nothing_of_it) {
  test::store_fixture f;
  auto o = observe("team/app", 1000, {{"1.0", "sha256:aaaa"}});
  auto c = apply(f, o, unknown_project_policy::skip);
  EXPECT_EQ(c.created + c.repositories_created, 0);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM repositories"), 0);
  f.sql() << "INSERT INTO projects (name, creation_time, update_time) VALUES "
             "('team', 1, 1)";
  EXPECT_EQ(apply(f, o, unknown_project_policy::skip).repositories_created, 1);
}

TEST(reconcile_store, one_unfinished_run_at_a_time) {
  test::store_fixture f;
  reconcile_store store(f.db());
  reconcile_run unfinished;
  auto first = store.request(reconcile_trigger::manual, 100, unfinished);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, reconcile_status::pending);
  EXPECT_FALSE(store.request(reconcile_trigger::manual, 101, unfinished));
  EXPECT_EQ(unfinished.id, first->id);

  // Two instances look: one takes it.
  auto a = store.claim("a", 200, 10'000, "", 0);
  auto b = store.claim("b", 200, 10'000, "", 0);
  ASSERT_TRUE(a);
  EXPECT_FALSE(b);
  EXPECT_EQ(a->status, reconcile_status::running);
  EXPECT_EQ(a->instance, "a");
  EXPECT_FALSE(store.request(reconcile_trigger::manual, 300, unfinished));
  EXPECT_EQ(unfinished.status, reconcile_status::running);

  // Its lease renewed by its holder only.
  reconcile_counts progress;
  progress.repositories_walked = 3;
  EXPECT_TRUE(store.renew(a->id, "a", 20'000, progress));
  EXPECT_FALSE(store.renew(a->id, "b", 20'000, progress));
  store.finish(a->id, "a", true, "", progress, 500);
  auto runs = store.runs(5);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, reconcile_status::succeeded);
  EXPECT_EQ(runs[0].counts.repositories_walked, 3);
  EXPECT_EQ(runs[0].finished_at, 500);
}

TEST(reconcile_store, a_dead_instance_run_fails_when_its_lease_expires) {
  test::store_fixture f;
  reconcile_store store(f.db());
  reconcile_run unfinished;
  ASSERT_TRUE(store.request(reconcile_trigger::manual, 100, unfinished));
  auto a = store.claim("a", 200, 1'000, "", 0);
  ASSERT_TRUE(a);
  // Before the lease ends nothing new starts; after it, the run is failed
  // and a new one may be queued.
  EXPECT_FALSE(store.request(reconcile_trigger::manual, 900, unfinished));
  auto next = store.request(reconcile_trigger::manual, 1'100, unfinished);
  ASSERT_TRUE(next);
  auto runs = store.runs(5);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].status, reconcile_status::failed);
  EXPECT_NE(runs[1].error.find("lease expired"), std::string::npos);
  // The dead instance's late end changes nothing.
  store.finish(a->id, "a", true, "", {}, 1'200);
  EXPECT_EQ(store.runs(5)[1].status, reconcile_status::failed);
}

TEST(reconcile_store, a_schedule_starts_one_run_per_interval_across_instances) {
  test::store_fixture f;
  reconcile_store store(f.db());
  // Due (nothing ran since 0): the first instance starts and takes it.
  auto a = store.claim("a", 1'000, 5'000, reconcile_trigger::schedule, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->trigger, reconcile_trigger::schedule);
  store.finish(a->id, "a", true, "", {}, 1'500);
  // The second instance, due at the same time, finds the run made after
  // its due time and starts none.
  EXPECT_FALSE(store.claim("b", 1'600, 5'000, reconcile_trigger::schedule, 0));
  // An interval later it is due again.
  EXPECT_TRUE(
      store.claim("b", 9'000, 15'000, reconcile_trigger::schedule, 1'001));
}

} // namespace
} // namespace regevent
