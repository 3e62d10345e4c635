// Registries and replication policies on a real SQLite file: credentials
// sealed at rest and write-only, names unique, a registry in use kept, and
// filters stored in order.

#include "persistence/replication_store.hpp"

#include "persistence/database.hpp"
#include "persistence/secret_box.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

namespace regevent {
namespace {

const std::string key = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
const std::string other_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const std::string password = "s3cret-Registry-Pa55";

registry_spec registry_named(const std::string& name,
                             const std::string& url = "https://dr.example") {
  registry_spec r;
  r.name = name;
  r.url = url;
  r.credential.type = "basic";
  r.credential.access_key = "robot";
  r.credential.access_secret = password;
  r.credential.has_access_secret = true;
  return r;
}

replication_policy_spec policy_named(const std::string& name,
                                     int64_t registry) {
  replication_policy_spec p;
  p.name = name;
  p.dest_registry_id = registry;
  p.dest_namespace = "mirror";
  p.filters = {{"name", "library/**"}, {"tag", "v*"}};
  return p;
}

class replication_store_test : public ::testing::Test {
protected:
  replication_store_test() : box(key), store(f.db(), box) {}

  test::store_fixture f;
  secret_box box;
  replication_store store;
};

TEST_F(replication_store_test, a_registry_secret_is_sealed_and_write_only) {
  auto w = store.create_registry(registry_named("dr"), 1'000);
  ASSERT_EQ(w.outcome, replication_outcome::ok);
  EXPECT_TRUE(w.registry.credential.has_access_secret);
  EXPECT_TRUE(w.registry.credential.access_secret.empty());
  auto listed = store.registries();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].credential.access_secret.empty());
  EXPECT_EQ(listed[0].credential.access_key, "robot");
  // At rest the secret is nowhere in the row.
  auto stored = f.text("SELECT access_secret FROM registries");
  EXPECT_FALSE(stored.empty());
  EXPECT_EQ(stored.find(password), std::string::npos);
  // Only the copy opens it.
  auto opened = store.with_secret(w.registry.id);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->credential.access_secret, password);
  // Under another key it does not open.
  secret_box wrong(other_key);
  replication_store elsewhere(f.db(), wrong);
  EXPECT_THROW(elsewhere.with_secret(w.registry.id), std::runtime_error);
}

TEST_F(replication_store_test, an_update_keeps_the_secret_only_for_its_server) {
  auto id = store.create_registry(registry_named("dr"), 1'000).registry.id;
  auto same = registry_named("dr-renamed");
  same.credential.has_access_secret = false;
  same.credential.access_secret.clear();
  auto w = store.update_registry(id, same, 2'000);
  ASSERT_EQ(w.outcome, replication_outcome::ok);
  EXPECT_EQ(w.registry.name, "dr-renamed");
  EXPECT_EQ(w.registry.update_time, 2'000);
  EXPECT_EQ(store.with_secret(id)->credential.access_secret, password);
  // Pointed at another server without a new secret: the old one goes.
  auto moved = same;
  moved.url = "https://elsewhere.example";
  store.update_registry(id, moved, 3'000);
  EXPECT_FALSE(store.registry(id)->credential.has_access_secret);
  EXPECT_TRUE(store.with_secret(id)->credential.access_secret.empty());
}

TEST_F(replication_store_test, registry_names_are_unique) {
  store.create_registry(registry_named("dr"), 1'000);
  EXPECT_EQ(store.create_registry(registry_named("dr"), 1'000).outcome,
            replication_outcome::name_taken);
  auto b = store.create_registry(registry_named("b"), 1'000).registry.id;
  EXPECT_EQ(store.update_registry(b, registry_named("dr"), 2'000).outcome,
            replication_outcome::name_taken);
  EXPECT_EQ(store.update_registry(9'999, registry_named("x"), 2'000).outcome,
            replication_outcome::not_found);
}

TEST_F(replication_store_test, a_policy_keeps_its_filters_in_order) {
  auto registry
      = store.create_registry(registry_named("dr"), 1'000).registry.id;
  auto w = store.create_policy(policy_named("mirror-lib", registry), 1'000);
  ASSERT_EQ(w.outcome, replication_outcome::ok);
  ASSERT_EQ(w.policy.filters.size(), 2u);
  EXPECT_EQ(w.policy.filters[0].type, "name");
  EXPECT_EQ(w.policy.filters[0].value, "library/**");
  EXPECT_EQ(w.policy.filters[1].value, "v*");
  EXPECT_EQ(w.policy.dest_namespace, "mirror");
  EXPECT_EQ(w.policy.dest_namespace_replace_count, -1);
  auto second = policy_named("tags-only", registry);
  second.filters = {{"tag", "{latest,stable}"}};
  second.deletion = true;
  second.speed_kib = 512;
  auto w2 = store.create_policy(second, 1'000);
  auto all = store.policies();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].filters.size(), 2u);
  ASSERT_EQ(all[1].filters.size(), 1u);
  EXPECT_EQ(all[1].filters[0].value, "{latest,stable}");
  EXPECT_TRUE(all[1].deletion);
  EXPECT_EQ(all[1].speed_kib, 512);
  // An update replaces the filters.
  second.filters = {};
  EXPECT_EQ(store.update_policy(w2.policy.id, second, 2'000).outcome,
            replication_outcome::ok);
  EXPECT_TRUE(store.policy(w2.policy.id)->filters.empty());
  EXPECT_EQ(
      store.create_policy(policy_named("mirror-lib", registry), 1'000).outcome,
      replication_outcome::name_taken);
}

TEST_F(replication_store_test, a_policy_needs_its_registry_which_it_keeps) {
  EXPECT_EQ(store.create_policy(policy_named("p", 42), 1'000).outcome,
            replication_outcome::no_registry);
  auto registry
      = store.create_registry(registry_named("dr"), 1'000).registry.id;
  auto policy = store.create_policy(policy_named("p", registry), 1'000);
  ASSERT_EQ(policy.outcome, replication_outcome::ok);
  EXPECT_EQ(store.remove_registry(registry), replication_outcome::in_use);
  EXPECT_TRUE(store.registry(registry));
  EXPECT_TRUE(store.remove_policy(policy.policy.id));
  EXPECT_FALSE(store.remove_policy(policy.policy.id));
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM replication_filters"), 0);
  EXPECT_EQ(store.remove_registry(registry), replication_outcome::ok);
  EXPECT_EQ(store.remove_registry(registry), replication_outcome::not_found);
}

} // namespace
} // namespace regevent
