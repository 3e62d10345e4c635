// contrib/: the Grafana dashboard and the Prometheus alert rules parse, and
// every regevent metric they query is one a running daemon exposes.

#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using json = nlohmann::json;

std::string contrib(const std::string& name) {
  return std::string(REGEVENT_SCRIPTS_DIR) + "/../contrib/" + name;
}

/// Every `expr` of the dashboard's panels (rows included).
void collect_exprs(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string())
        out.push_back(value.get<std::string>());
      else
        collect_exprs(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node)
      collect_exprs(item, out);
  }
}

/// Every `regevent_[a-z0-9_]+` in the expressions. A scan rather than
/// std::regex: GCC 12's <regex> fails the sanitizer build's -Werror
/// (maybe-uninitialized inside libstdc++).
std::set<std::string> metric_names_in(const std::vector<std::string>& exprs) {
  const std::string prefix = "regevent_";
  auto in_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  std::set<std::string> names;
  for (const auto& e : exprs) {
    for (auto at = e.find(prefix); at != std::string::npos;
         at = e.find(prefix, at + 1)) {
      auto end = at + prefix.size();
      while (end < e.size() && in_name(e[end]))
        ++end;
      if (end > at + prefix.size())
        names.insert(e.substr(at, end - at));
      at = end - 1;
    }
  }
  return names;
}

/// The series names /metrics holds: each family's name, and a histogram's
/// _bucket, _sum and _count.
std::set<std::string> exposed_names(const std::string& exposition) {
  std::set<std::string> names;
  std::stringstream ss(exposition);
  for (std::string line; std::getline(ss, line);) {
    std::stringstream words(line);
    std::string hash, type, name, kind;
    if (!(words >> hash >> type >> name >> kind) || hash != "#"
        || type != "TYPE")
      continue;
    names.insert(name);
    if (kind == "histogram")
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        names.insert(name + suffix);
  }
  return names;
}

std::vector<std::string> dashboard_exprs() {
  auto doc = json::parse(read_file(contrib("grafana/regevent.json")), nullptr,
                         false);
  EXPECT_TRUE(doc.is_object()) << "contrib/grafana/regevent.json is no JSON";
  std::vector<std::string> exprs;
  collect_exprs(doc, exprs);
  return exprs;
}

std::vector<std::string> alert_exprs() {
  std::vector<std::string> exprs;
  auto doc = YAML::LoadFile(contrib("prometheus/regevent-alerts.yml"));
  for (const auto& group : doc["groups"])
    for (const auto& rule : group["rules"]) {
      EXPECT_TRUE(rule["alert"].IsScalar()) << "a rule without a name";
      exprs.push_back(rule["expr"].as<std::string>());
    }
  return exprs;
}

TEST(contrib, the_dashboard_covers_every_stage_of_the_daemon) {
  auto doc = json::parse(read_file(contrib("grafana/regevent.json")));
  std::set<std::string> titles;
  for (const auto& panel : doc["panels"])
    titles.insert(panel.value("title", ""));
  for (const char* title :
       {"Ingest", "Backlog and health", "Effects", "Webhooks",
        "Replication and scans", "Ingest latency (journal commit)",
        "Deliveries by outcome", "Replication attempts by outcome",
        "Scans by outcome"})
    EXPECT_EQ(titles.count(title), 1u) << title;
  auto names = metric_names_in(dashboard_exprs());
  for (const char* name :
       {"regevent_events_total", "regevent_journal_commit_seconds_bucket",
        "regevent_backlog_events", "regevent_effect_events_total",
        "regevent_webhook_deliveries_total",
        "regevent_replication_attempts_total", "regevent_replication_queue",
        "regevent_scans_total", "regevent_scan_seconds_bucket",
        "regevent_scan_queue"})
    EXPECT_EQ(names.count(name), 1u) << name;
}

TEST(contrib, the_alerts_cover_backlog_dead_letters_circuits_and_readiness) {
  std::set<std::string> alerts;
  auto doc = YAML::LoadFile(contrib("prometheus/regevent-alerts.yml"));
  for (const auto& group : doc["groups"])
    for (const auto& rule : group["rules"])
      alerts.insert(rule["alert"].as<std::string>());
  for (const char* alert : {"RegeventBacklogGrowing", "RegeventDeadLetters",
                            "RegeventWebhookCircuitOpen", "RegeventNotReady"})
    EXPECT_EQ(alerts.count(alert), 1u) << alert;
}

/// A loopback port that nothing listens on: bound, then closed, so that
/// a connection to it is refused.
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A daemon that has done a bit of everything the files chart: ingest, an
/// effect, and a webhook delivery to a target that refuses connections
/// (so that retries, and with one failure the open circuit, show).
TEST(contrib, every_metric_queried_is_one_the_daemon_exposes) {
  temp_dir dir;
  const std::string admin = "contrib-admin-token";
  daemon_process d(dir, "auth:\n  admin_token: " + admin
                            + "\nwebhooks:\n  allow_networks: [127.0.0.0/8]\n"
                              "  breaker_failures: 1\n  retry_base_ms: 10\n"
                              "  poll_interval_ms: 20\n");
  ASSERT_TRUE(d.start()) << d.log();
  auto client = d.client();
  json target{{"type", "http"},
              {"address",
               "http://127.0.0.1:" + std::to_string(closed_port()) + "/hook"},
              {"payload_format", "Default"}};
  json policy{{"name", "contrib"},
              {"enabled", true},
              {"event_types", {"PUSH_ARTIFACT"}},
              {"targets", json::array({target})}};
  auto created = client.request(
      "POST", "/api/v2.0/projects/library/webhook/policies", policy.dump(),
      {{"Authorization", "Bearer " + admin},
       {"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201u) << created.body;
  event_spec push;
  push.id = "contrib-push-1";
  push.action = "push";
  push.method = "PUT";
  ASSERT_EQ(client.notify(envelope_json({event_json(push)})).status, 200u);

  std::set<std::string> exposed;
  ASSERT_TRUE(poll_until(
      [&] {
        exposed = exposed_names(client.get("/metrics").body);
        return exposed.count("regevent_webhook_deliveries_total")
               && exposed.count("regevent_webhook_delivery_seconds")
               && exposed.count("regevent_webhook_queue")
               && exposed.count("regevent_effect_events_total");
      },
      std::chrono::seconds(60)))
      << client.get("/metrics").body;

  for (const auto& [file, exprs] :
       {std::pair{"grafana/regevent.json", dashboard_exprs()},
        std::pair{"prometheus/regevent-alerts.yml", alert_exprs()}}) {
    auto names = metric_names_in(exprs);
    EXPECT_GE(names.size(), 4u) << file;
    for (const auto& name : names)
      EXPECT_EQ(exposed.count(name), 1u)
          << file << " queries " << name << ", which /metrics does not have";
  }
}

/// promtool ships with Debian's `prometheus` package, which the tests do
/// not install: where it is there anyway, it checks the rules' PromQL.
TEST(contrib, promtool_accepts_the_alert_rules) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool is not installed";
  auto command = "promtool check rules "
                 + contrib("prometheus/regevent-alerts.yml") + " >/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

} // namespace
} // namespace regevent::test
