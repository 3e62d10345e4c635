// The scanner registration API against the real daemon (SQLite, and
// PostgreSQL in the postgresql. variant): Harbor v2.0's ScannerRegistration
// shapes, field-level 400s, one default, a project's scanner, and an access
// credential that reaches neither an answer, nor the log, nor the database
// in the clear.

#include "tests/integration/admin_api.hpp"
#include "tests/integration/webhook_values.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace regevent::test {
namespace {

using json = nlohmann::json;

const std::string credential = secrets::scanner_credential;

class scanner_api : public admin_api_test {
protected:
  static json scanner(const std::string& name) {
    return {{"name", name},
            {"description", "Trivy through its Harbor adapter"},
            {"url", "http://127.0.0.1:8081"},
            {"auth", "X-ScannerAdapter-API-Key"},
            {"access_credential", credential},
            {"skip_certVerify", false},
            {"use_internal_addr", false},
            {"disabled", false}};
  }

  std::string create(const std::string& name) {
    auto created = call("POST", "/api/v2.0/scanners", scanner(name).dump());
    EXPECT_EQ(created.status, 201u) << created.body;
    return json::parse(created.body).value("uuid", std::string());
  }
};

TEST_F(scanner_api, registrations_are_created_read_replaced_and_deleted) {
  start(true);
  auto created = call("POST", "/api/v2.0/scanners", scanner("trivy").dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  auto x = json::parse(created.body);
  auto uuid = x["uuid"].get<std::string>();
  EXPECT_EQ(uuid.size(), 36u);
  EXPECT_EQ(created.headers["Location"], "/api/v2.0/scanners/" + uuid);
  EXPECT_EQ(x["name"], "trivy");
  EXPECT_EQ(x["auth"], "X-ScannerAdapter-API-Key");
  EXPECT_EQ(x["access_credential"], "*****");
  // The first registration is the default.
  EXPECT_EQ(x["is_default"], true);
  EXPECT_EQ(call("GET", "/api/v2.0/scanners/" + uuid).body, created.body);
  auto list = call("GET", "/api/v2.0/scanners");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(list.headers["X-Total-Count"], "1");
  // Replaced; without a credential, the stored one stays.
  auto change = scanner("trivy-2");
  change.erase("access_credential");
  change["skip_cert_verify"] = true;
  auto put = call("PUT", "/api/v2.0/scanners/" + uuid, change.dump());
  ASSERT_EQ(put.status, 200u) << put.body;
  auto after = json::parse(put.body);
  EXPECT_EQ(after["name"], "trivy-2");
  EXPECT_EQ(after["skip_certVerify"], true);
  EXPECT_EQ(after["access_credential"], "*****");
  // A second one; the first cannot go while it is the default.
  auto other = create("clair");
  EXPECT_EQ(json::parse(call("GET", "/api/v2.0/scanners/" + other).body)
                ["is_default"],
            false);
  EXPECT_EQ(call("DELETE", "/api/v2.0/scanners/" + uuid).status, 409u);
  auto made = call("PATCH", "/api/v2.0/scanners/" + other,
                   json{{"is_default", true}}.dump());
  ASSERT_EQ(made.status, 200u) << made.body;
  EXPECT_EQ(json::parse(made.body)["is_default"], true);
  EXPECT_EQ(json::parse(call("GET", "/api/v2.0/scanners/" + uuid).body)
                ["is_default"],
            false);
  EXPECT_EQ(call("DELETE", "/api/v2.0/scanners/" + uuid).status, 200u);
  EXPECT_EQ(call("GET", "/api/v2.0/scanners/" + uuid).status, 404u);
  EXPECT_EQ(call("DELETE", "/api/v2.0/scanners/" + uuid).status, 404u);
  EXPECT_EQ(call("POST", "/api/v2.0/scanners", scanner("clair").dump()).status,
            409u);
}

TEST_F(scanner_api, a_project_uses_its_own_scanner_or_the_default) {
  start(true);
  EXPECT_EQ(call("GET", "/api/v2.0/projects/library/scanner").status, 404u);
  auto first = create("trivy");
  auto second = create("clair");
  auto of_library = [&] {
    auto r = call("GET", "/api/v2.0/projects/library/scanner");
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body).value("uuid", std::string());
  };
  EXPECT_EQ(of_library(), first);
  ASSERT_EQ(call("PUT", "/api/v2.0/projects/library/scanner",
                 json{{"uuid", second}}.dump())
                .status,
            200u);
  EXPECT_EQ(of_library(), second);
  EXPECT_EQ(call("PUT", "/api/v2.0/projects/library/scanner",
                 json{{"uuid", "no-such-scanner"}}.dump())
                .status,
            404u);
  EXPECT_EQ(call("PUT", "/api/v2.0/projects/library/scanner", "{}").status,
            400u);
}

TEST_F(scanner_api, bad_requests_name_the_field) {
  start(true);
  auto expect_400 = [&](json body, const std::string& says) {
    auto r = call("POST", "/api/v2.0/scanners", body.dump());
    EXPECT_EQ(r.status, 400u) << body.dump();
    EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  };
  auto no_name = scanner("x");
  no_name.erase("name");
  expect_400(no_name, "name");
  auto bad_url = scanner("x");
  bad_url["url"] = "ftp://adapter";
  expect_400(bad_url, "url");
  auto bad_auth = scanner("x");
  bad_auth["auth"] = "Digest";
  expect_400(bad_auth, "auth must be");
  auto no_credential = scanner("x");
  no_credential.erase("access_credential");
  expect_400(no_credential, "needs an access_credential");
  auto basic = scanner("x");
  basic["auth"] = "Basic";
  expect_400(basic, "user:password");
  auto typed = scanner("x");
  typed["disabled"] = "no";
  expect_400(typed, "disabled");
  EXPECT_EQ(call("PATCH", "/api/v2.0/scanners/x", "{}").status, 400u);
  auto verb = call("POST", "/api/v2.0/scanners/x", "{}");
  EXPECT_EQ(verb.status, 405u);
  EXPECT_EQ(verb.headers["Allow"], "GET, PUT, PATCH, DELETE");
}

TEST_F(scanner_api, the_credential_is_write_only_and_sealed_at_rest) {
  start(true);
  auto created = call("POST", "/api/v2.0/scanners", scanner("trivy").dump());
  ASSERT_EQ(created.status, 201u);
  std::string answers = created.body
                        + call("GET", created.headers["Location"]).body
                        + call("GET", "/api/v2.0/scanners").body
                        + call("GET", "/api/v2.0/projects/p/scanner").body;
  auto stored = sql_text(daemon_->database_path(),
                         "SELECT access_credential FROM scanners WHERE name "
                         "= :key",
                         "trivy");
  ASSERT_EQ(daemon_->stop(), 0);
  auto log = daemon_->log();
  EXPECT_EQ(answers.find(credential), std::string::npos);
  EXPECT_EQ(log.find(credential), std::string::npos);
  EXPECT_EQ(stored.find(credential), std::string::npos);
  EXPECT_EQ(stored.find("v1:"), 0u) << stored;
}

TEST_F(scanner_api, a_credential_is_refused_without_a_sealing_key) {
  start(false);
  auto answer = call("POST", "/api/v2.0/scanners", scanner("trivy").dump());
  EXPECT_EQ(answer.status, 400u);
  EXPECT_NE(answer.body.find("secrets.key"), std::string::npos) << answer.body;
}

} // namespace
} // namespace regevent::test
