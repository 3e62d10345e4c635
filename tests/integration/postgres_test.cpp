// PostgreSQL only: several instances on one database, and the database
// restarted under load. Skipped in the SQLite run of this suite.

#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/load.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace regevent::test {
namespace {

std::vector<std::string> pulls(const std::string& prefix, size_t n,
                               size_t repositories) {
  std::vector<std::string> bodies;
  for (size_t i = 0; i < n; ++i) {
    event_spec e;
    e.id = prefix + std::to_string(i);
    e.repository = "library/r" + std::to_string(i % repositories);
    e.digest = "sha256:" + std::to_string(i % repositories);
    bodies.push_back(envelope_json({event_json(e)}));
  }
  return bodies;
}

void expect_exact(const std::string& db, size_t events, size_t repositories) {
  auto n = static_cast<long long>(events);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events"), n);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM events WHERE status = "
                           "'done'"),
            n);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM access_logs"), n);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(DISTINCT event_id) FROM access_logs"),
            n);
  EXPECT_EQ(sql_scalar(db, "SELECT SUM(pull_count) FROM pull_counts"), n);
  EXPECT_EQ(sql_scalar(db, "SELECT COUNT(*) FROM pull_counts WHERE "
                           "pull_count <> "
                               + std::to_string(events / repositories)),
            0);
}

bool all_done(const std::string& db, size_t events) {
  return poll_until(
      [&] {
        return sql_scalar(db, "SELECT COUNT(*) FROM events WHERE status = "
                              "'done'")
               == static_cast<long long>(events);
      },
      std::chrono::seconds(180));
}

/// A PostgreSQL cluster of this test's own, so that stopping it disturbs
/// no other test.
class private_cluster {
public:
  private_cluster()
      : script_(std::string(REGEVENT_SCRIPTS_DIR) + "/pg_cluster.sh"),
        dir_(root_.file("pg")) {
    // The server runs as the postgres user: it must reach its directory.
    std::filesystem::permissions(root_.path(),
                                 std::filesystem::perms::owner_all
                                     | std::filesystem::perms::group_exec
                                     | std::filesystem::perms::others_exec);
    ok_ = run("start");
    url_ = read_file(dir_ + "/url");
    url_.erase(url_.find_last_not_of("\n ") + 1);
  }
  ~private_cluster() {
    run("stop");
  }
  bool ok() const {
    return ok_;
  }
  const std::string& url() const {
    return url_;
  }
  /// start|stop|restart|down|up
  bool run(const std::string& command) {
    auto line = script_ + " " + command + " " + dir_ + " >/dev/null 2>&1";
    return std::system(line.c_str()) == 0;
  }

private:
  temp_dir root_;
  std::string script_;
  std::string dir_;
  std::string url_;
  bool ok_ = false;
};

// The killed instance's claims (default lease: a minute) are taken over
// once its heartbeat is 3 s old.
TEST(postgresql, three_instances_apply_each_event_once_despite_a_sigkill) {
  if (!testing_postgresql())
    GTEST_SKIP() << "runs in the PostgreSQL variant of this suite";
  constexpr size_t events = 30'000;
  constexpr size_t repositories = 100;
  temp_dir shared;
  auto url = test_database_url(shared);
  const std::string yaml = "database:\n  url: " + url
                           + "\ndispatch:\n  heartbeat_timeout_ms: 3000\n";
  std::vector<std::unique_ptr<temp_dir>> dirs;
  std::vector<std::unique_ptr<daemon_process>> daemons;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back(std::make_unique<temp_dir>());
    daemons.push_back(std::make_unique<daemon_process>(*dirs.back(), yaml));
    ASSERT_TRUE(daemons.back()->start()) << daemons.back()->log();
  }
  std::vector<uint16_t> ports;
  for (auto& d : daemons)
    ports.push_back(d->port());
  auto bodies = pulls("multi-", events, repositories);
  // 5 % duplicates: the same body again, later, to another instance.
  const size_t duplicates = events / 20;
  for (size_t i = 0; i < duplicates; ++i)
    bodies.push_back(bodies[i * 20]);
  std::atomic<bool> dead0{false};
  // A load balancer: spreads bodies over the instances, a copy to another
  // one than its original, and fails over once instance 0 is gone.
  auto port_of = [&](size_t i, int attempt) {
    size_t target = (i < events ? i : (i - events) * 20 + 1) + attempt;
    if (dead0 && target % 3 == 0)
      ++target;
    return ports[target % 3];
  };
  std::vector<char> answered(bodies.size(), 0);
  std::atomic<size_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  constexpr size_t senders = 6;
  for (size_t k = 0; k < senders; ++k) {
    registry_sender s;
    s.port_of = port_of;
    s.offset = k;
    s.stride = senders;
    s.max_refusals = 1'000'000; // fail over instead of giving up
    threads.emplace_back([s, &bodies, &answered, &done, &stop] {
      s.run(bodies, answered, done, stop);
    });
  }
  bool half = poll_until([&] { return done.load() >= bodies.size() / 2; },
                         std::chrono::seconds(120));
  if (!half) { // the senders stop before the failure is reported
    stop = true;
    for (auto& t : threads)
      t.join();
  }
  ASSERT_TRUE(half) << done.load() << " of " << bodies.size()
                    << " answered in 120 s";
  daemons[0]->kill_hard();
  dead0 = true;
  for (auto& t : threads)
    t.join();
  ASSERT_EQ(done.load(), bodies.size());
  ASSERT_TRUE(all_done(url, events))
      << sql_scalar(url, "SELECT COUNT(*) FROM events WHERE status = 'done'");
  expect_exact(url, events, repositories);
}

TEST(postgresql, a_database_restart_under_load_loses_nothing) {
  if (!testing_postgresql())
    GTEST_SKIP() << "runs in the PostgreSQL variant of this suite";
  private_cluster cluster;
  ASSERT_TRUE(cluster.ok());
  const auto& url = cluster.url();
  temp_dir dir;
  daemon_process d(dir, "database:\n  url: " + url + "\n");
  ASSERT_TRUE(d.start()) << d.log();
  constexpr size_t events = 6'000;
  constexpr size_t repositories = 50;
  auto bodies = pulls("restart-", events, repositories);
  std::vector<char> answered(events, 0);
  std::atomic<size_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (size_t k = 0; k < 4; ++k) {
    registry_sender s;
    s.port_of = [&d](size_t, int) {
      return d.port();
    };
    s.offset = k;
    s.stride = 4;
    threads.emplace_back([s, &bodies, &answered, &done, &stop] {
      s.run(bodies, answered, done, stop);
    });
  }
  bool third = poll_until([&] { return done.load() >= events / 3; },
                          std::chrono::seconds(60));
  if (!third) { // the senders stop before the failure is reported
    stop = true;
    for (auto& t : threads)
      t.join();
  }
  ASSERT_TRUE(third) << done.load() << " of " << events << " answered in 60 s";
  ASSERT_TRUE(cluster.run("restart"));
  for (auto& t : threads)
    t.join();
  ASSERT_EQ(done.load(), events);
  bool drained = all_done(url, events);
  if (drained)
    expect_exact(url, events, repositories);
  // The restart was an outage the daemon saw, not a quiet moment.
  auto metrics = d.client().request("GET", "/metrics").body;
  ASSERT_TRUE(drained) << d.log().substr(0, 4000);
  EXPECT_EQ(metrics.find("regevent_journal_commit_failures_total 0\n"),
            std::string::npos)
      << metrics;
}

TEST(postgresql, an_outage_answers_503_and_turns_readyz_503_until_back) {
  if (!testing_postgresql())
    GTEST_SKIP() << "runs in the PostgreSQL variant of this suite";
  private_cluster cluster;
  ASSERT_TRUE(cluster.ok());
  temp_dir dir;
  daemon_process d(dir, "database:\n  url: " + cluster.url() + "\n");
  ASSERT_TRUE(d.start()) << d.log();
  auto c = d.client();
  auto body = pulls("outage-", 2, 1);
  ASSERT_EQ(c.notify(body[0]).status, 200u);
  ASSERT_TRUE(cluster.run("down"));
  // The first request after the outage finds it; /readyz follows.
  EXPECT_TRUE(poll_until([&] { return c.notify(body[1]).status == 503u; }));
  auto refused = c.notify(body[1]);
  EXPECT_EQ(refused.status, 503u);
  EXPECT_FALSE(refused.headers["Retry-After"].empty());
  EXPECT_TRUE(
      poll_until([&] { return c.request("GET", "/readyz").status == 503u; }));
  ASSERT_TRUE(cluster.run("up"));
  EXPECT_TRUE(
      poll_until([&] { return c.request("GET", "/readyz").status == 200u; },
                 std::chrono::seconds(30)));
  EXPECT_TRUE(poll_until([&] { return c.notify(body[1]).status == 200u; },
                         std::chrono::seconds(30)));
  EXPECT_TRUE(all_done(cluster.url(), 2));
  EXPECT_EQ(sql_scalar(cluster.url(), "SELECT SUM(pull_count) FROM "
                                      "pull_counts"),
            2);
}

} // namespace
} // namespace regevent::test
