// Scanner registrations on a real SQLite file: the credential is sealed at
// rest and write-only, the first registration is the default and only one
// is, the default cannot be deleted or disabled, and a project uses its own
// scanner or else the default.

#include "persistence/scanner_store.hpp"

#include "persistence/database.hpp"
#include "persistence/secret_box.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace regevent {
namespace {

const std::string key = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
const std::string other_key = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGw=";

class scanner_store_test : public ::testing::Test {
protected:
  scanner_store_test() : box(key), store(f.db(), box) {}

  scanner_spec spec(const std::string& name,
                    const std::string& credential = "") {
    scanner_spec s;
    s.name = name;
    s.url = "http://127.0.0.1:8081";
    s.auth = credential.empty() ? scanner_auth::none : scanner_auth::bearer;
    s.access_credential = credential;
    s.has_access_credential = !credential.empty();
    return s;
  }

  test::store_fixture f;
  secret_box box;
  scanner_store store;
};

TEST(new_uuid, is_a_random_lowercase_version_4_uuid) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto id = new_uuid();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(scanner_store_test, the_credential_is_sealed_and_write_only) {
  auto w = store.create(spec("trivy", "s3cret-token"), new_uuid(), 100);
  ASSERT_EQ(w.outcome, scanner_outcome::ok);
  EXPECT_TRUE(w.scanner.has_access_credential);
  EXPECT_TRUE(w.scanner.access_credential.empty());
  // Not in the database in the clear.
  auto stored = f.text("SELECT access_credential FROM scanners");
  EXPECT_FALSE(stored.empty());
  EXPECT_EQ(stored.find("s3cret-token"), std::string::npos);
  EXPECT_TRUE(store.scanner(w.scanner.uuid)->access_credential.empty());
  EXPECT_EQ(store.with_credential(w.scanner.uuid)->access_credential,
            "s3cret-token");
  // Another key opens nothing.
  secret_box wrong(other_key);
  scanner_store elsewhere(f.db(), wrong);
  EXPECT_THROW(elsewhere.with_credential(w.scanner.uuid), std::runtime_error);
}

TEST_F(scanner_store_test, an_update_keeps_the_credential_only_for_the_same_adapter) {
  auto w = store.create(spec("trivy", "token-1"), new_uuid(), 100);
  auto id = w.scanner.uuid;
  auto same = spec("trivy");
  same.auth = scanner_auth::bearer;
  same.description = "renamed nothing, described";
  ASSERT_EQ(store.update(id, same, 200).outcome, scanner_outcome::ok);
  EXPECT_EQ(store.with_credential(id)->access_credential, "token-1");
  // Another URL: the credential was given for the old one.
  auto moved = same;
  moved.url = "http://127.0.0.1:9999";
  ASSERT_EQ(store.update(id, moved, 300).outcome, scanner_outcome::ok);
  EXPECT_FALSE(store.scanner(id)->has_access_credential);
  EXPECT_EQ(store.update(new_uuid(), same, 400).outcome,
            scanner_outcome::not_found);
}

TEST_F(scanner_store_test, the_first_is_the_default_and_only_one_is) {
  auto a = store.create(spec("a"), new_uuid(), 100).scanner;
  auto b = store.create(spec("b"), new_uuid(), 200).scanner;
  EXPECT_TRUE(a.is_default);
  EXPECT_FALSE(b.is_default);
  EXPECT_EQ(store.create(spec("a"), new_uuid(), 300).outcome,
            scanner_outcome::name_taken);
  ASSERT_EQ(store.set_default(b.uuid, true, 400), scanner_outcome::ok);
  EXPECT_FALSE(store.scanner(a.uuid)->is_default);
  EXPECT_TRUE(store.scanner(b.uuid)->is_default);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scanners WHERE is_default = 1"), 1);
  // The default is neither deleted nor disabled; another one is.
  EXPECT_EQ(store.remove(b.uuid), scanner_outcome::is_default);
  auto off = spec("b");
  off.disabled = true;
  EXPECT_EQ(store.update(b.uuid, off, 500).outcome,
            scanner_outcome::is_default);
  auto a_off = spec("a");
  a_off.disabled = true;
  EXPECT_EQ(store.update(a.uuid, a_off, 600).outcome, scanner_outcome::ok);
  EXPECT_EQ(store.remove(a.uuid), scanner_outcome::ok);
  EXPECT_EQ(store.remove(a.uuid), scanner_outcome::not_found);
  EXPECT_EQ(store.scanners().size(), 1u);
}

TEST_F(scanner_store_test, a_project_uses_its_own_scanner_or_the_default) {
  EXPECT_FALSE(store.of_project("library"));
  auto a = store.create(spec("a"), new_uuid(), 100).scanner;
  auto b = store.create(spec("b"), new_uuid(), 200).scanner;
  EXPECT_EQ(store.of_project("library")->uuid, a.uuid);
  ASSERT_EQ(store.set_for_project("library", b.uuid), scanner_outcome::ok);
  EXPECT_EQ(store.of_project("library")->uuid, b.uuid);
  EXPECT_EQ(store.of_project("team")->uuid, a.uuid);
  EXPECT_EQ(store.set_for_project("library", new_uuid()),
            scanner_outcome::not_found);
  // Set again: replaced, not duplicated.
  ASSERT_EQ(store.set_for_project("library", a.uuid), scanner_outcome::ok);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM project_scanners"), 1);
  ASSERT_EQ(store.set_for_project("library", b.uuid), scanner_outcome::ok);
  // Its scanner deleted, the project falls back to the default.
  ASSERT_EQ(store.remove(b.uuid), scanner_outcome::ok);
  EXPECT_EQ(store.of_project("library")->uuid, a.uuid);
}

} // namespace
} // namespace regevent
