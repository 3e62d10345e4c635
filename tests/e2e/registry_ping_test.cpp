// POST /api/v2.0/registries/ping through the daemon against Debian's real
// docker-registry with htpasswd Basic auth: a saved registry and an unsaved
// body, the right and the wrong password, and a registry that is down. The
// password never appears in an answer or in the daemon's log.

#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/temp_dir.hpp"
#include "tests/integration/webhook_values.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace regevent::test {
namespace {

using json = nlohmann::json;
using webhook_values::admin;
using webhook_values::sealing_key;

const std::string user = "replicator";
const std::string password = "Ping-Test-Pa55word";

class registry_ping : public ::testing::Test {
protected:
  void SetUp() override {
    auto made = run_command({"htpasswd", "-Bbn", user, password});
    ASSERT_TRUE(made.ok()) << made.output;
    auto htpasswd = registry_dir_.file("htpasswd");
    write_file(htpasswd, made.output);
    registry_ = std::make_unique<registry_process>(
        registry_dir_, "", "",
        "auth:\n  htpasswd:\n    realm: regevent-test\n    path: " + htpasswd
            + "\n");
    ASSERT_TRUE(registry_->start()) << registry_->log();
    auto key_file = dir_.file("secrets.key");
    std::ofstream(key_file) << sealing_key << "\n";
    daemon_ = std::make_unique<daemon_process>(
        dir_, "auth:\n  admin_token: " + admin + "\n",
        std::map<std::string, std::string>{
            {"REGEVENT_SECRETS_KEY_FILE", key_file}});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    client_ = std::make_unique<http_client>(daemon_->client());
  }

  http_answer call(const std::string& method, const std::string& target,
                   const std::string& body = {}) {
    auto answer = client_->request(method, target, body,
                                   {{"Authorization", "Bearer " + admin},
                                    {"Content-Type", "application/json"}});
    answers_ += answer.body;
    return answer;
  }

  json registry(const std::string& name, const std::string& secret) {
    return {
        {"name", name},
        {"url", registry_->url()},
        {"credential",
         {{"type", "basic"}, {"access_key", user}, {"access_secret", secret}}}};
  }

  temp_dir dir_;
  temp_dir registry_dir_;
  std::unique_ptr<registry_process> registry_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> client_;
  std::string answers_;
};

TEST_F(registry_ping, a_saved_registry_is_pinged_with_its_stored_secret) {
  auto good
      = call("POST", "/api/v2.0/registries", registry("good", password).dump());
  ASSERT_EQ(good.status, 201u) << good.body;
  auto good_id = json::parse(good.body)["id"].get<int64_t>();
  auto ping
      = call("POST", "/api/v2.0/registries/ping", json{{"id", good_id}}.dump());
  EXPECT_EQ(ping.status, 200u) << ping.body;
  auto bad = call("POST", "/api/v2.0/registries",
                  registry("bad", "not-the-password").dump());
  ASSERT_EQ(bad.status, 201u);
  auto bad_id = json::parse(bad.body)["id"].get<int64_t>();
  auto refused
      = call("POST", "/api/v2.0/registries/ping", json{{"id", bad_id}}.dump());
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("401"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("UNAUTHORIZED"), std::string::npos)
      << refused.body;
  // A secret given with the id is tried instead of the stored one.
  auto fixed = call("POST", "/api/v2.0/registries/ping",
                    json{{"id", bad_id}, {"access_secret", password}}.dump());
  EXPECT_EQ(fixed.status, 200u) << fixed.body;
  EXPECT_EQ(call("POST", "/api/v2.0/registries/ping", json{{"id", 9999}}.dump())
                .status,
            404u);
  ASSERT_EQ(daemon_->stop(), 0);
  EXPECT_EQ(answers_.find(password), std::string::npos);
  EXPECT_EQ(daemon_->log().find(password), std::string::npos);
}

TEST_F(registry_ping, an_unsaved_registry_is_pinged_from_the_body) {
  auto ok = call(
      "POST", "/api/v2.0/registries/ping",
      json{{"url", registry_->url()},
           {"credential", {{"access_key", user}, {"access_secret", password}}}}
          .dump());
  EXPECT_EQ(ok.status, 200u) << ok.body;
  // Harbor's RegistryPing spelling, anonymous: the registry wants a login.
  auto anonymous = call("POST", "/api/v2.0/registries/ping",
                        json{{"url", registry_->url()}}.dump());
  EXPECT_EQ(anonymous.status, 400u);
  EXPECT_NE(anonymous.body.find("401"), std::string::npos) << anonymous.body;
  auto missing = call("POST", "/api/v2.0/registries/ping", "{}");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.body.find("url is required"), std::string::npos);
  // Down: the transport's failure, named.
  auto url = registry_->url();
  registry_->stop();
  auto down
      = call("POST", "/api/v2.0/registries/ping", json{{"url", url}}.dump());
  EXPECT_EQ(down.status, 400u);
  EXPECT_NE(down.body.find("registry ping failed"), std::string::npos)
      << down.body;
  EXPECT_EQ(call("GET", "/api/v2.0/registries/ping").status, 405u);
}

} // namespace
} // namespace regevent::test
