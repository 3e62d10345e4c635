#include "persistence/effect_store.hpp"

#include "persistence/database.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace regevent {
namespace {

const std::string oci_manifest = "application/vnd.oci.image.manifest.v1+json";
const std::string docker_manifest
    = "application/vnd.docker.distribution.manifest.v2+json";

/// Marks of the event `id` hands to an effect (of `effect`, or of any).
long long marks_of(test::store_fixture& f, const std::string& id,
                   const std::string& effect = {}) {
  long long n = 0, seq = test::seq_for(id);
  f.sql() << "SELECT COUNT(*) FROM effect_marks WHERE event_seq = :s AND "
             "(:e = '' OR effect = :e2)",
      soci::use(seq), soci::use(effect), soci::use(effect), soci::into(n);
  return n;
}

effect_input plan(event_record e, bool count_pull = false,
                  std::string project = "library") {
  effect_input p;
  p.event = std::move(e);
  p.project = std::move(project);
  p.count_pull = count_pull;
  return p;
}

effect_input push(const std::string& id, const std::string& tag,
                  const std::string& digest, timestamp_us t,
                  const std::string& repository = "library/hello") {
  auto e = test::make_event(id, "push", t);
  e.repository = repository;
  e.tag = tag;
  e.digest = digest;
  e.size = static_cast<long long>(digest.size()) * 100;
  e.media_type = digest == "sha256:bbbb" ? docker_manifest : oci_manifest;
  return plan(e);
}

effect_input pull(const std::string& id, const std::string& tag,
                  const std::string& digest, timestamp_us t,
                  const std::string& repository = "library/hello",
                  bool count = true) {
  auto e = test::make_event(id, "pull", t);
  e.repository = repository;
  e.tag = tag;
  e.digest = digest;
  return plan(e, count);
}

/// A manifest delete ({repository, digest}) or a tag delete
/// ({repository, tag}), shaped as the registry sends them.
effect_input remove(const std::string& id, const std::string& tag,
                    const std::string& digest, timestamp_us t,
                    const std::string& repository = "library/hello") {
  auto e = test::make_event(id, "delete", t);
  e.repository = repository;
  e.tag = tag;
  e.digest = digest;
  e.media_type.clear();
  e.size = 0;
  return plan(e);
}

/// Applies `batch` in one committed transaction; returns `applied`.
std::vector<bool> apply(database& db, effect_store& store,
                        const std::vector<effect_input>& batch) {
  std::vector<const effect_input*> pointers;
  for (const auto& p : batch)
    pointers.push_back(&p);
  std::vector<bool> applied;
  write_transaction tx(db);
  store.apply(pointers, applied);
  tx.commit();
  return applied;
}

// --- the store factory and completion marks --------------------------------

TEST(effect_store, factory_knows_every_configured_effect) {
  test::store_fixture f;
  for (const auto& name : effect_names())
    EXPECT_NE(make_effect_store(name, f.db(), f.cfg()), nullptr) << name;
  EXPECT_THROW(make_effect_store("teleport", f.db(), f.cfg()),
               std::invalid_argument);
  EXPECT_THROW(make_effect_store("", f.db(), f.cfg()), std::invalid_argument);
}

TEST(effect_store, second_apply_is_a_no_op) {
  test::store_fixture f;
  auto store = make_effect_store("access_log", f.db(), f.cfg());
  auto p = push("e1", "1.0", "sha256:aaaa", 10);
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{true}));
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{false}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 1);
  EXPECT_EQ(marks_of(f, "e1", "access_log"), 1);
}

TEST(effect_store, duplicate_within_one_batch_is_applied_once) {
  test::store_fixture f;
  auto store = make_effect_store("access_log", f.db(), f.cfg());
  auto p = push("e1", "1.0", "sha256:aaaa", 10);
  auto q = push("e2", "1.0", "sha256:aaaa", 11);
  EXPECT_EQ(apply(f.db(), *store, {p, q, p}),
            (std::vector<bool>{true, true, false}));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 2);
}

TEST(effect_store, marks_are_per_effect) {
  test::store_fixture f;
  auto log = make_effect_store("access_log", f.db(), f.cfg());
  auto artifacts = make_effect_store("artifacts", f.db(), f.cfg());
  auto p = push("e1", "1.0", "sha256:aaaa", 10);
  EXPECT_EQ(apply(f.db(), *log, {p}), (std::vector<bool>{true}));
  EXPECT_EQ(apply(f.db(), *artifacts, {p}), (std::vector<bool>{true}));
  EXPECT_EQ(marks_of(f, "e1"), 2);
}

TEST(effect_store, rolled_back_apply_leaves_no_mark_and_no_change) {
  test::store_fixture f;
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  auto p = pull("e1", "1.0", "sha256:aaaa", 10);
  {
    std::vector<const effect_input*> batch{&p};
    std::vector<bool> applied;
    write_transaction tx(f.db());
    store->apply(batch, applied);
    EXPECT_EQ(applied, (std::vector<bool>{true}));
    // No commit: the change and its mark go together.
  }
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM effect_marks"), 0);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM pull_counts"), 0);
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{true}));
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts"), 1);
}

TEST(effect_store, marks_survive_a_new_store_instance) {
  test::store_fixture f;
  auto p = pull("e1", "1.0", "sha256:aaaa", 10);
  {
    auto store = make_effect_store("pull_counter", f.db(), f.cfg());
    apply(f.db(), *store, {p});
  }
  // A restarted actor gets a new store: the mark still holds.
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{false}));
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts"), 1);
}

// --- access log ------------------------------------------------------------

TEST(access_log_store, writes_one_audit_row_per_event) {
  test::store_fixture f;
  auto store = make_effect_store("access_log", f.db(), f.cfg());
  auto anonymous = pull("e1", "1.0", "sha256:aaaa", 1'500);
  auto named = push("e2", "2.0", "sha256:bbbb", 2'500, "team/app");
  named.event.actor = "alice";
  named.project = "team";
  auto deleted = remove("e3", "", "sha256:aaaa", 3'500);
  apply(f.db(), *store, {anonymous, named, deleted});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM access_logs"), 3);
  EXPECT_EQ(f.text("SELECT username FROM access_logs WHERE event_id = 'e1'"),
            "anonymous");
  EXPECT_EQ(f.text("SELECT username FROM access_logs WHERE event_id = 'e2'"),
            "alice");
  EXPECT_EQ(f.text("SELECT project FROM access_logs WHERE event_id = 'e2'"),
            "team");
  EXPECT_EQ(f.text("SELECT repository FROM access_logs WHERE event_id = "
                   "'e2'"),
            "team/app");
  EXPECT_EQ(f.text("SELECT tag FROM access_logs WHERE event_id = 'e2'"), "2.0");
  EXPECT_EQ(f.text("SELECT digest FROM access_logs WHERE event_id = 'e2'"),
            "sha256:bbbb");
  EXPECT_EQ(f.text("SELECT operation FROM access_logs WHERE event_id = "
                   "'e1'"),
            "pull");
  EXPECT_EQ(f.text("SELECT operation FROM access_logs WHERE event_id = "
                   "'e2'"),
            "push");
  EXPECT_EQ(f.text("SELECT operation FROM access_logs WHERE event_id = "
                   "'e3'"),
            "delete");
  EXPECT_EQ(f.scalar("SELECT op_time FROM access_logs WHERE event_id = "
                     "'e1'"),
            1'500);
  EXPECT_EQ(f.text("SELECT client_addr FROM access_logs WHERE event_id = "
                   "'e1'"),
            "10.0.0.9:41000");
  EXPECT_EQ(f.text("SELECT user_agent FROM access_logs WHERE event_id = "
                   "'e1'"),
            "containerd/1.7.0");
  EXPECT_EQ(f.text("SELECT tag FROM access_logs WHERE event_id = 'e3'"), "");
}

// --- pull counts -----------------------------------------------------------

TEST(pull_count_store, counts_are_aggregated_per_repository) {
  test::store_fixture f;
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  apply(f.db(), *store,
        {pull("h1", "1.0", "sha256:aaaa", 30),
         pull("o1", "", "sha256:cccc", 5, "library/other"),
         pull("h2", "", "sha256:aaaa", 10),
         pull("h3", "1.0", "sha256:aaaa", 20)});
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts WHERE repository = "
                     "'library/hello'"),
            3);
  EXPECT_EQ(f.scalar("SELECT last_pull FROM pull_counts WHERE repository = "
                     "'library/hello'"),
            30);
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts WHERE repository = "
                     "'library/other'"),
            1);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM pull_counts"), 2);
}

TEST(pull_count_store, only_counted_pulls_add) {
  test::store_fixture f;
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  auto head = pull("h1", "1.0", "sha256:aaaa", 99, "library/hello", false);
  auto get = pull("g1", "1.0", "sha256:aaaa", 10);
  EXPECT_EQ(apply(f.db(), *store, {head, get}),
            (std::vector<bool>{true, true}));
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts"), 1);
  // A not-counted pull does not move last_pull either.
  EXPECT_EQ(f.scalar("SELECT last_pull FROM pull_counts"), 10);
  auto other_head
      = pull("h2", "1.0", "sha256:aaaa", 99, "library/quiet", false);
  apply(f.db(), *store, {other_head});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM pull_counts WHERE repository = "
                     "'library/quiet'"),
            0);
}

TEST(pull_count_store, counts_accumulate_across_batches_exactly_once) {
  test::store_fixture f;
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  auto a = pull("a", "1.0", "sha256:aaaa", 50);
  auto b = pull("b", "1.0", "sha256:aaaa", 40);
  auto c = pull("c", "1.0", "sha256:aaaa", 60);
  apply(f.db(), *store, {a, b});
  apply(f.db(), *store, {b, c, a, c});
  apply(f.db(), *store, {a});
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts"), 3);
  EXPECT_EQ(f.scalar("SELECT last_pull FROM pull_counts"), 60);
}

TEST(pull_count_store, last_pull_never_goes_back) {
  test::store_fixture f;
  auto store = make_effect_store("pull_counter", f.db(), f.cfg());
  apply(f.db(), *store, {pull("late", "1.0", "sha256:aaaa", 90)});
  apply(f.db(), *store, {pull("early", "1.0", "sha256:aaaa", 10)});
  EXPECT_EQ(f.scalar("SELECT last_pull FROM pull_counts"), 90);
  EXPECT_EQ(f.scalar("SELECT pull_count FROM pull_counts"), 2);
}

// --- repositories and projects ---------------------------------------------

TEST(repository_store, push_creates_repository_and_project) {
  test::store_fixture f;
  auto store = make_effect_store("repositories", f.db(), f.cfg());
  EXPECT_FALSE(store->project_exists("library"));
  apply(f.db(), *store, {push("e1", "1.0", "sha256:aaaa", 100)});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects WHERE name = "
                     "'library'"),
            1);
  EXPECT_EQ(f.text("SELECT project FROM repositories WHERE name = "
                   "'library/hello'"),
            "library");
  EXPECT_EQ(f.scalar("SELECT creation_time FROM repositories"), 100);
  EXPECT_EQ(f.scalar("SELECT update_time FROM repositories"), 100);
  EXPECT_EQ(f.scalar("SELECT creation_time FROM projects"), 100);
  EXPECT_TRUE(store->project_exists("library"));
}

TEST(repository_store, repository_without_slash_uses_the_planned_project) {
  test::store_fixture f;
  auto store = make_effect_store("repositories", f.db(), f.cfg());
  auto p = push("e1", "1.0", "sha256:aaaa", 100, "hello");
  p.project = "library";
  apply(f.db(), *store, {p});
  EXPECT_EQ(f.text("SELECT project FROM repositories WHERE name = 'hello'"),
            "library");
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects WHERE name = "
                     "'library'"),
            1);
}

TEST(repository_store, times_are_min_and_max_in_any_order) {
  test::store_fixture f;
  auto store = make_effect_store("repositories", f.db(), f.cfg());
  apply(f.db(), *store, {push("e2", "1.0", "sha256:aaaa", 200)});
  apply(f.db(), *store,
        {push("e3", "1.0", "sha256:aaaa", 300),
         push("e1", "1.0", "sha256:aaaa", 100)});
  apply(f.db(), *store, {push("e0", "1.0", "sha256:aaaa", 150)});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM repositories"), 1);
  EXPECT_EQ(f.scalar("SELECT creation_time FROM repositories"), 100);
  EXPECT_EQ(f.scalar("SELECT update_time FROM repositories"), 300);
}

TEST(repository_store, many_repositories_in_one_batch) {
  test::store_fixture f;
  auto store = make_effect_store("repositories", f.db(), f.cfg());
  auto a = push("e1", "1.0", "sha256:aaaa", 100, "team/a");
  a.project = "team";
  auto b = push("e2", "1.0", "sha256:aaaa", 100, "team/b");
  b.project = "team";
  auto c = push("e3", "1.0", "sha256:aaaa", 100, "other/c");
  c.project = "other";
  apply(f.db(), *store, {a, b, c});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM repositories"), 3);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects"), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM repositories WHERE project = "
                     "'team'"),
            2);
}

TEST(repository_store, skip_policy_creates_no_project) {
  test::store_fixture f("filter:\n  unknown_project: skip\n");
  auto store = make_effect_store("repositories", f.db(), f.cfg());
  EXPECT_FALSE(store->project_exists("library"));
  apply(f.db(), *store, {push("e1", "1.0", "sha256:aaaa", 100)});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM projects"), 0);
  EXPECT_FALSE(store->project_exists("library"));
  // A project created later (through the API) is seen: only positive
  // answers are cached.
  f.sql() << "INSERT INTO projects (name, creation_time, update_time) "
             "VALUES ('library', 1, 1)";
  EXPECT_TRUE(store->project_exists("library"));
  EXPECT_FALSE(store->project_exists("team"));
}

// --- artifacts and tags ----------------------------------------------------

/// The artifacts and tags the API shows: an artifact is visible while the
/// latest time it was seen (pushed, pulled) is later than its deletion, a
/// tag while its own is later than its own deletion and its artifact's.
template<class Fixture>
std::string visible_state(Fixture& f) {
  std::ostringstream out;
  soci::rowset<soci::row> artifacts
      = (f.sql().prepare << "SELECT repository, digest, media_type, size, "
                            "push_time, pull_time FROM artifacts WHERE "
                            "alive_at > deleted_at ORDER BY repository, "
                            "digest");
  for (const auto& r : artifacts)
    out << "artifact " << r.get<std::string>(0) << "@" << r.get<std::string>(1)
        << " " << r.get<std::string>(2) << " size=" << r.get<long long>(3)
        << " push=" << r.get<long long>(4) << " pull=" << r.get<long long>(5)
        << "\n";
  soci::rowset<soci::row> tags
      = (f.sql().prepare
         << "SELECT t.repository, t.name, t.digest, t.push_time, t.pull_time "
            "FROM tags t LEFT JOIN artifacts a ON a.repository = t.repository "
            "AND a.digest = t.digest WHERE t.alive_at > t.deleted_at AND "
            "t.alive_at > COALESCE(a.deleted_at, 0) ORDER BY t.repository, "
            "t.name");
  for (const auto& r : tags)
    out << "tag " << r.get<std::string>(0) << ":" << r.get<std::string>(1)
        << " -> " << r.get<std::string>(2) << " push=" << r.get<long long>(3)
        << " pull=" << r.get<long long>(4) << "\n";
  return out.str();
}

/// A migrated, closed database file that fresh databases are copied from,
/// so that hundreds of orders do not each pay for the migrations.
const std::string& template_database() {
  static test::temp_dir dir;
  static const std::string path = [] {
    auto p = dir.file("template.db");
    auto cfg
        = load_config_from_string("database:\n  url: sqlite://" + p + "\n");
    database db(cfg);
    migrate(db);
    return p;
  }();
  return path;
}

/// A fresh database of its own, copied from the template.
class fresh_database {
public:
  fresh_database()
      : path_(dir_.file("regevent.db")),
        cfg_(load_config_from_string("database:\n  url: sqlite://" + path_
                                     + "\n  sqlite_synchronous: \"off\"\n")) {
    std::filesystem::copy_file(template_database(), path_);
    db_ = std::make_unique<database>(cfg_);
  }
  database& db() {
    return *db_;
  }
  soci::session& sql() {
    return db_->session();
  }
  const config& cfg() const {
    return cfg_;
  }

private:
  test::temp_dir dir_;
  std::string path_;
  config cfg_;
  std::unique_ptr<database> db_;
};

/// Applies `events` in `order`, each delivery its own batch, to a fresh
/// database, and returns the visible state.
std::string state_after(const std::vector<effect_input>& events,
                        const std::vector<size_t>& order) {
  fresh_database f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  for (auto i : order)
    apply(f.db(), *store, {events[i]});
  return visible_state(f);
}

std::string describe(const std::vector<effect_input>& events,
                     const std::vector<size_t>& order) {
  std::string out;
  for (auto i : order)
    out += events[i].event.id + " ";
  return out;
}

/// The brief's scenario: tag 1.0 pushed to A, moved to B, pulled by tag and
/// by digest, A deleted, then the tag deleted.
std::vector<effect_input> moved_then_deleted() {
  return {push("push-1.0-A", "1.0", "sha256:aaaa", 10),
          push("push-1.0-B", "1.0", "sha256:bbbb", 20),
          pull("pull-1.0", "1.0", "sha256:bbbb", 30),
          pull("pull-A", "", "sha256:aaaa", 35),
          remove("delete-A", "", "sha256:aaaa", 40),
          remove("delete-1.0", "1.0", "", 50)};
}

TEST(artifact_store, moved_then_deleted_in_time_order) {
  auto events = moved_then_deleted();
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  EXPECT_EQ(state_after(events, order), "artifact library/hello@sha256:bbbb "
                                            + docker_manifest
                                            + " size=1100 push=20 pull=30\n");
}

TEST(artifact_store, every_arrival_order_gives_the_same_state) {
  auto events = moved_then_deleted();
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  const auto expected = state_after(events, order);
  size_t permutations = 0;
  do {
    ASSERT_EQ(state_after(events, order), expected)
        << "order: " << describe(events, order);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 720u);
}

/// A tag moved from A to B, then A deleted: the tag must stay on B. Two
/// more tags: 2.0 stays on A (gone with it), 3.0 on B is deleted.
std::vector<effect_input> moved_tag_survives() {
  return {push("push-1.0-A", "1.0", "sha256:aaaa", 10),
          push("push-2.0-A", "2.0", "sha256:aaaa", 12),
          push("push-1.0-B", "1.0", "sha256:bbbb", 20),
          push("push-3.0-B", "3.0", "sha256:bbbb", 22),
          pull("pull-1.0", "1.0", "sha256:bbbb", 30),
          pull("pull-A", "", "sha256:aaaa", 35),
          remove("delete-A", "", "sha256:aaaa", 40),
          remove("delete-3.0", "3.0", "", 50)};
}

const std::string moved_tag_survives_state
    = "artifact library/hello@sha256:bbbb " + docker_manifest
      + " size=1100 push=22 pull=30\n"
        "tag library/hello:1.0 -> sha256:bbbb push=20 pull=30\n";

TEST(artifact_store, moved_tag_survives_deletion_of_its_old_digest) {
  auto events = moved_tag_survives();
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  EXPECT_EQ(state_after(events, order), moved_tag_survives_state);
  // The delete of A arriving between the two pushes of 1.0 must not
  // tombstone the tag that B later takes over.
  EXPECT_EQ(state_after(events, {0, 1, 6, 2, 3, 4, 5, 7}),
            moved_tag_survives_state);
  EXPECT_EQ(state_after(events, {6, 0, 1, 2, 3, 4, 5, 7}),
            moved_tag_survives_state);
}

TEST(artifact_store, many_random_arrival_orders_give_the_same_state) {
  auto events = moved_tag_survives();
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(20261127);
  for (int round = 0; round < 200; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    ASSERT_EQ(state_after(events, order), moved_tag_survives_state)
        << "order: " << describe(events, order);
  }
}

TEST(artifact_store, all_events_in_one_batch_give_the_same_state) {
  auto events = moved_tag_survives();
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    fresh_database f;
    auto store = make_effect_store("artifacts", f.db(), f.cfg());
    std::vector<effect_input> batch;
    for (auto i : order)
      batch.push_back(events[i]);
    apply(f.db(), *store, batch);
    ASSERT_EQ(visible_state(f), moved_tag_survives_state)
        << "order: " << describe(events, order);
  }
}

TEST(artifact_store, repush_after_delete_in_every_order) {
  std::vector<effect_input> events{push("push-A-1", "1.0", "sha256:aaaa", 10),
                                   remove("delete-A", "", "sha256:aaaa", 20),
                                   push("push-A-2", "1.0", "sha256:aaaa", 30),
                                   pull("pull-A", "", "sha256:aaaa", 40)};
  const std::string expected = "artifact library/hello@sha256:aaaa "
                               + oci_manifest
                               + " size=1100 push=30 pull=40\n"
                                 "tag library/hello:1.0 -> sha256:aaaa "
                                 "push=30 pull=0\n";
  std::vector<size_t> order{0, 1, 2, 3};
  do {
    ASSERT_EQ(state_after(events, order), expected)
        << "order: " << describe(events, order);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(artifact_store, pull_before_its_push) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store, {pull("pull", "1.0", "sha256:aaaa", 30)});
  // Seen only pulled (pushed before regevent ran, or its push not yet
  // delivered): it exists, with the pull's media type and size and no
  // push time.
  EXPECT_EQ(visible_state(f),
            "artifact library/hello@sha256:aaaa " + oci_manifest
                + " size=401 push=0 pull=30\n"
                  "tag library/hello:1.0 -> sha256:aaaa push=0 pull=30\n");
  apply(f.db(), *store, {push("push", "1.0", "sha256:aaaa", 10)});
  EXPECT_EQ(visible_state(f),
            "artifact library/hello@sha256:aaaa " + oci_manifest
                + " size=1100 push=10 pull=30\n"
                  "tag library/hello:1.0 -> sha256:aaaa push=10 pull=30\n");
}

// A tag seen only in pulls (its pushes came before regevent), moved in the
// meantime: it follows the latest pull, in either arrival order.
TEST(artifact_store, a_pulled_only_tag_follows_its_latest_pull) {
  std::vector<effect_input> events{pull("old", "1.0", "sha256:aaaa", 10),
                                   pull("new", "1.0", "sha256:bbbb", 20)};
  const std::string expected
      = "artifact library/hello@sha256:aaaa " + oci_manifest
        + " size=401 push=0 pull=10\n"
          "artifact library/hello@sha256:bbbb " + oci_manifest
        + " size=401 push=0 pull=20\n"
          "tag library/hello:1.0 -> sha256:bbbb push=0 pull=20\n";
  EXPECT_EQ(state_after(events, {0, 1}), expected);
  EXPECT_EQ(state_after(events, {1, 0}), expected);
}

TEST(artifact_store, push_delivered_twice_changes_nothing_the_second_time) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  auto p = push("push", "1.0", "sha256:aaaa", 10);
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{true}));
  auto once = visible_state(f);
  EXPECT_EQ(apply(f.db(), *store, {p}), (std::vector<bool>{false}));
  EXPECT_EQ(apply(f.db(), *store, {p, p}), (std::vector<bool>{false, false}));
  EXPECT_EQ(visible_state(f), once);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM artifacts"), 1);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM tags"), 1);
}

TEST(artifact_store, delete_before_the_push_it_deletes) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store, {remove("delete", "", "sha256:aaaa", 40)});
  EXPECT_EQ(visible_state(f), "");
  apply(f.db(), *store, {push("push", "1.0", "sha256:aaaa", 10)});
  EXPECT_EQ(visible_state(f), "");
  // A push after the delete brings it back, with its tag.
  apply(f.db(), *store, {push("repush", "1.0", "sha256:aaaa", 50)});
  EXPECT_EQ(visible_state(f),
            "artifact library/hello@sha256:aaaa " + oci_manifest
                + " size=1100 push=50 pull=0\n"
                  "tag library/hello:1.0 -> sha256:aaaa push=50 pull=0\n");
}

TEST(artifact_store, tag_delete_before_the_push_it_deletes) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store, {remove("delete-tag", "1.0", "", 40)});
  apply(f.db(), *store, {push("push", "1.0", "sha256:aaaa", 10)});
  // The artifact stays (only its tag was deleted).
  EXPECT_EQ(visible_state(f), "artifact library/hello@sha256:aaaa "
                                  + oci_manifest
                                  + " size=1100 push=10 pull=0\n");
}

TEST(artifact_store, pull_by_digest_updates_only_the_artifact) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store,
        {push("push", "1.0", "sha256:aaaa", 10),
         pull("by-digest", "", "sha256:aaaa", 20)});
  EXPECT_EQ(visible_state(f),
            "artifact library/hello@sha256:aaaa " + oci_manifest
                + " size=1100 push=10 pull=20\n"
                  "tag library/hello:1.0 -> sha256:aaaa push=10 pull=0\n");
}

TEST(artifact_store, blob_delete_leaves_manifests_alone) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store, {push("push", "1.0", "sha256:aaaa", 10)});
  auto before = visible_state(f);
  apply(f.db(), *store, {remove("blob", "", "sha256:b10b", 20)});
  EXPECT_EQ(visible_state(f), before);
}

TEST(artifact_store, repositories_are_independent) {
  test::store_fixture f;
  auto store = make_effect_store("artifacts", f.db(), f.cfg());
  apply(f.db(), *store,
        {push("p1", "1.0", "sha256:aaaa", 10),
         push("p2", "1.0", "sha256:aaaa", 10, "library/other"),
         remove("d1", "", "sha256:aaaa", 20, "library/other")});
  EXPECT_EQ(visible_state(f),
            "artifact library/hello@sha256:aaaa " + oci_manifest
                + " size=1100 push=10 pull=0\n"
                  "tag library/hello:1.0 -> sha256:aaaa push=10 pull=0\n");
}

} // namespace
} // namespace regevent
