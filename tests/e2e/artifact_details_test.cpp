// What a notification does not say about an artifact, end to end: images
// pushed with skopeo into the real `docker-registry` notify the real
// regeventd, whose artifact details worker reads each manifest and image
// config back from the registry (as `regevent-inspector`, whose pulls are
// not counted) and stores Harbor's media_type, artifact_type, extra_attrs,
// references and size. Runs on SQLite and, in the PostgreSQL variant, on
// PostgreSQL.

#include "tests/e2e/api_helper.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/metrics.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* notify_secret = "details-notify-secret";
constexpr const char* admin_token = "details-admin-token";
constexpr const char* image_config = "application/vnd.oci.image.config.v1+json";

class artifact_details : public ::testing::Test {
protected:
  static std::string tail(const std::string& text, size_t n = 5000) {
    return text.size() <= n ? text : text.substr(text.size() - n);
  }

  void TearDown() override {
    if (!HasFailure())
      return;
    if (daemon_)
      std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
    if (registry_)
      std::cerr << "---- registry log (tail)\n" << tail(registry_->log());
  }

  /// The daemon, then a registry notifying it, then the daemon again with
  /// the registry as its source (its URL is known only once it runs).
  void start() {
    daemon_ = std::make_unique<daemon_process>(
        dir_, std::string("auth:\n  notify_token: ") + notify_secret
                  + "\n  admin_token: " + admin_token + "\n");
    daemon_->keep_port_across_restarts();
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
    registry_ = std::make_unique<registry_process>(
        registry_dir_,
        "http://127.0.0.1:" + std::to_string(daemon_->port())
            + "/service/notifications",
        notify_secret);
    registry_->keep_port_across_restarts();
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
    ASSERT_EQ(daemon_->stop(), 0);
    daemon_->add_config("source_registry:\n  url: " + registry_->url() + "\n");
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  }

  std::string column(const std::string& column, const std::string& repository,
                     const std::string& digest) {
    return sql_text(daemon_->database_path(),
                    "SELECT " + column
                        + " FROM artifact_details WHERE repository || '@' || "
                          "digest = :key",
                    repository + "@" + digest);
  }

  long long number(const std::string& column, const std::string& repository,
                   const std::string& digest) {
    auto text = sql_text(daemon_->database_path(),
                         "SELECT CAST(" + column
                             + " AS TEXT) FROM artifact_details WHERE "
                               "repository || '@' || digest = :key",
                         repository + "@" + digest);
    return text.empty() ? -1 : std::stoll(text);
  }

  /// Waits until the artifact's details are `status`.
  bool reaches(const std::string& repository, const std::string& digest,
               const std::string& status,
               std::chrono::milliseconds deadline = 60s) {
    return poll_until(
        [&] { return column("status", repository, digest) == status; },
        deadline);
  }

  json json_column(const std::string& c, const std::string& repository,
                   const std::string& digest) {
    return json::parse(column(c, repository, digest), nullptr, false);
  }

  /// The raw manifest as the registry stores it.
  std::string raw(const std::string& repository, const std::string& ref) {
    auto r = skopeo_.inspect_raw(registry_->ref(repository, ref));
    EXPECT_TRUE(r.ok()) << r.output;
    return r.output;
  }

  /// Harbor's size of an image manifest (manifest/v2.go): its bytes, its
  /// config and its layers.
  static long long harbor_size(const std::string& manifest) {
    auto m = json::parse(manifest);
    long long size = static_cast<long long>(manifest.size())
                     + m["config"]["size"].get<long long>();
    for (const auto& l : m["layers"])
      size += l["size"].get<long long>();
    return size;
  }

  management_api api() {
    return management_api(daemon_->port(), admin_token);
  }

  bool drained() {
    return poll_until(
        [&] {
          auto m = daemon_->client().request(
              "GET", "/metrics", {},
              {{"Authorization", std::string("Bearer ") + admin_token}});
          return m.status == 200
                 && metric_value(m.body, "regevent_backlog_events").value_or(-1)
                        == 0;
        },
        60s);
  }

  temp_dir dir_;
  temp_dir registry_dir_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<registry_process> registry_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(artifact_details, images_and_indexes_are_described_as_harbor_does) {
  start();
  auto img = write_oci_image(dir_.file("img"), "1.0", "details one");
  std::string image_digest;
  auto r = skopeo_.push(img, registry_->ref("team/app", "1.0"), false,
                        &image_digest);
  ASSERT_TRUE(r.ok()) << r.output;
  auto index
      = write_oci_index(dir_.file("multi"), "1.0", "multi", {"amd64", "arm64"});
  std::string index_digest;
  r = skopeo_.push(index, registry_->ref("team/multi", "1.0"), &index_digest);
  ASSERT_TRUE(r.ok()) << r.output;

  ASSERT_TRUE(reaches("team/app", image_digest, "done"))
      << column("error", "team/app", image_digest);
  ASSERT_TRUE(reaches("team/multi", index_digest, "done"))
      << column("error", "team/multi", index_digest);
  // Each child is an artifact of its own, described too.
  for (const auto& child : index.manifest_digests)
    ASSERT_TRUE(reaches("team/multi", child, "done"))
        << column("error", "team/multi", child);

  // The reads were made (the registry logged the inspector's requests)...
  EXPECT_NE(registry_->log().find("regevent-inspector/"), std::string::npos);
  // ...and their pull notifications counted nowhere (checked before this
  // test's own reads of the manifests below, which count).
  ASSERT_TRUE(drained());
  EXPECT_EQ(api().pull_count("team/app"), 0);
  EXPECT_EQ(api().pull_count("team/multi"), 0);

  // The image: the config's media type, artifactType from it, the
  // config's attributes, size = manifest + config + layer.
  EXPECT_EQ(column("config_media_type", "team/app", image_digest),
            image_config);
  EXPECT_EQ(column("artifact_type", "team/app", image_digest), image_config);
  auto attrs = json_column("extra_attrs", "team/app", image_digest);
  ASSERT_TRUE(attrs.is_object()) << attrs;
  EXPECT_EQ(attrs["architecture"], "amd64");
  EXPECT_EQ(attrs["os"], "linux");
  EXPECT_EQ(attrs["config"], json({{"Cmd", {"/bin/true"}}}));
  EXPECT_EQ(attrs["author"], "");
  EXPECT_TRUE(attrs["created"].is_null()) << attrs;
  EXPECT_EQ(json_column("annotations", "team/app", image_digest),
            json::object());
  EXPECT_EQ(json_column("refs", "team/app", image_digest), json::array());
  auto manifest = raw("team/app", image_digest);
  EXPECT_EQ(number("size", "team/app", image_digest), harbor_size(manifest));
  EXPECT_GT(harbor_size(manifest), static_cast<long long>(manifest.size()));

  // The index: no config, its children with their platforms, size = its
  // bytes and each child's size.
  EXPECT_EQ(column("config_media_type", "team/multi", index_digest), "");
  EXPECT_EQ(column("artifact_type", "team/multi", index_digest), "");
  EXPECT_EQ(json_column("extra_attrs", "team/multi", index_digest),
            json::object());
  auto refs = json_column("refs", "team/multi", index_digest);
  ASSERT_TRUE(refs.is_array()) << refs;
  ASSERT_EQ(refs.size(), 2u) << refs;
  const char* arches[] = {"amd64", "arm64"};
  long long size
      = static_cast<long long>(raw("team/multi", index_digest).size());
  for (size_t i = 0; i < 2; ++i) {
    const auto& child = index.manifest_digests[i];
    EXPECT_EQ(refs[i]["child_digest"], child) << refs;
    EXPECT_EQ(refs[i]["platform"],
              json({{"architecture", arches[i]}, {"os", "linux"}}))
        << refs;
    EXPECT_EQ(refs[i]["annotations"], json::object()) << refs;
    EXPECT_EQ(refs[i]["urls"], json::array()) << refs;
    size += harbor_size(raw("team/multi", child));
    EXPECT_EQ(json_column("extra_attrs", "team/multi", child)["architecture"],
              arches[i]);
  }
  EXPECT_EQ(number("size", "team/multi", index_digest), size);

  auto m = daemon_->client().request(
      "GET", "/metrics", {},
      {{"Authorization", std::string("Bearer ") + admin_token}});
  EXPECT_GE(metric_value(m.body, "regevent_artifact_details_total",
                         {{"outcome", "done"}})
                .value_or(0),
            4.0)
      << m.body;
}

TEST_F(artifact_details, failed_reads_back_off_and_a_later_read_fills_them) {
  start();
  // A manifest the registry does not have: failed, not tried again for a
  // day.
  const std::string missing
      = "sha256:"
        "00000000000000000000000000000000000000000000000000000000000000aa";
  sql_exec(daemon_->database_path(),
           "INSERT INTO artifacts (repository, digest, media_type, size, "
           "push_time, alive_at) VALUES ('team/ghost', '"
               + missing
               + "', 'application/vnd.oci.image.manifest.v1+json', 10, 1, 1)");
  ASSERT_TRUE(reaches("team/ghost", missing, "failed"));
  EXPECT_NE(column("error", "team/ghost", missing).find("404"),
            std::string::npos)
      << column("error", "team/ghost", missing);
  EXPECT_GT(number("next_attempt_at", "team/ghost", missing),
            number("fetched_at", "team/ghost", missing)
                + 20LL * 3600 * 1'000'000);
  EXPECT_EQ(number("attempts", "team/ghost", missing), 1);

  // The registry away: an artifact it will hold fails with a short,
  // doubling backoff...
  auto img = write_oci_image(dir_.file("late"), "1.0", "late one");
  registry_->stop();
  sql_exec(daemon_->database_path(),
           "INSERT INTO artifacts (repository, digest, media_type, size, "
           "push_time, alive_at) VALUES ('team/late', '"
               + img.manifest_digest
               + "', 'application/vnd.oci.image.manifest.v1+json', 10, 1, 1)");
  ASSERT_TRUE(reaches("team/late", img.manifest_digest, "failed"));
  auto wait = number("next_attempt_at", "team/late", img.manifest_digest)
              - number("fetched_at", "team/late", img.manifest_digest);
  EXPECT_GT(wait, 5'000'000) << wait;
  EXPECT_LT(wait, 3600LL * 1'000'000) << wait;
  EXPECT_FALSE(column("error", "team/late", img.manifest_digest).empty());

  // ...and once it is back with the image, the next attempt fills it. The
  // attempt is held off while the image is pushed (a read before the push
  // would find no manifest: a 404, tried again only the next day), then
  // made due, as its backoff running out would.
  const std::string key = "team/late@" + img.manifest_digest;
  auto set_next = [&](const std::string& value) {
    sql_exec(daemon_->database_path(),
             "UPDATE artifact_details SET next_attempt_at = " + value
                 + " WHERE repository || '@' || digest = '" + key + "'");
  };
  set_next("9000000000000000");
  ASSERT_TRUE(registry_->start()) << tail(registry_->log());
  std::string digest;
  auto r
      = skopeo_.push(img, registry_->ref("team/late", "1.0"), false, &digest);
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_EQ(digest, img.manifest_digest);
  EXPECT_EQ(column("status", "team/late", digest), "failed");
  set_next("0");
  ASSERT_TRUE(reaches("team/late", digest, "done", 90s))
      << column("error", "team/late", digest);
  EXPECT_EQ(column("error", "team/late", digest), "");
  EXPECT_EQ(number("next_attempt_at", "team/late", digest), 0);
  EXPECT_EQ(number("size", "team/late", digest),
            harbor_size(raw("team/late", digest)));
  EXPECT_GE(number("attempts", "team/late", digest), 1);
  // The missing manifest is still waiting for its day.
  EXPECT_EQ(column("status", "team/ghost", missing), "failed");
  EXPECT_EQ(number("attempts", "team/ghost", missing), 1);
}

} // namespace
} // namespace regevent::test
