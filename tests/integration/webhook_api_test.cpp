// The webhook policy API against the real daemon (SQLite, and PostgreSQL in
// the postgresql. variant): Harbor v2.0 shapes, field-level 400s, write-only
// secrets that reach neither an answer, nor the log, nor the database in the
// clear, and the SSRF guard on target addresses. The receivers are on
// loopback, which the tests allow-list explicitly
// (webhooks.allow_networks), as an operator would.

#include "tests/fixtures/daemon.hpp"
#include "tests/integration/webhook_values.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace regevent::test {
namespace {

using json = nlohmann::json;

using webhook_values::admin;
using webhook_values::sealing_key;
using webhook_values::secret;
const std::string auth_header = "Bearer receiver-t0ken-4711";
// A receiver on loopback: allowed only by the allow-list.
const std::string receiver = "https://127.0.0.1:8443/in";

/// What the tests allow-list: loopback, where their receivers listen.
const std::string allow_loopback = "webhooks:\n"
                                   "  allow_networks: [\"127.0.0.0/8\", "
                                   "\"::1/128\"]\n";

class webhook_api : public ::testing::Test {
protected:
  void start(bool with_key, const std::string& webhooks = allow_loopback) {
    std::map<std::string, std::string> env;
    if (with_key) {
      auto key_file = dir_.file("secrets.key");
      std::ofstream(key_file) << sealing_key << "\n";
      env["REGEVENT_SECRETS_KEY_FILE"] = key_file;
    }
    daemon_ = std::make_unique<daemon_process>(
        dir_, "auth:\n  admin_token: " + admin + "\n" + webhooks,
        std::move(env));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    client_ = std::make_unique<http_client>(daemon_->client());
    ASSERT_EQ(
        call("POST", "/api/v2.0/projects", R"({"project_name":"team"})").status,
        201u);
  }

  http_answer call(const std::string& method, const std::string& target,
                   const std::string& body = {}) {
    return client_->request(method, target, body,
                            {{"Authorization", "Bearer " + admin},
                             {"Content-Type", "application/json"}});
  }

  static json policy(const std::string& name) {
    return {{"name", name},
            {"description", "tell the team"},
            {"enabled", true},
            {"event_types", {"PUSH_ARTIFACT", "PULL_ARTIFACT"}},
            {"targets",
             {{{"type", "http"},
               {"address", receiver},
               {"auth_header", auth_header},
               {"secret", secret},
               {"skip_cert_verify", false},
               {"payload_format", "CloudEvents"}}}}};
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> client_;
};

const std::string policies = "/api/v2.0/projects/team/webhook/policies";

TEST_F(webhook_api, policies_are_created_read_replaced_and_deleted) {
  start(true);
  auto created = call("POST", policies, policy("team-a").dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  auto location = created.headers["Location"];
  ASSERT_EQ(location.rfind(policies + "/", 0), 0u) << location;
  auto got = call("GET", location);
  ASSERT_EQ(got.status, 200u);
  auto p = json::parse(got.body);
  EXPECT_EQ(p["name"], "team-a");
  EXPECT_EQ(p["description"], "tell the team");
  EXPECT_EQ(p["enabled"], true);
  EXPECT_EQ(p["event_types"], json({"PUSH_ARTIFACT", "PULL_ARTIFACT"}));
  ASSERT_EQ(p["targets"].size(), 1u);
  EXPECT_EQ(p["targets"][0]["address"], receiver);
  EXPECT_EQ(p["targets"][0]["payload_format"], "CloudEvents");
  EXPECT_EQ(p["targets"][0]["skip_cert_verify"], false);
  EXPECT_FALSE(p["targets"][0].contains("secret"));
  EXPECT_FALSE(p["targets"][0].contains("auth_header"));
  EXPECT_TRUE(p["creation_time"].is_string());
  // Several policies per project, listed in creation order.
  ASSERT_EQ(call("POST", policies, policy("team-b").dump()).status, 201u);
  auto list = call("GET", policies);
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(list.headers["X-Total-Count"], "2");
  auto items = json::parse(list.body);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["name"], "team-a");
  // PUT replaces the policy.
  auto change = policy("team-a");
  change["enabled"] = false;
  change["event_types"] = {"DELETE_ARTIFACT"};
  auto put = call("PUT", location, change.dump());
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(json::parse(call("GET", location).body)["event_types"],
            json({"DELETE_ARTIFACT"}));
  EXPECT_EQ(json::parse(call("GET", location).body)["enabled"], false);
  EXPECT_EQ(call("DELETE", location).status, 200u);
  EXPECT_EQ(call("GET", location).status, 404u);
  EXPECT_EQ(call("DELETE", location).status, 404u);
  EXPECT_EQ(json::parse(call("GET", policies).body).size(), 1u);
}

TEST_F(webhook_api, conflicts_and_unknown_things_have_their_status) {
  start(true);
  ASSERT_EQ(call("POST", policies, policy("team-a").dump()).status, 201u);
  EXPECT_EQ(call("POST", policies, policy("team-a").dump()).status, 409u);
  EXPECT_EQ(call("POST", "/api/v2.0/projects/nowhere/webhook/policies",
                 policy("x").dump())
                .status,
            404u);
  EXPECT_EQ(call("GET", "/api/v2.0/projects/nowhere/webhook/policies").status,
            404u);
  EXPECT_EQ(call("GET", policies + "/999999").status, 404u);
  EXPECT_EQ(call("GET", policies + "/abc").status, 400u);
  EXPECT_EQ(call("PATCH", policies).status, 405u);
  auto events = call("GET", "/api/v2.0/projects/team/webhook/events");
  ASSERT_EQ(events.status, 200u);
  auto types = json::parse(events.body)["event_type"];
  EXPECT_NE(std::find(types.begin(), types.end(), "PULL_ARTIFACT"),
            types.end());
  EXPECT_EQ(call("GET", "/api/v2.0/projects/nowhere/webhook/events").status,
            404u);
}

TEST_F(webhook_api, a_bad_field_is_named_in_a_400) {
  start(true);
  auto expect_400 = [&](json body, const std::string& field) {
    auto a = call("POST", policies, body.dump());
    EXPECT_EQ(a.status, 400u) << body.dump();
    EXPECT_NE(a.body.find(field), std::string::npos) << a.body;
  };
  // One wrong value each, at a JSON pointer into a good policy.
  const std::vector<std::tuple<std::string, json, std::string>> cases{
      {"/event_types", {"PUSH_ARTIFACT", "PUSH_IMAGE"}, "event_types[1]"},
      {"/event_types", json::array(), "event_types"},
      {"/targets/0/address", "ftp://hooks.example/", "targets[0].address"},
      {"/targets/0/payload_format", "Slack", "targets[0].payload_format"},
      {"/targets/0/secret", "plain-password", "targets[0].secret"},
      {"/targets/0/type", "slack", "targets[0].type"},
      {"/name", "", "name"},
      {"/enabled", "yes", "enabled"},
  };
  for (const auto& [pointer, value, field] : cases) {
    auto p = policy("x");
    p[json::json_pointer(pointer)] = value;
    expect_400(p, field);
  }
  expect_400(json::array(), "JSON object");
  EXPECT_EQ(json::parse(call("GET", policies).body).size(), 0u);
}

TEST_F(webhook_api, secrets_are_refused_without_a_sealing_key) {
  start(false);
  auto a = call("POST", policies, policy("x").dump());
  EXPECT_EQ(a.status, 400u);
  EXPECT_NE(a.body.find("secrets.key"), std::string::npos) << a.body;
  auto p = policy("x");
  p["targets"][0].erase("secret");
  p["targets"][0].erase("auth_header");
  EXPECT_EQ(call("POST", policies, p.dump()).status, 201u);
}

TEST_F(webhook_api, secrets_reach_no_answer_no_log_and_no_column_in_clear) {
  start(true);
  auto created = call("POST", policies, policy("team-a").dump());
  ASSERT_EQ(created.status, 201u);
  auto location = created.headers["Location"];
  auto put = policy("team-a");
  put["targets"][0].erase("secret"); // kept as stored
  ASSERT_EQ(call("PUT", location, put.dump()).status, 200u);
  std::string answers
      = created.body + call("GET", location).body + call("GET", policies).body;
  auto db = daemon_->database_path();
  auto stored = sql_text(db,
                         "SELECT secret || ' ' || auth_header FROM "
                         "webhook_targets WHERE address = :key",
                         receiver);
  ASSERT_EQ(daemon_->stop(), 0);
  auto log = daemon_->log();
  for (const auto& clear : {secret, auth_header, sealing_key}) {
    EXPECT_EQ(answers.find(clear), std::string::npos) << clear;
    EXPECT_EQ(log.find(clear), std::string::npos) << clear;
    EXPECT_EQ(stored.find(clear), std::string::npos) << clear;
  }
  // Both are stored, sealed: the PUT kept the secret it left out.
  EXPECT_EQ(stored.find("v1:"), 0u) << stored;
  EXPECT_NE(stored.find(" v1:"), std::string::npos) << stored;
}

TEST_F(webhook_api, ssrf_guard_refuses_internal_targets_naming_the_field) {
  start(true, "");
  // The same policy, with one target address each: literal addresses,
  // IPv6 loopback, cloud metadata, and a name that resolves to loopback.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"https://127.0.0.1/in", "127.0.0.1 is a loopback address"},
      {"http://localhost:8080/in", "localhost resolves to "},
      {"https://[::1]:8443/in", "::1 is a loopback address"},
      {"http://169.254.169.254/latest/meta-data",
       "169.254.169.254 is a cloud metadata address"},
      {"http://10.1.2.3/in", "10.1.2.3 is a private address"},
      {"http://[::ffff:192.168.1.1]/in", "a private address"},
  };
  for (const auto& [address, reason] : cases) {
    auto p = policy("x");
    p["targets"][0]["address"] = address;
    auto a = call("POST", policies, p.dump());
    EXPECT_EQ(a.status, 400u) << address << ": " << a.body;
    EXPECT_NE(a.body.find("targets[0].address: "), std::string::npos) << a.body;
    EXPECT_NE(a.body.find(reason), std::string::npos) << a.body;
    EXPECT_NE(a.body.find("webhooks.allow_networks"), std::string::npos)
        << a.body;
  }
  // The field of the second target, and a name that does not resolve.
  auto p = policy("x");
  p["targets"][0]["address"] = "https://93.184.216.34/in";
  p["targets"].push_back(p["targets"][0]);
  p["targets"][1]["address"] = "https://no-such-host.invalid/in";
  auto a = call("POST", policies, p.dump());
  EXPECT_EQ(a.status, 400u) << a.body;
  EXPECT_NE(a.body.find("targets[1].address: no-such-host.invalid does not "
                        "resolve"),
            std::string::npos)
      << a.body;
  // A public address passes; nothing refused was stored.
  p["targets"].erase(1);
  ASSERT_EQ(call("POST", policies, p.dump()).status, 201u);
  EXPECT_EQ(json::parse(call("GET", policies).body).size(), 1u);
}

TEST_F(webhook_api, ssrf_guard_checks_a_replaced_policy_too) {
  start(true, "");
  auto p = policy("x");
  p["targets"][0]["address"] = "https://93.184.216.34/in";
  auto created = call("POST", policies, p.dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  p["targets"][0]["address"] = "http://localhost/in";
  auto put = call("PUT", created.headers["Location"], p.dump());
  EXPECT_EQ(put.status, 400u) << put.body;
  EXPECT_NE(put.body.find("targets[0].address: localhost resolves to "),
            std::string::npos)
      << put.body;
  EXPECT_EQ(json::parse(call("GET", created.headers["Location"])
                            .body)["targets"][0]["address"],
            "https://93.184.216.34/in");
}

TEST_F(webhook_api, allow_listed_networks_may_be_targets) {
  start(true);
  int n = 0;
  for (const char* address :
       {"https://127.0.0.1/in", "http://localhost:8080/in",
        "https://[::1]:8443/in"}) {
    auto p = policy("allowed-" + std::to_string(++n));
    p["targets"][0]["address"] = address;
    auto a = call("POST", policies, p.dump());
    EXPECT_EQ(a.status, 201u) << address << ": " << a.body;
  }
  // Only those networks: metadata and private addresses stay refused.
  for (const char* address :
       {"http://169.254.169.254/latest", "http://10.1.2.3/in"}) {
    auto p = policy("refused");
    p["targets"][0]["address"] = address;
    EXPECT_EQ(call("POST", policies, p.dump()).status, 400u) << address;
  }
}

} // namespace
} // namespace regevent::test
