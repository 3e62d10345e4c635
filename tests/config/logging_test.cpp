#include "config/logging.hpp"

#include "config/config.hpp"
#include "config/error.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace regevent {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    lines.push_back(line);
  return lines;
}

/// Each test installs a logger of its own; the next one gets spdlog's
/// default (stderr) back.
class logging : public ::testing::Test {
protected:
  void TearDown() override {
    spdlog::set_default_logger(spdlog::stderr_logger_mt("test-" + path));
  }

  config with(const std::string& yaml) {
    return load_config_from_string(yaml);
  }

  test::temp_dir dir;
  std::string path = dir.file("regevent.log");
};

TEST_F(logging, json_lines_have_exactly_the_documented_keys) {
  setup_logging(with("log:\n  format: json\n  file: " + path + "\n"));
  spdlog::info("a \"quoted\" message\nwith a newline");
  spdlog::warn("second");
  auto lines = lines_of(test::read_file(path));
  ASSERT_EQ(lines.size(), 2u) << test::read_file(path);
  const std::set<std::string> keys{"ts", "level", "logger", "thread", "msg"};
  for (const auto& line : lines) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << line;
    std::set<std::string> seen;
    for (const auto& [key, value] : doc.items())
      seen.insert(key);
    EXPECT_EQ(seen, keys) << line;
    EXPECT_EQ(doc["logger"], "regevent");
    EXPECT_TRUE(doc["thread"].is_number()) << line;
    // RFC 3339 in UTC with microseconds: 2026-12-05T15:58:05.123456Z.
    auto ts = doc["ts"].get<std::string>();
    EXPECT_EQ(ts.size(), 27u) << ts;
    EXPECT_EQ(ts.back(), 'Z') << ts;
  }
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["msg"], "a \"quoted\" message\nwith a newline");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "warning");
}

TEST_F(logging, reopen_goes_on_in_a_new_file_of_the_same_name) {
  setup_logging(with("log:\n  file: " + path + "\n"));
  // Below warn, which flushes on its own: each line must reach the file
  // at once anyway.
  spdlog::info("before rotation");
  EXPECT_NE(test::read_file(path).find("before rotation"), std::string::npos);
  // What logrotate does: move the file away, then signal.
  std::filesystem::rename(path, path + ".1");
  spdlog::info("still in the moved file");
  ASSERT_TRUE(reopen_log_file());
  spdlog::info("after rotation");
  auto old_text = test::read_file(path + ".1");
  auto new_text = test::read_file(path);
  EXPECT_NE(old_text.find("still in the moved file"), std::string::npos);
  EXPECT_EQ(old_text.find("after rotation"), std::string::npos) << old_text;
  EXPECT_NE(new_text.find("after rotation"), std::string::npos) << new_text;
  EXPECT_EQ(new_text.find("before rotation"), std::string::npos) << new_text;
}

TEST_F(logging, a_file_that_cannot_be_reopened_keeps_the_old_one) {
  setup_logging(with("log:\n  file: " + path + "\n"));
  std::filesystem::rename(path, path + ".1");
  // Where the new file should go, something that cannot be opened as one.
  std::filesystem::create_directory(path);
  EXPECT_FALSE(reopen_log_file());
  spdlog::info("still logged");
  EXPECT_NE(test::read_file(path + ".1").find("still logged"),
            std::string::npos);
}

TEST_F(logging, a_file_that_cannot_be_opened_is_a_configuration_error) {
  std::filesystem::create_directory(path);
  try {
    setup_logging(with("log:\n  file: " + path + "\n"));
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("log.file: ", 0), 0u) << e.what();
  }
}

TEST_F(logging, without_a_file_reopen_has_nothing_to_do) {
  setup_logging(with("log:\n  level: error\n"));
  EXPECT_TRUE(reopen_log_file());
}

} // namespace
} // namespace regevent
