// The registry and replication policy API against the real daemon (SQLite,
// and PostgreSQL in the postgresql. variant): Harbor v2.0 shapes,
// field-level 400s, a write-only credential secret that reaches neither an
// answer, nor the log, nor the database in the clear.

#include "tests/integration/admin_api.hpp"
#include "tests/integration/webhook_values.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace regevent::test {
namespace {

using json = nlohmann::json;

const std::string password = secrets::registry_password;

class replication_api : public admin_api_test {
protected:
  static json registry(const std::string& name) {
    return {{"name", name},
            {"type", "docker-registry"},
            {"url", "https://dr.example:5000"},
            {"insecure", false},
            {"credential",
             {{"type", "basic"},
              {"access_key", "robot"},
              {"access_secret", password}}}};
  }

  static json policy(const std::string& name, int64_t registry_id) {
    return {{"name", name},
            {"description", "mirror library"},
            {"dest_registry", {{"id", registry_id}}},
            {"dest_namespace", "mirror"},
            {"dest_namespace_replace_count", 1},
            {"filters",
             {{{"type", "name"}, {"value", "library/**"}},
              {{"type", "tag"}, {"value", "v*"}},
              {{"type", "resource"}, {"value", "image"}}}},
            {"trigger", {{"type", "event_based"}}},
            {"override", false},
            {"deletion", true},
            {"enabled", true},
            {"speed", 1024}};
  }

  int64_t create_registry(const std::string& name) {
    auto created = call("POST", "/api/v2.0/registries", registry(name).dump());
    EXPECT_EQ(created.status, 201u) << created.body;
    return json::parse(created.body)["id"].get<int64_t>();
  }
};

TEST_F(replication_api, registries_are_created_read_replaced_and_deleted) {
  start(true);
  auto created = call("POST", "/api/v2.0/registries", registry("dr").dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  auto location = created.headers["Location"];
  ASSERT_EQ(location.rfind("/api/v2.0/registries/", 0), 0u) << location;
  auto r = json::parse(call("GET", location).body);
  EXPECT_EQ(r["name"], "dr");
  EXPECT_EQ(r["type"], "docker-registry");
  EXPECT_EQ(r["url"], "https://dr.example:5000");
  EXPECT_EQ(r["credential"]["type"], "basic");
  EXPECT_EQ(r["credential"]["access_key"], "robot");
  EXPECT_EQ(r["credential"]["access_secret"], "*****");
  EXPECT_TRUE(r["creation_time"].is_string());
  EXPECT_EQ(call("POST", "/api/v2.0/registries", registry("dr").dump()).status,
            409u);
  auto list = call("GET", "/api/v2.0/registries");
  EXPECT_EQ(list.headers["X-Total-Count"], "1");
  // A PUT without the secret keeps it (same server, same account).
  auto change = registry("dr-2");
  change["credential"].erase("access_secret");
  ASSERT_EQ(call("PUT", location, change.dump()).status, 200u);
  auto after = json::parse(call("GET", location).body);
  EXPECT_EQ(after["name"], "dr-2");
  EXPECT_EQ(after["credential"]["access_secret"], "*****");
  EXPECT_EQ(call("DELETE", location).status, 200u);
  EXPECT_EQ(call("GET", location).status, 404u);
  EXPECT_EQ(call("DELETE", location).status, 404u);
}

TEST_F(replication_api, the_secret_is_write_only_and_sealed_at_rest) {
  start(true);
  auto created = call("POST", "/api/v2.0/registries", registry("dr").dump());
  ASSERT_EQ(created.status, 201u);
  std::string answers = created.body
                        + call("GET", created.headers["Location"]).body
                        + call("GET", "/api/v2.0/registries").body;
  auto stored = sql_text(daemon_->database_path(),
                         "SELECT access_secret FROM registries WHERE name = "
                         ":key",
                         "dr");
  ASSERT_EQ(daemon_->stop(), 0);
  auto log = daemon_->log();
  EXPECT_EQ(answers.find(password), std::string::npos);
  EXPECT_EQ(log.find(password), std::string::npos);
  EXPECT_EQ(stored.find(password), std::string::npos);
  EXPECT_EQ(stored.find("v1:"), 0u) << stored;
}

TEST_F(replication_api, a_secret_is_refused_without_a_sealing_key) {
  start(false);
  auto answer = call("POST", "/api/v2.0/registries", registry("dr").dump());
  EXPECT_EQ(answer.status, 400u);
  EXPECT_NE(answer.body.find("credential.access_secret"), std::string::npos)
      << answer.body;
  // Anonymous access needs no key.
  auto anonymous = registry("anon");
  anonymous.erase("credential");
  EXPECT_EQ(call("POST", "/api/v2.0/registries", anonymous.dump()).status,
            201u);
}

TEST_F(replication_api, bad_registries_are_answered_400_naming_the_field) {
  start(true);
  auto with = [](const char* key, json value) {
    auto r = registry("dr");
    r[key] = std::move(value);
    return r.dump();
  };
  const std::map<std::string, std::string> cases{
      {with("url", "ftp://dr.example"), "url"},
      {with("url", 5), "url must be a string"},
      {with("type", "harbor"), "type must be"},
      {with("name", ""), "name must be"},
      {with("ca_file", "relative.pem"), "ca_file must be an absolute path"},
      {with("credential", {{"type", "oauth"}, {"access_key", "x"}}),
       "credential.type"},
      {with("credential", {{"type", "basic"}}), "credential.access_key"},
      {"[1]", "body must be a JSON object"},
  };
  for (const auto& [body, expected] : cases) {
    auto answer = call("POST", "/api/v2.0/registries", body);
    EXPECT_EQ(answer.status, 400u) << body;
    EXPECT_NE(answer.body.find(expected), std::string::npos)
        << body << " -> " << answer.body;
  }
  EXPECT_EQ(call("GET", "/api/v2.0/registries/abc").status, 400u);
  EXPECT_EQ(call("PATCH", "/api/v2.0/registries").status, 405u);
}

TEST_F(replication_api, policies_name_their_registry_which_stays_while_used) {
  start(true);
  auto registry_id = create_registry("dr");
  auto created = call("POST", "/api/v2.0/replication/policies",
                      policy("mirror", registry_id).dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  auto location = created.headers["Location"];
  auto p = json::parse(call("GET", location).body);
  EXPECT_EQ(p["name"], "mirror");
  EXPECT_EQ(p["dest_registry"]["id"], registry_id);
  EXPECT_EQ(p["dest_namespace"], "mirror");
  EXPECT_EQ(p["dest_namespace_replace_count"], 1);
  // The resource filter is Harbor's UI default, not a filter of its own.
  EXPECT_EQ(p["filters"], json({{{"type", "name"}, {"value", "library/**"}},
                                {{"type", "tag"}, {"value", "v*"}}}));
  EXPECT_EQ(p["trigger"]["type"], "event_based");
  EXPECT_EQ(p["override"], false);
  EXPECT_EQ(p["deletion"], true);
  EXPECT_EQ(p["speed"], 1024);
  // The registry a policy names cannot go.
  auto refused
      = call("DELETE", "/api/v2.0/registries/" + std::to_string(registry_id));
  EXPECT_EQ(refused.status, 409u) << refused.body;
  // A policy naming no registry.
  auto orphan = call("POST", "/api/v2.0/replication/policies",
                     policy("orphan", registry_id + 100).dump());
  EXPECT_EQ(orphan.status, 404u) << orphan.body;
  EXPECT_EQ(call("POST", "/api/v2.0/replication/policies",
                 policy("mirror", registry_id).dump())
                .status,
            409u);
  auto change = policy("mirror", registry_id);
  change["filters"] = json::array();
  change["enabled"] = false;
  ASSERT_EQ(call("PUT", location, change.dump()).status, 200u);
  auto after = json::parse(call("GET", location).body);
  EXPECT_EQ(after["filters"], json::array());
  EXPECT_EQ(after["enabled"], false);
  EXPECT_EQ(
      call("GET", "/api/v2.0/replication/policies").headers["X-Total-Count"],
      "1");
  EXPECT_EQ(call("DELETE", location).status, 200u);
  EXPECT_EQ(
      call("DELETE", "/api/v2.0/registries/" + std::to_string(registry_id))
          .status,
      200u);
}

TEST_F(replication_api, bad_policies_are_answered_400_naming_the_field) {
  start(true);
  auto registry_id = create_registry("dr");
  auto with = [registry_id](const char* key, json value) {
    auto p = policy("p", registry_id);
    p[key] = std::move(value);
    return p.dump();
  };
  const std::map<std::string, std::string> cases{
      {with("dest_registry", json::object()), "dest_registry.id"},
      {with("dest_namespace", "Upper Case"), "dest_namespace"},
      {with("dest_namespace", "a//b"), "dest_namespace"},
      {with("dest_namespace", "-lead"), "dest_namespace"},
      {with("dest_namespace", "trail."), "dest_namespace"},
      {with("dest_namespace", "a___b"), "dest_namespace"},
      {with("dest_namespace_replace_count", 300),
       "dest_namespace_replace_count"},
      {with("trigger", {{"type", "scheduled"}}), "trigger.type"},
      {with("filters", {{{"type", "label"}, {"value", "x"}}}),
       "filters[0].type"},
      {with("filters", {{{"type", "name"}, {"value", "a"}},
                        {{"type", "name"}, {"value", "b"}}}),
       "filters[1].type"},
      {with("filters", {{{"type", "tag"}, {"value", ""}}}), "filters[0].value"},
      {with("src_registry", {{"id", 1}}), "src_registry"},
      {with("override", "yes"), "override must be true or false"},
  };
  for (const auto& [body, expected] : cases) {
    auto answer = call("POST", "/api/v2.0/replication/policies", body);
    EXPECT_EQ(answer.status, 400u) << body;
    EXPECT_NE(answer.body.find(expected), std::string::npos)
        << body << " -> " << answer.body;
  }
  // Distribution's component grammar: `.`, `_`, `__` and runs of `-`
  // between alphanumerics, components joined by `/`.
  int n = 0;
  for (const char* ns : {"mirror", "team_a/mirror.b--c", "a__b/c-d/e.f", "0"}) {
    auto p = policy("ok-" + std::to_string(n++), registry_id);
    p["dest_namespace"] = ns;
    auto answer = call("POST", "/api/v2.0/replication/policies", p.dump());
    EXPECT_EQ(answer.status, 201u) << ns << " -> " << answer.body;
  }
}

} // namespace
} // namespace regevent::test
