// Kill -9 in the middle of a load of pulls: after the restart and the
// registry's re-sends, every count is exact and every audit row exists once.

#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/load.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace regevent::test {
namespace {

constexpr size_t total_events = 20'000;
constexpr size_t repositories = 200;
constexpr size_t senders = 8;

std::vector<std::string> pull_bodies() {
  std::vector<std::string> bodies;
  for (size_t i = 0; i < total_events; ++i) {
    event_spec e;
    e.id = "crash-" + std::to_string(i);
    e.repository = "library/r" + std::to_string(i % repositories);
    e.digest = "sha256:" + std::to_string(i % repositories);
    e.tag = "v1";
    bodies.push_back(envelope_json({event_json(e)}));
  }
  return bodies;
}

/// Runs `senders` registry senders against `port` until they finish or
/// the daemon disappears.
std::vector<std::thread>
start_senders(const std::vector<std::string>& bodies, uint16_t port,
              std::vector<char>& answered, std::atomic<size_t>& done,
              const std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (size_t k = 0; k < senders; ++k) {
    registry_sender s;
    s.port_of = [port](size_t, int) {
      return port;
    };
    s.offset = k;
    s.stride = senders;
    threads.emplace_back([s, &bodies, &answered, &done, &stop] {
      s.run(bodies, answered, done, stop);
    });
  }
  return threads;
}

TEST(crash, sigkill_under_load_loses_nothing_and_counts_nothing_twice) {
  temp_dir dir;
  auto bodies = pull_bodies();
  std::vector<char> answered(total_events, 0);
  // On PostgreSQL the killed instance's claims are taken over once its
  // heartbeat is this old (SQLite releases them at start).
  const std::string yaml = "dispatch:\n  heartbeat_timeout_ms: 3000\n";
  {
    daemon_process d(dir, yaml);
    ASSERT_TRUE(d.start()) << d.log();
    std::atomic<size_t> done{0};
    std::atomic<bool> stop{false};
    auto threads = start_senders(bodies, d.port(), answered, done, stop);
    ASSERT_TRUE(poll_until([&] { return done.load() >= total_events / 2; },
                           std::chrono::seconds(120)));
    d.kill_hard();
    for (auto& t : threads)
      t.join();
    ASSERT_LT(done.load(), total_events) << "the kill came too late";
  }
  // The registry re-sends everything it got no 200 for, to the restarted
  // daemon; some of it was journaled before the kill.
  daemon_process again(dir, yaml);
  ASSERT_TRUE(again.start()) << again.log();
  std::atomic<size_t> done{0};
  std::atomic<bool> stop{false};
  for (auto& t : start_senders(bodies, again.port(), answered, done, stop))
    t.join();
  for (size_t i = 0; i < total_events; ++i)
    ASSERT_TRUE(answered[i]) << i;
  const auto& db = again.database_path();
  auto finished = [&] {
    return sql_scalar(db, "SELECT COUNT(*) FROM events WHERE status = "
                          "'done'");
  };
  ASSERT_TRUE(poll_until([&] { return finished() == total_events; },
                         std::chrono::seconds(120)))
      << finished();
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), total_events);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM access_logs"), total_events);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(DISTINCT event_id) FROM access_logs"),
            total_events);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM pull_counts"), repositories);
  // Every repository got exactly total / repositories counted pulls.
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM pull_counts WHERE "
                           "pull_count <> "
                               + std::to_string(total_events / repositories)),
            0);
  EXPECT_EQ(sql_scalar(db, "SELECT SUM(pull_count) FROM pull_counts"),
            total_events);
}

} // namespace
} // namespace regevent::test
