#include "persistence/webhook_store.hpp"

#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/secret_box.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <string>

namespace regevent {
namespace {

const std::string key = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

webhook_target target(const std::string& address) {
  webhook_target t;
  t.address = address;
  t.auth_header = "Bearer t0ken-value";
  t.has_auth_header = true;
  t.secret = secret;
  t.has_secret = true;
  return t;
}

webhook_policy_spec spec(const std::string& name,
                         const std::string& project = "library") {
  webhook_policy_spec s;
  s.project = project;
  s.name = name;
  s.description = "tell the team";
  s.event_types = {"PUSH_ARTIFACT", "PULL_ARTIFACT"};
  s.targets = {target("https://hooks.example/a")};
  return s;
}

class webhook_store_test : public ::testing::Test {
protected:
  webhook_store_test() : box(key), store(f.db(), box) {
    catalog_store catalog(f.db());
    project_spec p;
    p.name = "library";
    catalog.create_project(p);
  }

  test::store_fixture f;
  secret_box box;
  webhook_store store;
};

TEST_F(webhook_store_test, a_policy_reads_back_without_its_secrets) {
  auto w = store.create(spec("team-a"), 1'000);
  ASSERT_EQ(w.outcome, webhook_outcome::ok);
  EXPECT_GT(w.policy.id, 0);
  auto p = store.find("library", w.policy.id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "team-a");
  EXPECT_EQ(p->description, "tell the team");
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->event_types,
            (std::vector<std::string>{"PUSH_ARTIFACT", "PULL_ARTIFACT"}));
  EXPECT_EQ(p->creation_time, 1'000);
  ASSERT_EQ(p->targets.size(), 1u);
  EXPECT_EQ(p->targets[0].address, "https://hooks.example/a");
  EXPECT_EQ(p->targets[0].payload_format, "Default");
  EXPECT_TRUE(p->targets[0].has_secret);
  EXPECT_TRUE(p->targets[0].has_auth_header);
  EXPECT_EQ(p->targets[0].secret, "");
  EXPECT_EQ(p->targets[0].auth_header, "");
  auto list = store.list("library");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->items.size(), 1u);
}

TEST_F(webhook_store_test, secrets_are_sealed_at_rest) {
  store.create(spec("team-a"), 1'000);
  auto stored_secret = f.text("SELECT secret FROM webhook_targets");
  auto stored_auth = f.text("SELECT auth_header FROM webhook_targets");
  EXPECT_EQ(stored_secret.find("whsec_"), std::string::npos);
  EXPECT_EQ(stored_auth.find("t0ken"), std::string::npos);
  EXPECT_EQ(box.open(stored_secret, "webhook_targets.secret"),
            std::optional<std::string>(secret));
  EXPECT_EQ(box.open(stored_auth, "webhook_targets.auth_header"),
            std::optional<std::string>("Bearer t0ken-value"));
}

TEST_F(webhook_store_test, names_are_unique_per_project_and_projects_known) {
  EXPECT_EQ(store.create(spec("team-a"), 1).outcome, webhook_outcome::ok);
  EXPECT_EQ(store.create(spec("team-a"), 2).outcome,
            webhook_outcome::name_taken);
  EXPECT_EQ(store.create(spec("team-a", "nowhere"), 3).outcome,
            webhook_outcome::no_project);
  EXPECT_FALSE(store.list("nowhere"));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM webhook_policies"), 1);
}

TEST_F(webhook_store_test,
       an_update_keeps_secrets_left_out_for_the_same_address) {
  auto id = store.create(spec("team-a"), 1).policy.id;
  auto sealed = f.text("SELECT secret FROM webhook_targets");
  auto change = spec("team-a-renamed");
  change.enabled = false;
  change.event_types = {"DELETE_ARTIFACT"};
  change.targets[0].has_secret = false; // left out: kept
  change.targets[0].has_auth_header = true;
  change.targets[0].auth_header = ""; // given empty: cleared
  change.targets.push_back(target("http://hooks.example/b"));
  change.targets[1].has_secret = false; // a new target has none to keep
  auto w = store.update(id, change, 5);
  ASSERT_EQ(w.outcome, webhook_outcome::ok);
  EXPECT_EQ(w.policy.name, "team-a-renamed");
  EXPECT_FALSE(w.policy.enabled);
  EXPECT_EQ(w.policy.update_time, 5);
  EXPECT_EQ(w.policy.creation_time, 1);
  ASSERT_EQ(w.policy.targets.size(), 2u);
  EXPECT_TRUE(w.policy.targets[0].has_secret);
  EXPECT_FALSE(w.policy.targets[0].has_auth_header);
  EXPECT_FALSE(w.policy.targets[1].has_secret);
  EXPECT_EQ(f.text("SELECT secret FROM webhook_targets WHERE position = 0"),
            sealed);
  // A target moved to another address loses what it had.
  auto moved = change;
  moved.targets[0].address = "https://elsewhere.example/";
  EXPECT_FALSE(store.update(id, moved, 6).policy.targets[0].has_secret);
}

TEST_F(webhook_store_test,
       a_secret_is_not_kept_for_a_target_that_stops_verifying) {
  auto id = store.create(spec("team-a"), 1).policy.id;
  auto change = spec("team-a");
  change.targets[0].has_secret = false;
  change.targets[0].has_auth_header = false;
  change.targets[0].skip_cert_verify = true;
  auto w = store.update(id, change, 2);
  ASSERT_EQ(w.outcome, webhook_outcome::ok);
  EXPECT_FALSE(w.policy.targets[0].has_secret);
  EXPECT_FALSE(w.policy.targets[0].has_auth_header);
  EXPECT_EQ(f.text("SELECT secret FROM webhook_targets"), "");
}

TEST_F(webhook_store_test, updates_and_deletes_need_the_policy_in_its_project) {
  auto id = store.create(spec("team-a"), 1).policy.id;
  store.create(spec("team-b"), 1);
  EXPECT_EQ(store.update(id + 100, spec("x"), 2).outcome,
            webhook_outcome::no_policy);
  EXPECT_EQ(store.update(id, spec("team-b"), 2).outcome,
            webhook_outcome::name_taken);
  EXPECT_FALSE(store.remove("other", id));
  EXPECT_TRUE(store.remove("library", id));
  EXPECT_FALSE(store.remove("library", id));
  EXPECT_FALSE(store.find("library", id));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM webhook_targets"), 1);
}

} // namespace
} // namespace regevent
