// The audit of the management API itself against the real daemon (SQLite,
// and PostgreSQL in the postgresql. variant): every change is in the audit
// log under the name of the token that made it, with what it changed and
// when; a refused or failed change leaves no row, and no row holds a
// secret.

#include "http/registry_client.hpp"
#include "persistence/event.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/test_secrets.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using json = nlohmann::json;

/// The hex SHA-256 an auth.api_tokens entry holds.
std::string sha256_hex(const std::string& text) {
  return sha256_of(text).substr(std::string("sha256:").size());
}

class api_audit : public ::testing::Test {
protected:
  void start() {
    auto key_file = dir_.file("secrets.key");
    std::ofstream(key_file) << secrets::secrets_key << "\n";
    daemon_ = std::make_unique<daemon_process>(
        dir_,
        std::string("auth:\n  admin_token: ") + secrets::admin_token
            + "\n  api_tokens: [\"ops:admin:" + sha256_hex(secrets::ops_token)
            + "\", \"dashboards:read:" + sha256_hex(secrets::reader_token)
            + "\"]\nwebhooks:\n  allow_networks: [\"127.0.0.0/8\"]\n",
        std::map<std::string, std::string>{
            {"REGEVENT_SECRETS_KEY_FILE", key_file}});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    client_ = std::make_unique<http_client>(daemon_->client());
  }

  http_answer call(const char* token, const std::string& method,
                   const std::string& target, const json& body = nullptr) {
    return client_->request(method, target, body.is_null() ? "" : body.dump(),
                            {{"Authorization", std::string("Bearer ") + token},
                             {"Content-Type", "application/json"}});
  }

  /// The rows of API changes (not of registry events), newest first.
  json changes(const std::string& query = {}) {
    auto got = call(secrets::reader_token, "GET",
                    "/api/v2.0/audit-logs?page_size=100" + query);
    EXPECT_EQ(got.status, 200u) << got.body;
    last_body_ = got.body;
    json out = json::array();
    for (const auto& row : json::parse(got.body))
      if (row["resource_type"] != "artifact")
        out.push_back(row);
    return out;
  }

  static json registry(const std::string& name) {
    return {{"name", name},
            {"type", "docker-registry"},
            {"url", "https://dr.example:5000"},
            {"credential",
             {{"type", "basic"},
              {"access_key", "robot"},
              {"access_secret", secrets::registry_password}}}};
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> client_;
  std::string last_body_;
};

TEST_F(api_audit, changes_are_audited_by_token_name_and_refusals_are_not) {
  start();
  const auto from = format_rfc3339(now_us() - 1'000'000);
  const auto admin = secrets::admin_token;
  const auto ops = secrets::ops_token;
  auto dr = call(admin, "POST", "/api/v2.0/registries", registry("dr"));
  ASSERT_EQ(dr.status, 201u) << dr.body;
  const auto registry_id = json::parse(dr.body)["id"].get<int64_t>();
  const auto registry_path
      = "/api/v2.0/registries/" + std::to_string(registry_id);
  auto mirror = call(ops, "POST", "/api/v2.0/replication/policies",
                     {{"name", "mirror"},
                      {"dest_registry", {{"id", registry_id}}},
                      {"dest_namespace", "mirror"},
                      {"filters", {{{"type", "name"}, {"value", "library/**"}}}},
                      {"trigger", {{"type", "event_based"}}},
                      {"override", false},
                      {"deletion", false},
                      {"enabled", true}});
  ASSERT_EQ(mirror.status, 201u) << mirror.body;
  const auto policy_id = json::parse(mirror.body)["id"].get<int64_t>();
  ASSERT_EQ(call(ops, "PUT", registry_path, registry("dr-2")).status, 200u);
  auto hook = call(
      ops, "POST", "/api/v2.0/projects/library/webhook/policies",
      {{"name", "hooks"},
       {"event_types", {"PUSH_ARTIFACT"}},
       {"targets",
        {{{"type", "http"},
          {"address", "http://127.0.0.1:9/in"},
          {"auth_header", secrets::webhook_auth_header},
          {"secret", secrets::webhook_secret}}}}});
  ASSERT_EQ(hook.status, 201u) << hook.body;
  auto scanner = call(admin, "POST", "/api/v2.0/scanners",
                      {{"name", "trivy"},
                       {"url", "http://127.0.0.1:8081"},
                       {"auth", "Bearer"},
                       {"access_credential", secrets::scanner_credential}});
  ASSERT_EQ(scanner.status, 201u) << scanner.body;

  // Refused before the store (a read-role token), refused by it (a taken
  // name, an unknown id): none of them changed anything, none is audited.
  auto refused = call(secrets::reader_token, "POST", "/api/v2.0/registries",
                      registry("other"));
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(call(ops, "POST", "/api/v2.0/registries", registry("dr-2")).status,
            409u);
  EXPECT_EQ(call(admin, "DELETE", "/api/v2.0/registries/999999").status, 404u);
  EXPECT_EQ(call(admin, "DELETE", registry_path).status, 409u)
      << "a registry a policy names is not deleted";

  ASSERT_EQ(call(admin, "DELETE",
                 "/api/v2.0/replication/policies/" + std::to_string(policy_id))
                .status,
            200u);
  ASSERT_EQ(
      call(admin, "POST", "/api/v2.0/projects", {{"project_name", "team-a"}})
          .status,
      201u);
  const auto to = format_rfc3339(now_us() + 1'000'000);

  struct expected_row {
    const char* username;
    const char* operation;
    const char* resource_type;
    const char* resource;
  };
  const std::vector<expected_row> expected{
      {"admin", "create", "project", "team-a"},
      {"admin", "delete", "replication_policy", "mirror"},
      {"admin", "create", "scanner", "trivy"},
      {"ops", "create", "webhook_policy", "hooks"},
      {"ops", "update", "registry", "dr-2"},
      {"ops", "create", "replication_policy", "mirror"},
      {"admin", "create", "registry", "dr"},
  };
  auto rows = changes();
  ASSERT_EQ(rows.size(), expected.size()) << rows.dump(1);
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(rows[i].dump());
    EXPECT_EQ(rows[i]["username"], expected[i].username);
    EXPECT_EQ(rows[i]["operation"], expected[i].operation);
    EXPECT_EQ(rows[i]["resource_type"], expected[i].resource_type);
    EXPECT_EQ(rows[i]["resource"], expected[i].resource);
    // RFC 3339 in one layout: ordered as text.
    auto at = rows[i]["op_time"].get<std::string>();
    EXPECT_GE(at, from);
    EXPECT_LE(at, to);
  }
  // No secret in any row, nor any answer of the audit log.
  for (const char* secret :
       {secrets::admin_token, secrets::ops_token, secrets::reader_token,
        secrets::registry_password, secrets::webhook_secret,
        secrets::webhook_auth_header, secrets::scanner_credential,
        secrets::secrets_key})
    EXPECT_EQ(last_body_.find(secret), std::string::npos) << secret;

  // Harbor's filters reach these rows too.
  EXPECT_EQ(changes("&username=ops").size(), 3u);
  EXPECT_EQ(changes("&operation=delete").size(), 1u);
  EXPECT_EQ(changes("&resource=mirror").size(), 2u);
  EXPECT_EQ(changes("&resource_type=registry").size(), 2u);
  EXPECT_EQ(changes("&q=op_time=[" + from + "~" + to + "]").size(),
            expected.size());
}

} // namespace
} // namespace regevent::test
