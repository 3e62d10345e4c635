// Replication end to end beyond a plain-HTTP destination and single
// images: a destination behind TLS with a private CA (trusted through the
// registry record's `ca_file`, refused without it), a destination with
// `auth: token` (the Bearer flow through the token service double), and a
// multi-arch OCI index copied whole. The real regeventd, source and
// destination registries, as in replication_test.cpp.

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/replication_helper.hpp"
#include "tests/e2e/token_server_helper.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <string>

namespace regevent::test {
namespace {

using json = nlohmann::json;

/// Whether `text` holds `part`, ignoring ASCII case.
bool mentions(std::string text, std::string part) {
  for (auto* s : {&text, &part})
    for (auto& c : *s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text.find(part) != std::string::npos;
}

/// Filters that select one repository of the source.
json only(const std::string& repository) {
  return json::array({{{"type", "name"}, {"value", repository}}});
}

class replication_auth : public replication_test_base {};

TEST_F(replication_auth, a_tls_destination_is_trusted_only_with_its_ca_file) {
  auto tls = make_registry_tls(dir_);
  start("", false, tls);
  ASSERT_EQ(destination_->url().rfind("https://127.0.0.1:", 0), 0u)
      << destination_->url();
  // One registry, twice: once trusting the test CA, once with the system
  // store alone, which does not know it.
  auto trusted
      = create_registry("", {{"name", "dest-ca"}, {"ca_file", tls.ca_file}});
  auto untrusted = create_registry("", {{"name", "dest-no-ca"}});
  auto with_ca = create_policy(trusted, only("library/trusted"));
  auto without_ca = create_policy(untrusted, only("library/untrusted"));
  auto digest = push("library/trusted", "v1", "over tls");
  push("library/untrusted", "v1", "not over tls");

  auto x = finished(with_ca, 1);
  ASSERT_EQ(x.size(), 1u) << x.dump();
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  auto copied = on_destination("mirror/trusted", "v1");
  ASSERT_FALSE(copied.empty());
  EXPECT_EQ(sha256_digest(copied), digest);
  EXPECT_EQ(copied, on_source("library/trusted", "v1"));

  // Without the CA the handshake fails: retried as the network is (the
  // fixture's max_retries: 2), then the task fails and says why.
  auto y = finished(without_ca, 1);
  ASSERT_EQ(y.size(), 1u) << y.dump();
  EXPECT_EQ(y[0]["status"], "Failed") << y.dump();
  auto t = tasks(y[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["status"], "Failed");
  EXPECT_EQ(t[0]["attempts"], 3) << t[0].dump();
  auto error = t[0]["error"].get<std::string>();
  EXPECT_TRUE(mentions(error, "tls")) << error;
  EXPECT_TRUE(mentions(error, "certificate")) << error;
  EXPECT_TRUE(on_destination("mirror/untrusted", "v1").empty());
}

TEST_F(replication_auth, a_token_auth_destination_is_copied_to_with_bearer) {
  token_server_double tokens(dir_, user, password);
  ASSERT_TRUE(tokens.started()) << tokens.problem();
  start(tokens.registry_auth());
  auto registry = create_registry(password);
  auto policy = create_policy(registry, json::array());
  auto digest = push("library/hello", "v1", "hello token");

  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u) << x.dump();
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["attempts"], 1) << t[0].dump();
  // The tokens the copy used: asked for with the registry record's Basic
  // credential, by the replicator, for the destination repository.
  size_t issued = 0;
  bool push_scope = false;
  for (const auto& r : tokens.requests()) {
    if (r["user_agent"].get<std::string>().rfind("regevent-replicator/", 0)
        != 0)
      continue;
    EXPECT_EQ(r["answer"], 200) << r.dump();
    EXPECT_EQ(r["user"], user);
    EXPECT_EQ(r["service"], token_server_double::service);
    ++issued;
    for (const auto& s : r["scopes"])
      push_scope |= s == "repository:mirror/hello:pull,push";
  }
  EXPECT_GT(issued, 0u);
  EXPECT_TRUE(push_scope);
  auto copied = on_destination("mirror/hello", "v1");
  EXPECT_TRUE(copied.empty()) << "the destination answers without a token";
  copied = skopeo_
               .inspect_raw(destination_->ref("mirror/hello", "v1"),
                            std::string(user) + ":" + password)
               .output;
  EXPECT_EQ(sha256_digest(copied), digest) << copied;
}

class replication_index : public replication_test_base {};

TEST_F(replication_index, a_multi_arch_index_is_copied_whole_by_one_run) {
  start();
  auto registry = create_registry();
  auto policy = create_policy(registry, json::array());
  auto index = write_oci_index(dir_.file("multi"), "v1", "multi-arch",
                               {"amd64", "arm64"});
  ASSERT_EQ(index.manifest_digests.size(), 2u);
  // skopeo pushes each image by digest (untagged pushes), then the index
  // by tag.
  std::string digest;
  auto pushed
      = skopeo_.push(index, source_->ref("library/multi", "v1"), &digest);
  ASSERT_TRUE(pushed.ok()) << pushed.output;
  ASSERT_EQ(digest, index.index_digest);
  ASSERT_EQ(on_source("library/multi", "v1"), index.index);

  auto x = finished(policy, 1);
  ASSERT_EQ(x.size(), 1u) << x.dump();
  EXPECT_EQ(x[0]["status"], "Succeed") << x.dump();
  auto t = tasks(x[0]["id"].get<int64_t>());
  ASSERT_EQ(t.size(), 1u) << t.dump();
  EXPECT_EQ(t[0]["src_resource"], "library/multi:v1");
  // The index by tag, byte for byte; its images by digest.
  auto copied = on_destination("mirror/multi", "v1");
  EXPECT_EQ(copied, index.index);
  EXPECT_EQ(sha256_digest(copied), digest);
  for (const auto& child : index.manifest_digests) {
    auto there = on_destination("mirror/multi", child);
    ASSERT_FALSE(there.empty()) << child;
    EXPECT_EQ(sha256_digest(there), child);
    EXPECT_EQ(there, on_source("library/multi", child));
  }
  // The images' own pushes came before the index's: once every event is
  // done, they are recorded and have started nothing.
  ASSERT_TRUE(settled());
  auto artifacts
      = get("/api/v2.0/projects/library/repositories/multi/artifacts");
  ASSERT_TRUE(artifacts.is_array()) << artifacts.dump();
  std::set<std::string> recorded;
  for (const auto& a : artifacts)
    recorded.insert(a["digest"].get<std::string>());
  for (const auto& child : index.manifest_digests)
    EXPECT_EQ(recorded.count(child), 1u) << child << " " << artifacts.dump();
  EXPECT_EQ(executions(policy).size(), 1u);
}

} // namespace
} // namespace regevent::test
