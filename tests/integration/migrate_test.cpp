// `regeventd migrate` and a schema newer than the binary, on the real
// daemon: SQLite, and PostgreSQL in the postgresql.* run of this suite.

#include "persistence/database.hpp"
#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace regevent::test {
namespace {

class migrate_command : public ::testing::Test {
protected:
  temp_dir dir;
  std::string db = test_database_url(dir);
  std::string config_path = dir.file("regevent.yml");

  void SetUp() override {
    write_file(config_path,
               "listen: 127.0.0.1:0\ndatabase:\n  url: " + db + "\n");
  }

  /// Records a step this binary does not know, as a newer regeventd
  /// would have.
  int pretend_newer_schema() {
    int newer = schema_version() + 1;
    sql_exec(db, "INSERT INTO schema_migrations (version, description, "
                 "applied_at) VALUES ("
                     + std::to_string(newer) + ", 'from the future', 0)");
    return newer;
  }
};

TEST_F(migrate_command, migrates_an_empty_database_and_says_so) {
  auto r = run_regeventd(dir, {"migrate", "--config", config_path});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto last = std::to_string(schema_version());
  EXPECT_NE(r.out.find("from schema version 0 to " + last), std::string::npos)
      << r.out;
  EXPECT_EQ(sql_scalar(db, "SELECT MAX(version) FROM schema_migrations"),
            schema_version());
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), 0);

  // Options before the subcommand work as well as after it.
  r = run_regeventd(dir, {"--config", config_path, "migrate"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("at schema version " + last), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("nothing to migrate"), std::string::npos) << r.out;
}

TEST_F(migrate_command, a_migrated_database_starts_the_daemon) {
  ASSERT_EQ(run_regeventd(dir, {"migrate", "--config", config_path}).exit_code,
            0);
  daemon_process d(dir, "database:\n  url: " + db + "\n");
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_EQ(d.client().get("/readyz").status, 200);
}

TEST_F(migrate_command, refuses_a_newer_schema_naming_both_versions) {
  ASSERT_EQ(run_regeventd(dir, {"migrate", "--config", config_path}).exit_code,
            0);
  auto newer = pretend_newer_schema();
  auto found = "version " + std::to_string(newer);
  auto known = "version " + std::to_string(schema_version());

  auto r = run_regeventd(dir, {"migrate", "--config", config_path});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find(found), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(known), std::string::npos) << r.err;

  // The daemon does not start on it either: it exits instead of serving.
  r = run_regeventd(dir, {"--config", config_path}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  auto log = r.out + r.err;
  EXPECT_NE(log.find(found), std::string::npos) << log;
  EXPECT_NE(log.find(known), std::string::npos) << log;
  EXPECT_EQ(sql_scalar(db, "SELECT MAX(version) FROM schema_migrations"),
            newer);
}

TEST_F(migrate_command, an_unreachable_database_fails_with_1) {
  write_file(config_path, "database:\n  url: sqlite://"
                              + dir.file("missing/dir/regevent.db") + "\n");
  auto r = run_regeventd(dir, {"migrate", "--config", config_path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot migrate"), std::string::npos) << r.err;
}

TEST_F(migrate_command, does_not_combine_with_check_config) {
  auto r = run_regeventd(dir, {"migrate", "--check-config"});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

TEST(version_flag, names_the_cmake_version) {
  temp_dir dir;
  auto r = run_regeventd(dir, {"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(std::string("regeventd ") + REGEVENT_TEST_VERSION, 0),
            0u)
      << r.out;
}

} // namespace
} // namespace regevent::test
