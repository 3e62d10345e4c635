// log.file on the real daemon: SIGHUP (logrotate, `systemctl reload`)
// makes it reopen the file instead of ending it.

#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>

namespace regevent::test {
namespace {

/// Whether every complete line of `text` is a JSON object with a `msg`. A
/// last line without its newline is being written while the file is read
/// (the daemon logs on other threads) and is left out.
bool all_json(const std::string& text) {
  std::stringstream ss(text.substr(0, text.rfind('\n') + 1));
  size_t n = 0;
  for (std::string line; std::getline(ss, line); ++n) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (!doc.is_object() || !doc.contains("msg"))
      return false;
  }
  return n > 0;
}

TEST(log_file, sighup_reopens_it_and_the_daemon_goes_on) {
  temp_dir dir;
  auto path = dir.file("logs/regevent.log");
  daemon_process d(dir, "log:\n  format: json\n  file: " + path + "\n");
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_NE(read_file(path).find("listening on"), std::string::npos)
      << read_file(path);
  EXPECT_TRUE(all_json(read_file(path))) << read_file(path);

  std::filesystem::rename(path, path + ".1");
  d.signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] {
    return read_file(path).find("reopened its log file") != std::string::npos;
  })) << read_file(path + ".1");
  EXPECT_TRUE(all_json(read_file(path))) << read_file(path);
  EXPECT_EQ(d.client().get("/healthz").status, 200);
  // Twice: the handler stays in place.
  d.signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] {
    auto text = read_file(path);
    return text.find("reopened its log file")
           != text.rfind("reopened its log file");
  }));
  EXPECT_EQ(d.stop(), 0);
  EXPECT_NE(read_file(path).find("regeventd stopped"), std::string::npos);
  EXPECT_EQ(read_file(path + ".1").find("stopped"), std::string::npos);
}

} // namespace
} // namespace regevent::test
