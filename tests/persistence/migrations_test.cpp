#include "persistence/migrations.hpp"

#include "config/config.hpp"
#include "persistence/database.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <string>

namespace regevent {
namespace {

class migrate_schema_test : public ::testing::Test {
protected:
  test::temp_dir dir;
  config cfg = load_config_from_string("database:\n  url: sqlite://"
                                       + dir.file("regevent.db") + "\n");
  database db{cfg};

  long long scalar(const std::string& query) {
    long long value = 0;
    db.session() << query, soci::into(value);
    return value;
  }
};

TEST_F(migrate_schema_test, says_from_which_version_to_which) {
  auto first = migrate_schema(db);
  EXPECT_EQ(first.from, 0);
  EXPECT_EQ(first.to, schema_version());
  auto again = migrate_schema(db);
  EXPECT_EQ(again.from, schema_version());
  EXPECT_EQ(again.to, schema_version());
}

TEST_F(migrate_schema_test, refuses_a_newer_schema_and_changes_nothing) {
  migrate_schema(db);
  const int newer = schema_version() + 1;
  db.session() << "INSERT INTO schema_migrations (version, description, "
                  "applied_at) VALUES ("
                      + std::to_string(newer) + ", 'from the future', 0)";
  auto tables_before = scalar("SELECT COUNT(*) FROM sqlite_master");
  try {
    migrate_schema(db);
    FAIL() << "a schema newer than this binary was accepted";
  } catch (const schema_too_new& e) {
    EXPECT_EQ(e.found, newer);
    EXPECT_EQ(e.known, schema_version());
    std::string what = e.what();
    EXPECT_NE(what.find("version " + std::to_string(newer)), std::string::npos)
        << what;
    EXPECT_NE(what.find("version " + std::to_string(schema_version())),
              std::string::npos)
        << what;
  }
  // `migrate`, which the actor tests and start-up call, refuses it too.
  EXPECT_THROW(migrate(db), schema_too_new);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sqlite_master"), tables_before);
  EXPECT_EQ(scalar("SELECT MAX(version) FROM schema_migrations"), newer);
}

} // namespace
} // namespace regevent
