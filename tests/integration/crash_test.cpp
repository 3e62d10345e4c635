// Kill -9 in the middle of a load of pulls: after the restart and the
// registry's re-sends, every count is exact and every audit row exists once.

#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace regevent::test {
namespace {

constexpr int total_events = 20'000;
constexpr int repositories = 200;
constexpr int senders = 8;

std::string pull_body(int i) {
  event_spec e;
  e.id = "crash-" + std::to_string(i);
  e.repository = "library/r" + std::to_string(i % repositories);
  e.digest = "sha256:" + std::to_string(i % repositories);
  e.tag = "v1";
  return envelope_json({event_json(e)});
}

/// Sends events [i for i % senders == k] one per POST until told to stop or
/// the daemon goes away; records which were answered 200.
void send_share(uint16_t port, int k, std::vector<char>& answered,
                std::atomic<int>& done, const std::atomic<bool>& stop) {
  http_client c("127.0.0.1", port);
  for (int i = k; i < total_events && !stop; i += senders) {
    if (answered[static_cast<size_t>(i)])
      continue;
    auto a = c.notify(pull_body(i));
    if (a.status == 0u)
      return; // The daemon is gone: the registry would retry later.
    if (a.status == 200u) {
      answered[static_cast<size_t>(i)] = 1;
      ++done;
    }
  }
}

TEST(crash, sigkill_under_load_loses_nothing_and_counts_nothing_twice) {
  temp_dir dir;
  std::vector<char> answered(total_events, 0);
  {
    daemon_process d(dir);
    ASSERT_TRUE(d.start()) << d.log();
    std::atomic<int> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int k = 0; k < senders; ++k)
      threads.emplace_back(send_share, d.port(), k, std::ref(answered),
                           std::ref(done), std::cref(stop));
    ASSERT_TRUE(poll_until([&] { return done.load() >= total_events / 2; },
                           std::chrono::seconds(120)));
    d.kill_hard();
    for (auto& t : threads)
      t.join();
    ASSERT_LT(done.load(), total_events) << "the kill came too late";
  }
  // The registry re-sends everything it got no 200 for, to the restarted
  // daemon; some of it was journaled before the kill.
  daemon_process again(dir);
  ASSERT_TRUE(again.start()) << again.log();
  std::atomic<int> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < senders; ++k)
    threads.emplace_back(send_share, again.port(), k, std::ref(answered),
                         std::ref(done), std::cref(stop));
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < total_events; ++i)
    ASSERT_TRUE(answered[static_cast<size_t>(i)]) << i;
  const auto& db = again.database_path();
  ASSERT_TRUE(poll_until(
    [&] {
      return sql_scalar(db, "SELECT COUNT(*) FROM events WHERE status = "
                            "'done'")
             == total_events;
    },
    std::chrono::seconds(120)))
    << sql_scalar(db, "SELECT COUNT(*) FROM events WHERE status = 'done'");
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
