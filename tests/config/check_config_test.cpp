#include "tests/config/env_guard.hpp"
#include "tests/config/errors.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/temp_dir.hpp"
#include "tests/test_secrets.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace regevent {
namespace {

using test::contains;
using test::run_regeventd;

class check_config : public ::testing::Test {
protected:
  void SetUp() override {
    // The child inherits the environment: no override may leak in.
    env.clear_regevent();
  }

  std::string write_config(const std::string& text) {
    auto path = dir.file("regevent.yml");
    test::write_file(path, text);
    return path;
  }

  test::env_guard env;
  test::temp_dir dir;
};

TEST_F(check_config, valid_file_exits_0_and_prints_redacted_config) {
  auto path = write_config(
      std::string("listen: 127.0.0.1:18080\n"
                  "database:\n  url: postgresql://u:")
      + test::secrets::database_password
      + "@h/d\n"
        "auth:\n  notify_token: "
      + test::secrets::notify_token + "\n  admin_token: "
      + test::secrets::admin_token
      + "\n"
        "filter:\n  head_requests: count\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "listen: 127.0.0.1:18080")) << r.out;
  EXPECT_TRUE(contains(r.out, "head_requests: count")) << r.out;
  EXPECT_TRUE(contains(r.out, "notify_token: <redacted>")) << r.out;
  EXPECT_TRUE(contains(r.out, "postgresql://u:***@h/d")) << r.out;
  for (const auto* secret :
       {test::secrets::notify_token, test::secrets::admin_token,
        test::secrets::database_password}) {
    EXPECT_FALSE(contains(r.out, secret)) << r.out;
    EXPECT_FALSE(contains(r.err, secret)) << r.err;
  }
}

TEST_F(check_config, does_not_create_the_database) {
  auto db = dir.file("events.db");
  auto path = write_config("database:\n  url: sqlite://" + db + "\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "url: sqlite://" + db)) << r.out;
  EXPECT_FALSE(std::filesystem::exists(db));
}

TEST_F(check_config, environment_overrides_show_in_the_output) {
  auto path = write_config("listen: 127.0.0.1:18080\n");
  env.set("REGEVENT_LISTEN", "0.0.0.0:18181");
  env.set("REGEVENT_ADMIN_TOKEN", test::secrets::admin_token);
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "listen: 0.0.0.0:18181")) << r.out;
  EXPECT_TRUE(contains(r.out, "admin_token: <redacted>")) << r.out;
  EXPECT_FALSE(contains(r.out, test::secrets::admin_token)) << r.out;
}

TEST_F(check_config, without_config_prints_the_defaults) {
  auto r = run_regeventd(dir, {"--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "listen: 127.0.0.1:8080")) << r.out;
  EXPECT_TRUE(contains(r.out, "url: sqlite://regevent.db")) << r.out;
}

/// The first word after `key: ` on the line that has it.
std::string value_of(const std::string& text, const std::string& key) {
  auto at = text.find("\n" + key + ": ");
  if (at == std::string::npos)
    at = text.find(" " + key + ": ");
  if (at == std::string::npos)
    return {};
  auto start = at + key.size() + 3;
  return text.substr(start, text.find_first_of(" \n", start) - start);
}

TEST_F(check_config, numbers_are_printed_as_written) {
  // Not 0.20000000000000001: the double's shortest exact form.
  auto defaults = run_regeventd(dir, {"--check-config"});
  EXPECT_EQ(defaults.exit_code, 0) << defaults.err;
  EXPECT_EQ(value_of(defaults.out, "jitter"), "0.2") << defaults.out;
  auto path = write_config("effects:\n  retry:\n    jitter: 0.3\n"
                           "database:\n  wal_limit_bytes: 1099511627776\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value_of(r.out, "jitter"), "0.3") << r.out;
  EXPECT_EQ(value_of(r.out, "wal_limit_bytes"), "1099511627776") << r.out;
}

TEST_F(check_config, unknown_key_exits_2_naming_the_key) {
  auto path = write_config("effects:\n  artifacts:\n    bogus: 1\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "effects.artifacts.bogus")) << r.err;
  EXPECT_TRUE(contains(r.err, "(line 3)")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(check_config, wrong_type_exits_2_naming_the_key) {
  auto path = write_config("http:\n  io_threads: many\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "http.io_threads")) << r.err;
}

TEST_F(check_config, complex_key_exits_2_instead_of_crashing) {
  auto path = write_config("? [a, b]\n: 1\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "invalid configuration")) << r.err;
}

TEST_F(check_config, invalid_environment_exits_2_naming_the_variable) {
  env.set("REGEVENT_LISTEN", "not-a-listen-address");
  auto r = run_regeventd(dir, {"--check-config"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "REGEVENT_LISTEN")) << r.err;
}

TEST_F(check_config, missing_file_exits_2) {
  auto r = run_regeventd(dir,
                         {"--check-config", "--config", dir.file("nope.yml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "nope.yml")) << r.err;
}

#ifdef REGEVENT_WITH_FAULT_INJECTION
TEST_F(check_config, fault_injection_build_accepts_faults) {
  auto path = write_config(
      "fault_injection:\n  effect: artifacts\n  mode: throw\n  count: 2\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "fault_injection:")) << r.out;
}
#else
TEST_F(check_config, release_build_refuses_faults_naming_the_key) {
  auto path = write_config(
      "fault_injection:\n  effect: artifacts\n  mode: fail\n  count: 1\n");
  auto r = run_regeventd(dir, {"--check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "fault_injection")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  env.set("REGEVENT_FAULT_INJECTION", "artifacts:fail:1");
  r = run_regeventd(dir, {"--check-config"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "REGEVENT_FAULT_INJECTION")) << r.err;
}
#endif

} // namespace
} // namespace regevent
