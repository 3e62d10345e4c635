// The daemon against a scanner adapter (the test double of the Pluggable
// Scanner API, tests/fixtures/scanner_adapter_double.py): a ping checks an
// adapter and its credential before it is saved, and a saved registration's
// metadata is the adapter's, asked with the stored, sealed credential.

#include "tests/e2e/scanner_adapter_helper.hpp"
#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace regevent::test {
namespace {

using json = nlohmann::json;

constexpr const char* admin_token = "scan-admin-token";
constexpr const char* sealing_key
    = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
constexpr const char* api_key = "adapter-key-0123456789";

class scanner_adapter : public ::testing::Test {
protected:
  void SetUp() override {
    daemon_ = std::make_unique<daemon_process>(
        dir_, std::string("auth:\n  admin_token: ") + admin_token
                  + "\nsecrets:\n  key: " + sealing_key + "\n");
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  http_answer call(const std::string& method, const std::string& target,
                   const json& body = nullptr) {
    return daemon_->client().request(
        method, target, body.is_null() ? std::string() : body.dump(),
        {{"Authorization", std::string("Bearer ") + admin_token},
         {"Content-Type", "application/json"}});
  }

  static json registration(const scanner_adapter_double& adapter,
                           const std::string& key) {
    return {{"name", "test-adapter"},
            {"url", adapter.url()},
            {"auth", "X-ScannerAdapter-API-Key"},
            {"access_credential", key}};
  }

  /// The adapter's requests for its metadata, and the API key each sent.
  static size_t metadata_requests(const scanner_adapter_double& adapter) {
    size_t n = 0;
    for (const auto& line : adapter.log())
      if (line.value("kind", "") == "request"
          && line.value("path", "") == "/api/v1/metadata")
        ++n;
    return n;
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(scanner_adapter, a_ping_checks_the_adapter_and_its_credential) {
  scanner_adapter_double::options o;
  o.auth = "X-ScannerAdapter-API-Key";
  o.credential = api_key;
  scanner_adapter_double adapter(dir_, o);
  ASSERT_TRUE(adapter.started()) << adapter.problem();
  auto ok = call("POST", "/api/v2.0/scanners/ping",
                 registration(adapter, api_key));
  ASSERT_EQ(ok.status, 200u) << ok.body;
  auto metadata = json::parse(ok.body);
  EXPECT_EQ(metadata["scanner"]["name"], "regevent-test-adapter");
  EXPECT_TRUE(metadata["capabilities"].is_array());
  // A wrong key: the adapter's 401, said as such; nothing was saved.
  auto refused = call("POST", "/api/v2.0/scanners/ping",
                      registration(adapter, "wrong-key"));
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("401"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("wrong-key"), std::string::npos);
  EXPECT_EQ(metadata_requests(adapter), 2u);
  EXPECT_EQ(call("GET", "/api/v2.0/scanners").body, "[]");
  // Nobody listening: the connection's failure.
  json nowhere = registration(adapter, api_key);
  nowhere["url"] = "http://127.0.0.1:9";
  auto down = call("POST", "/api/v2.0/scanners/ping", nowhere);
  EXPECT_EQ(down.status, 400u);
  EXPECT_NE(down.body.find("scanner adapter:"), std::string::npos)
      << down.body;
}

TEST_F(scanner_adapter, a_saved_scanner_answers_its_adapters_metadata) {
  scanner_adapter_double::options o;
  o.auth = "X-ScannerAdapter-API-Key";
  o.credential = api_key;
  scanner_adapter_double adapter(dir_, o);
  ASSERT_TRUE(adapter.started()) << adapter.problem();
  auto created
      = call("POST", "/api/v2.0/scanners", registration(adapter, api_key));
  ASSERT_EQ(created.status, 201u) << created.body;
  auto uuid = json::parse(created.body)["uuid"].get<std::string>();
  // The stored (sealed) key is opened for the adapter and only for it.
  auto metadata = call("GET", "/api/v2.0/scanners/" + uuid + "/metadata");
  ASSERT_EQ(metadata.status, 200u) << metadata.body;
  EXPECT_EQ(json::parse(metadata.body)["scanner"]["name"],
            "regevent-test-adapter");
  EXPECT_EQ(metadata.body.find(api_key), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v2.0/scanners/no-such/metadata").status, 404u);
  // An adapter that fails: 502 with its error.
  scanner_adapter_double::options broken;
  broken.fail_metadata = true;
  scanner_adapter_double failing(dir_, broken, "failing");
  ASSERT_TRUE(failing.started()) << failing.problem();
  json second = {{"name", "failing"}, {"url", failing.url()}};
  auto made = call("POST", "/api/v2.0/scanners", second);
  ASSERT_EQ(made.status, 201u) << made.body;
  auto failing_uuid = json::parse(made.body)["uuid"].get<std::string>();
  auto bad = call("GET", "/api/v2.0/scanners/" + failing_uuid + "/metadata");
  EXPECT_EQ(bad.status, 502u);
  EXPECT_NE(bad.body.find("500"), std::string::npos) << bad.body;
  ASSERT_EQ(daemon_->stop(), 0);
  EXPECT_EQ(daemon_->log().find(api_key), std::string::npos);
}

} // namespace
} // namespace regevent::test
