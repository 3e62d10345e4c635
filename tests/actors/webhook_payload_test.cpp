#include "actors/webhook_payload.hpp"

#include "persistence/webhook.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <random>
#include <set>
#include <stdexcept>
#include <string>

namespace regevent {
namespace {

using json = nlohmann::json;
using test::temp_dir;

/// 2023-11-14T22:13:20.123456Z.
constexpr timestamp_us occur_at = 1'700'000'000'123'456;
/// 2023-03-03T03:03:20Z plus a fraction that must be dropped.
constexpr timestamp_us created = 1'677'812'600'999'999;
const std::string digest = "sha256:"
                           "e3b0c44298fc1c149afbf4c8996fb924"
                           "27ae41e4649b934ca495991b7852b855";

webhook_notice push_by_tag() {
  webhook_notice n;
  n.event_type = "PUSH_ARTIFACT";
  n.occur_at = occur_at;
  n.operator_name = "alice";
  n.project = "library";
  n.repository = "library/app";
  n.tag = "v1.2";
  n.digest = digest;
  n.repository_created = created;
  n.project_public = false;
  n.registry_address = "registry.example.com:8443";
  n.project_id = 7;
  n.policy_id = 42;
  return n;
}

webhook_notice pull_by_digest() {
  auto n = push_by_tag();
  n.event_type = "PULL_ARTIFACT";
  n.operator_name.clear();
  n.tag.clear();
  n.repository_created = 0;
  n.project_public = true;
  return n;
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& item : object.items())
    out.insert(item.key());
  return out;
}

json parse(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << text;
  EXPECT_TRUE(doc.is_object()) << text;
  return doc;
}

TEST(webhook_payload, default_push_by_tag_carries_every_harbor_field) {
  auto doc = parse(render_default_payload(push_by_tag()));
  EXPECT_EQ(keys(doc), (std::set<std::string>{"type", "occur_at", "operator",
                                              "event_data"}));
  EXPECT_EQ(doc["type"], "PUSH_ARTIFACT");
  ASSERT_TRUE(doc["occur_at"].is_number_integer()) << doc["occur_at"];
  EXPECT_EQ(doc["occur_at"].get<long long>(), 1'700'000'000);
  EXPECT_EQ(doc["operator"], "alice");
  const auto& data = doc["event_data"];
  EXPECT_EQ(keys(data), (std::set<std::string>{"resources", "repository"}));
  ASSERT_TRUE(data["resources"].is_array());
  ASSERT_EQ(data["resources"].size(), 1u);
  const auto& resource = data["resources"][0];
  EXPECT_EQ(keys(resource),
            (std::set<std::string>{"digest", "tag", "resource_url"}));
  EXPECT_EQ(resource["digest"], digest);
  EXPECT_EQ(resource["tag"], "v1.2");
  EXPECT_EQ(resource["resource_url"],
            "registry.example.com:8443/library/app:v1.2");
  const auto& repository = data["repository"];
  EXPECT_EQ(keys(repository),
            (std::set<std::string>{"date_created", "name", "namespace",
                                   "repo_full_name", "repo_type"}));
  ASSERT_TRUE(repository["date_created"].is_number_integer());
  EXPECT_EQ(repository["date_created"].get<long long>(), 1'677'812'600);
  EXPECT_EQ(repository["name"], "app");
  EXPECT_EQ(repository["namespace"], "library");
  EXPECT_EQ(repository["repo_full_name"], "library/app");
  EXPECT_EQ(repository["repo_type"], "private");
}

TEST(webhook_payload, default_pull_by_digest_names_the_digest) {
  auto doc = parse(render_default_payload(pull_by_digest()));
  EXPECT_EQ(doc["type"], "PULL_ARTIFACT");
  ASSERT_TRUE(doc["operator"].is_string());
  EXPECT_EQ(doc["operator"], "");
  const auto& resource = doc["event_data"]["resources"][0];
  EXPECT_EQ(resource["resource_url"],
            "registry.example.com:8443/library/app@" + digest);
  EXPECT_EQ(resource["digest"], digest);
  EXPECT_FALSE(resource.contains("tag")) << resource;
  const auto& repository = doc["event_data"]["repository"];
  EXPECT_EQ(repository["repo_type"], "public");
  EXPECT_FALSE(repository.contains("date_created")) << repository;
}

TEST(webhook_payload, delete_follows_the_same_resource_url_rules) {
  auto by_tag = push_by_tag();
  by_tag.event_type = "DELETE_ARTIFACT";
  auto doc = parse(render_default_payload(by_tag));
  EXPECT_EQ(doc["type"], "DELETE_ARTIFACT");
  EXPECT_EQ(doc["event_data"]["resources"][0]["resource_url"],
            "registry.example.com:8443/library/app:v1.2");
  auto by_digest = pull_by_digest();
  by_digest.event_type = "DELETE_ARTIFACT";
  doc = parse(render_default_payload(by_digest));
  EXPECT_EQ(doc["event_data"]["resources"][0]["resource_url"],
            "registry.example.com:8443/library/app@" + digest);
}

TEST(webhook_payload, no_registry_address_gives_no_host_part) {
  auto by_tag = push_by_tag();
  by_tag.registry_address.clear();
  auto by_digest = pull_by_digest();
  by_digest.registry_address.clear();
  EXPECT_EQ(parse(render_default_payload(
                by_tag))["event_data"]["resources"][0]["resource_url"],
            "library/app:v1.2");
  EXPECT_EQ(parse(render_default_payload(
                by_digest))["event_data"]["resources"][0]["resource_url"],
            "library/app@" + digest);
}

TEST(webhook_payload, name_drops_only_the_project) {
  auto n = push_by_tag();
  n.repository = "library/team/app";
  const auto repository
      = parse(render_default_payload(n))["event_data"]["repository"];
  EXPECT_EQ(repository["name"], "team/app");
  EXPECT_EQ(repository["namespace"], "library");
  EXPECT_EQ(repository["repo_full_name"], "library/team/app");
}

TEST(webhook_payload, a_scan_event_carries_the_scan_overview_in_its_resource) {
  auto n = push_by_tag();
  n.event_type = "SCANNING_COMPLETED";
  n.operator_name = "auto";
  n.scan_overview = R"({"application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0":{"report_id":"r-1","scan_status":"Success","severity":"High"}})";
  for (const auto& body :
       {render_default_payload(n), render_cloudevents_payload(n, "msg_1")}) {
    auto doc = json::parse(body);
    const auto& data = doc.contains("event_data") ? doc["event_data"]
                                                  : doc["data"];
    const auto& resource = data["resources"][0];
    EXPECT_EQ(resource["digest"], digest);
    EXPECT_EQ(resource["scan_overview"], json::parse(n.scan_overview));
  }
  EXPECT_EQ(json::parse(render_default_payload(n))["type"],
            "SCANNING_COMPLETED");
  // Other events carry none.
  EXPECT_FALSE(json::parse(render_default_payload(push_by_tag()))
                   ["event_data"]["resources"][0]
                       .contains("scan_overview"));
}

TEST(webhook_payload, cloudevents_carries_the_default_event_data) {
  auto n = push_by_tag();
  auto doc = parse(render_cloudevents_payload(n, "0b7c7a3e-delivery"));
  EXPECT_EQ(keys(doc), (std::set<std::string>{"specversion", "id", "source",
                                              "type", "time", "datacontenttype",
                                              "operator", "data"}));
  EXPECT_EQ(doc["specversion"], "1.0");
  EXPECT_EQ(doc["id"], "0b7c7a3e-delivery");
  EXPECT_EQ(doc["source"], "/projects/7/webhook/policies/42");
  EXPECT_EQ(doc["type"], "harbor.artifact.pushed");
  EXPECT_EQ(doc["time"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(doc["time"], format_rfc3339(occur_at));
  EXPECT_EQ(doc["datacontenttype"], "application/json");
  EXPECT_EQ(doc["operator"], "alice");
  EXPECT_EQ(doc["data"], parse(render_default_payload(n))["event_data"]);
  auto by_digest = pull_by_digest();
  doc = parse(render_cloudevents_payload(by_digest, "d-2"));
  EXPECT_EQ(doc["data"],
            parse(render_default_payload(by_digest))["event_data"]);
  EXPECT_EQ(doc["operator"], "");
}

TEST(webhook_payload, cloudevents_type_for_every_event_type) {
  const std::pair<const char*, const char*> expected[] = {
      {"PUSH_ARTIFACT", "harbor.artifact.pushed"},
      {"PULL_ARTIFACT", "harbor.artifact.pulled"},
      {"DELETE_ARTIFACT", "harbor.artifact.deleted"},
      {"SCANNING_COMPLETED", "harbor.scan.completed"},
      {"SCANNING_FAILED", "harbor.scan.failed"},
      {"REPLICATION", "harbor.replication.status.changed"},
  };
  ASSERT_EQ(std::size(expected), webhook_event_types.size());
  for (auto [event_type, type] : expected) {
    auto n = push_by_tag();
    n.event_type = event_type;
    EXPECT_EQ(parse(render_cloudevents_payload(n, "id"))["type"], type)
        << event_type;
  }
  // Every type the API accepts has one.
  for (const char* event_type : webhook_event_types) {
    auto n = push_by_tag();
    n.event_type = event_type;
    EXPECT_NO_THROW(render_cloudevents_payload(n, "id")) << event_type;
  }
  auto unknown = push_by_tag();
  unknown.event_type = "QUOTA_EXCEED";
  EXPECT_THROW(render_cloudevents_payload(unknown, "id"),
               std::invalid_argument);
}

TEST(webhook_payload, content_type_per_format) {
  EXPECT_STREQ(payload_content_type("Default"), "application/json");
  EXPECT_STREQ(payload_content_type("CloudEvents"),
               "application/cloudevents+json");
  EXPECT_STREQ(payload_content_type(""), "application/json");
}

// --- Standard Webhooks signatures --------------------------------------

TEST(webhook_payload, signature_matches_the_standard_webhooks_test_vector) {
  // The vector of the Standard Webhooks (and Svix) reference libraries.
  EXPECT_EQ(
      standard_webhooks_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                  R"({"test": 2432232314})"),
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

/// Runs a shell line in `dir` and answers its standard output; fails the
/// test on a non-zero exit.
std::string run(const temp_dir& dir, const std::string& line) {
  auto out = dir.file("stdout");
  auto full = "cd " + dir.path().string() + " && " + line + " >" + out
              + " 2>/dev/null";
  EXPECT_EQ(std::system(full.c_str()), 0) << line;
  return test::read_file(out);
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

TEST(webhook_payload, signature_agrees_with_the_openssl_cli) {
  temp_dir dir;
  std::mt19937 random(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string id = "msg_2bVxHbN6fCjKp8";
  const long long timestamp = 1'718'000'000;
  const std::string body
      = render_default_payload(push_by_tag()) + "\n\xc3\xa9\x01 trailing";
  test::write_file(dir.file("message"),
                   id + "." + std::to_string(timestamp) + "." + body);
  // 24 to 64 bytes, as the API allows: no padding, "==", "=" and "=".
  for (size_t size : {24u, 25u, 32u, 64u}) {
    std::string key;
    for (size_t i = 0; i < size; ++i)
      key += static_cast<char>(byte(random));
    test::write_file(dir.file("key"), key);
    auto secret = "whsec_" + run(dir, "openssl base64 -A -in key");
    auto expected
        = run(dir, "openssl dgst -sha256 -mac HMAC -macopt hexkey:" + hex(key)
                       + " -binary message | openssl base64 -A");
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(standard_webhooks_signature(secret, id, timestamp, body),
              "v1," + expected)
        << size << " key bytes, secret " << secret;
  }
}

TEST(webhook_payload, signature_changes_with_body_id_and_timestamp) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const auto body = render_default_payload(push_by_tag());
  auto signature = standard_webhooks_signature(secret, "msg_1", 1000, body);
  EXPECT_EQ(signature.rfind("v1,", 0), 0u) << signature;
  EXPECT_EQ(standard_webhooks_signature(secret, "msg_1", 1000, body),
            signature);
  auto tampered = body;
  tampered[tampered.find("v1.2")] = 'V';
  EXPECT_NE(standard_webhooks_signature(secret, "msg_1", 1000, tampered),
            signature);
  EXPECT_NE(standard_webhooks_signature(secret, "msg_2", 1000, body),
            signature);
  EXPECT_NE(standard_webhooks_signature(secret, "msg_1", 1001, body),
            signature);
  EXPECT_NE(standard_webhooks_signature(
                "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "msg_1", 1000, body),
            signature);
}

TEST(webhook_payload, a_malformed_secret_throws) {
  for (const char* secret : {
           "",
           "whsec_",
           "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
           "whsec_MfKQ9r8GKYqr!wjUPD8ILPZIo2LaLaSw",
       })
    EXPECT_THROW(standard_webhooks_signature(secret, "msg_1", 1000, "{}"),
                 std::invalid_argument)
        << secret;
}

} // namespace
} // namespace regevent
