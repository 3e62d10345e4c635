// Harbor's artifact model from a real registry (issue 13): Debian's
// docker-registry notifies the real regeventd, skopeo pushes an image to a
// nested repository and a multi-platform OCI index, and the daemon, given
// the registry as its source, reads the manifests and configs to fill
// what notifications do not carry: the config's media type, extra_attrs
// (architecture, os) and an index's references with their platforms. All
// of it is read back through the Harbor v2.0 API and held against
// Harbor's schemas.

#include "tests/e2e/api_helper.hpp"
#include "tests/e2e/harbor_schema.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* notify_secret = "harbor-e2e-notify-secret";
constexpr const char* admin_token = "harbor-e2e-admin-token";
constexpr const char* oci_config_type
    = "application/vnd.oci.image.config.v1+json";
/// Details come from a background worker that reads the registry.
constexpr auto detail_deadline = 60s;

std::string tail(const std::string& text, size_t n = 5000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

class harbor_registry_api : public ::testing::Test {
protected:
  void TearDown() override {
    if (!HasFailure())
      return;
    if (daemon_)
      std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
    if (registry_)
      std::cerr << "---- docker-registry log (tail)\n"
                << tail(registry_->log());
  }

  /// The registry first (its URL is the daemon's source), notifying
  /// nowhere; then the daemon; then the registry again on the same port,
  /// notifying the daemon.
  void start() {
    registry_
        = std::make_unique<registry_process>(registry_dir_, "", notify_secret);
    registry_->keep_port_across_restarts();
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
    daemon_ = std::make_unique<daemon_process>(
        dir_, std::string("auth:\n  notify_token: ") + notify_secret
                  + "\n  admin_token: " + admin_token
                  + "\nsource_registry:\n  url: " + registry_->url() + "\n");
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
    registry_->stop();
    registry_->set_notify_url("http://127.0.0.1:"
                              + std::to_string(daemon_->port())
                              + "/service/notifications");
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
    api_ = std::make_unique<management_api>(daemon_->port(), admin_token);
  }

  /// The artifact `reference` of `project`/`rest`, `rest` double-encoded
  /// as the swagger says; null until it answers 200.
  json artifact(const std::string& project, const std::string& rest,
                const std::string& reference) {
    return api_->get("/api/v2.0/projects/" + project + "/repositories/"
                     + encode_path_segment(encode_path_segment(rest))
                     + "/artifacts/" + reference + "?with_label=true");
  }

  /// Polls until `condition` holds of artifact `reference`; returns the
  /// last answer.
  template<class Condition>
  json artifact_once(const std::string& project, const std::string& rest,
                     const std::string& reference, Condition condition) {
    json last;
    poll_until(
        [&] {
          last = artifact(project, rest, reference);
          return last.is_object() && condition(last);
        },
        detail_deadline);
    return last;
  }

  temp_dir dir_;
  temp_dir registry_dir_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<registry_process> registry_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<management_api> api_;
};

/// Whether the artifact's details were read: its config's `os`.
bool has_os(const json& artifact) {
  auto attrs = artifact.value("extra_attrs", json::object());
  return attrs.is_object() && attrs.contains("os");
}

/// Every problem of an artifact against Harbor's schema and the fields
/// regevent promises.
std::string artifact_problems(const json& a) {
  auto problems = harbor::check_against("Artifact", a);
  for (auto& p : harbor::missing("Artifact", a, harbor::artifact_required))
    problems.push_back(std::move(p));
  return harbor::describe(problems);
}

TEST_F(harbor_registry_api, image_and_index_details_come_from_the_registry) {
  start();
  auto image = write_oci_image(dir_.file("image"), "1", "harbor image\n");
  std::string image_digest;
  auto pushed = skopeo_.push(image, registry_->ref("proj/team/app", "1"), false,
                             &image_digest);
  ASSERT_TRUE(pushed.ok()) << pushed.output;
  auto index = write_oci_index(dir_.file("index"), "1", "harbor multi",
                               {"amd64", "arm64"});
  std::string index_digest;
  pushed
      = skopeo_.push(index, registry_->ref("proj/multi", "1"), &index_digest);
  ASSERT_TRUE(pushed.ok()) << pushed.output;
  ASSERT_EQ(index_digest, index.index_digest);

  // The nested repository, double-encoded.
  auto repo = api_->get("/api/v2.0/projects/proj/repositories/team%252Fapp");
  EXPECT_TRUE(repo.is_object()) << "proj/team/app not reachable";
  EXPECT_EQ(repo["name"], "proj/team/app");

  // The image: its config read from the registry.
  auto a = artifact_once("proj", "team/app", "1", has_os);
  ASSERT_TRUE(a.is_object()) << "proj/team/app:1 not listed";
  EXPECT_EQ(artifact_problems(a), "") << a.dump(1);
  EXPECT_EQ(a["digest"], image_digest);
  EXPECT_EQ(a["type"], "IMAGE");
  EXPECT_EQ(a["manifest_media_type"], oci_manifest_type);
  EXPECT_EQ(a["media_type"], oci_config_type) << "the config's media type";
  EXPECT_EQ(a["extra_attrs"].value("architecture", ""), "amd64") << a;
  EXPECT_EQ(a["extra_attrs"].value("os", ""), "linux") << a;
  EXPECT_EQ(a["references"], json::array()) << a;
  EXPECT_EQ(a["repository_id"], repo["id"]);

  // The index: its references, each child with its platform and the id
  // of the child's own artifact.
  auto multi = artifact_once("proj", "multi", "1", [](const json& x) {
    auto r = x.value("references", json::array());
    return r.is_array() && !r.empty();
  });
  ASSERT_TRUE(multi.is_object()) << "proj/multi:1 not listed";
  EXPECT_EQ(artifact_problems(multi), "") << multi.dump(1);
  EXPECT_EQ(multi["digest"], index.index_digest);
  EXPECT_EQ(multi["type"], "IMAGE");
  EXPECT_EQ(multi["manifest_media_type"], oci_index_type);
  EXPECT_EQ(multi["media_type"], oci_index_type) << "an index has no config";
  const auto& references = multi["references"];
  ASSERT_EQ(references.size(), index.manifest_digests.size()) << multi.dump(1);
  const std::vector<std::string> architectures{"amd64", "arm64"};
  for (size_t i = 0; i < references.size(); ++i) {
    SCOPED_TRACE("reference " + std::to_string(i));
    auto r = references[i];
    EXPECT_EQ(r.value("child_digest", ""), index.manifest_digests[i]) << r;
    EXPECT_EQ(r.value("platform", json::object()).value("architecture", ""),
              architectures[i])
        << r;
    EXPECT_EQ(r.value("platform", json::object()).value("os", ""), "linux")
        << r;
    if (r.contains("parent_id")) {
      EXPECT_EQ(r["parent_id"], multi["id"]) << r;
    }
    auto child
        = artifact_once("proj", "multi", index.manifest_digests[i], has_os);
    ASSERT_TRUE(child.is_object()) << "child not listed";
    EXPECT_EQ(artifact_problems(child), "") << child.dump(1);
    EXPECT_EQ(r["child_id"], child["id"]) << r << "\n" << child.dump(1);
    EXPECT_EQ(child["extra_attrs"].value("architecture", ""), architectures[i]);
    EXPECT_EQ(child["media_type"], oci_config_type);
  }
}

} // namespace
} // namespace regevent::test
