// The image copy engine against real registries: Debian's docker-registry
// 2.8.2 as source and destination (plain and with htpasswd Basic auth),
// images built here and pushed to the source by skopeo 1.9.3, indexes
// built here and PUT on the source, each copy checked on the destination
// by skopeo (the manifest bytes it stores) and the registry API.

#include "http/image_copy.hpp"

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_pair_helper.hpp"
#include "tests/e2e/token_server_helper.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>

namespace regevent::test {
namespace {

using json = nlohmann::json;

class image_copy_test : public registry_pair_test {
protected:
  /// Both registries, without auth unless `destination_auth` (an `auth:`
  /// section) says otherwise.
  void start_registries(const std::string& destination_auth = "") {
    start_source();
    destination_ = start_registry(destination_dir_, destination_auth);
    ASSERT_TRUE(source_->running() && destination_->running());
  }

  /// Pushes an image to the source (see `push`); returns the digest of
  /// its manifest as pushed.
  std::string pushed(const std::string& repository, const std::string& tag,
                     const std::string& content, bool docker_v2s2 = false) {
    push(repository, tag, content, docker_v2s2);
    EXPECT_EQ(pushed_digest_.rfind("sha256:", 0), 0u) << pushed_digest_;
    return pushed_digest_;
  }

  /// The manifest as `registry` stores it, read by skopeo.
  std::string raw(const registry_process& registry,
                  const std::string& repository, const std::string& reference) {
    auto inspected = skopeo_.inspect_raw(registry.ref(repository, reference));
    EXPECT_TRUE(inspected.ok()) << inspected.output;
    return inspected.output;
  }

  /// The digest `registry` has under `repository:reference`, empty when it
  /// has none.
  std::string digest_at(registry_client& registry,
                        const std::string& repository,
                        const std::string& reference) {
    auto head = registry.head_manifest(repository, reference);
    EXPECT_TRUE(head) << head.error().text();
    return head && *head ? (*head)->digest : std::string();
  }

  /// The config and layers a manifest names, with their sizes.
  std::vector<std::pair<std::string, uint64_t>>
  blobs_of(registry_client& registry, const std::string& repository,
           const std::string& reference) {
    auto m = registry.get_manifest(repository, reference);
    EXPECT_TRUE(m) << m.error().text();
    std::vector<std::pair<std::string, uint64_t>> out;
    if (!m)
      return out;
    auto doc = json::parse(m->bytes);
    auto blobs = doc["layers"];
    blobs.insert(blobs.begin(), doc["config"]);
    for (const auto& blob : blobs)
      out.emplace_back(blob["digest"].get<std::string>(),
                       blob["size"].get<uint64_t>());
    return out;
  }

  static image_copy_request
  request(const std::string& from, const std::string& reference,
          const std::string& to, const std::string& tag,
          bool override_tags = true) {
    image_copy_request req;
    req.source_repository = from;
    req.reference = reference;
    req.destination_repository = to;
    req.destination_tag = tag;
    req.override_tags = override_tags;
    return req;
  }
};

TEST_F(image_copy_test, copies_a_single_arch_image_by_tag) {
  start_registries();
  auto digest = pushed("app/single", "v1", "single arch");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  auto blobs = blobs_of(from, "app/single", "v1");
  ASSERT_EQ(blobs.size(), 2u);

  auto copied
      = copy_image(from, to, request("app/single", "v1", "app/single", "v1"));
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->digest, digest);
  EXPECT_EQ(copied->skipped, "");
  EXPECT_EQ(copied->manifests, 1u);
  EXPECT_EQ(copied->blobs_copied, 2u);
  EXPECT_EQ(copied->blobs_present, 0u);
  EXPECT_EQ(copied->bytes_copied, blobs[0].second + blobs[1].second);
  // The destination stores the same bytes, so the same digest.
  auto there = raw(*destination_, "app/single", "v1");
  EXPECT_EQ(there, raw(*source_, "app/single", "v1"));
  EXPECT_EQ(sha256_digest(there), digest);
  EXPECT_EQ(digest_at(to, "app/single", "v1"), digest);
  for (const auto& [blob, size] : blobs) {
    auto stored = to.blob_size("app/single", blob);
    ASSERT_TRUE(stored) << stored.error().text();
    EXPECT_EQ(*stored, std::optional<uint64_t>(size)) << blob;
  }

  // Again: every blob is there, nothing is uploaded.
  auto again
      = copy_image(from, to, request("app/single", "v1", "app/single", "v1"));
  ASSERT_TRUE(again) << again.error().text();
  EXPECT_EQ(again->digest, digest);
  EXPECT_EQ(again->blobs_present, 2u);
  EXPECT_EQ(again->blobs_copied, 0u);
  EXPECT_EQ(again->bytes_copied, 0u);
  EXPECT_TRUE(skopeo_.pull(destination_->ref("app/single", "v1")).ok());
}

TEST_F(image_copy_test, copies_a_multi_arch_index_with_its_children) {
  start_registries();
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  for (bool docker : {false, true}) {
    // An OCI index of OCI manifests; a manifest list of Docker ones
    // (Distribution refuses the mix).
    auto repository = std::string(docker ? "multi/docker" : "multi/oci");
    json manifests = json::array();
    std::vector<std::string> children;
    for (const char* arch : {"amd64", "arm64"}) {
      auto child
          = pushed(repository, arch, repository + " for " + arch, docker);
      auto bytes = raw(*source_, repository, child);
      manifests.push_back(
          {{"mediaType",
            docker ? media_type::docker_manifest : media_type::oci_manifest},
           {"digest", child},
           {"size", bytes.size()},
           {"platform", {{"architecture", arch}, {"os", "linux"}}}});
      children.push_back(child);
    }
    auto type
        = docker ? media_type::docker_manifest_list : media_type::oci_index;
    auto index = json{
        {"schemaVersion", 2},
        {"mediaType", type},
        {"manifests",
         manifests}}.dump();
    auto put = from.put_manifest(repository, "v1", index, type);
    ASSERT_TRUE(put) << put.error().text();
    ASSERT_EQ(*put, sha256_digest(index));

    auto copied
        = copy_image(from, to, request(repository, "v1", repository, "v1"));
    ASSERT_TRUE(copied) << repository << ": " << copied.error().text();
    EXPECT_EQ(copied->digest, sha256_digest(index));
    EXPECT_EQ(copied->manifests, 3u);
    EXPECT_EQ(copied->blobs_copied, 4u);
    EXPECT_EQ(raw(*destination_, repository, "v1"), index);
    auto head = to.head_manifest(repository, "v1");
    ASSERT_TRUE(head && *head) << head.error().text();
    EXPECT_EQ((*head)->media_type, type);
    for (const auto& child : children) {
      EXPECT_EQ(digest_at(to, repository, child), child);
      EXPECT_EQ(raw(*destination_, repository, child),
                raw(*source_, repository, child));
    }
    // Only the index is a tag there: the children went by digest.
    auto tags = to.list_tags(repository);
    ASSERT_TRUE(tags) << tags.error().text();
    EXPECT_EQ(*tags, std::vector<std::string>{"v1"});

    // Again: the children are there by digest, only the index is PUT.
    auto again
        = copy_image(from, to, request(repository, "v1", repository, "v1"));
    ASSERT_TRUE(again) << again.error().text();
    EXPECT_EQ(again->manifests, 1u);
    EXPECT_EQ(again->manifests_present, 2u);
    EXPECT_EQ(again->bytes_copied, 0u);
  }
}

TEST_F(image_copy_test, copies_a_docker_schema_2_image_with_its_media_type) {
  start_registries();
  auto digest = pushed("app/docker", "v1", "docker schema 2", true);
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  auto copied
      = copy_image(from, to, request("app/docker", "v1", "app/docker", "v1"));
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->digest, digest);
  auto head = to.head_manifest("app/docker", "v1");
  ASSERT_TRUE(head && *head) << head.error().text();
  EXPECT_EQ((*head)->media_type, docker_manifest_type);
  EXPECT_EQ((*head)->digest, digest);
  auto there = raw(*destination_, "app/docker", "v1");
  EXPECT_EQ(json::parse(there)["mediaType"], docker_manifest_type);
  EXPECT_EQ(there, raw(*source_, "app/docker", "v1"));
}

TEST_F(image_copy_test,
       leaves_another_image_under_the_tag_when_override_is_off) {
  start_registries();
  auto first = pushed("app/tags", "v1", "first image");
  auto second = pushed("app/tags", "v2", "second image");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  ASSERT_TRUE(
      copy_image(from, to, request("app/tags", "v1", "app/tags", "release")));
  auto second_layer = blobs_of(from, "app/tags", "v2").back().first;

  auto skipped = copy_image(
      from, to, request("app/tags", "v2", "app/tags", "release", false));
  ASSERT_TRUE(skipped) << skipped.error().text();
  EXPECT_EQ(skipped->skipped, "tag release exists on the destination with "
                              "digest "
                                  + first + "; override is off");
  EXPECT_EQ(skipped->digest, second);
  EXPECT_EQ(skipped->manifests, 0u);
  EXPECT_EQ(skipped->blobs_copied, 0u);
  // Nothing was written: the tag and the blobs are as they were.
  EXPECT_EQ(digest_at(to, "app/tags", "release"), first);
  auto layer = to.blob_size("app/tags", second_layer);
  ASSERT_TRUE(layer) << layer.error().text();
  EXPECT_FALSE(*layer);

  // The same image under the tag: nothing to do, and no skip.
  auto same = copy_image(
      from, to, request("app/tags", "v1", "app/tags", "release", false));
  ASSERT_TRUE(same) << same.error().text();
  EXPECT_EQ(same->skipped, "");
  EXPECT_EQ(same->manifests, 0u);
  // A tag the destination does not have yet is copied with override off.
  auto fresh = copy_image(from, to,
                          request("app/tags", "v2", "app/tags", "v2", false));
  ASSERT_TRUE(fresh) << fresh.error().text();
  EXPECT_EQ(fresh->skipped, "");
  EXPECT_EQ(fresh->manifests, 1u);
  EXPECT_EQ(digest_at(to, "app/tags", "v2"), second);

  auto replaced
      = copy_image(from, to, request("app/tags", "v2", "app/tags", "release"));
  ASSERT_TRUE(replaced) << replaced.error().text();
  EXPECT_EQ(replaced->skipped, "");
  EXPECT_EQ(replaced->manifests, 1u);
  EXPECT_EQ(digest_at(to, "app/tags", "release"), second);
}

TEST_F(image_copy_test, copies_into_another_repository_and_by_digest) {
  start_registries();
  auto digest = pushed("team/app", "v1", "renamed");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  auto copied
      = copy_image(from, to, request("team/app", "v1", "mirror/x", "v1"));
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->digest, digest);
  EXPECT_EQ(digest_at(to, "mirror/x", "v1"), digest);
  EXPECT_EQ(digest_at(to, "team/app", "v1"), "");
  auto repositories = to.catalog();
  ASSERT_TRUE(repositories) << repositories.error().text();
  EXPECT_EQ(*repositories, std::vector<std::string>{"mirror/x"});

  // By digest, without a tag: the manifest is there by digest only.
  auto untagged
      = copy_image(from, to, request("team/app", digest, "mirror/pinned", ""));
  ASSERT_TRUE(untagged) << untagged.error().text();
  EXPECT_EQ(untagged->digest, digest);
  EXPECT_EQ(digest_at(to, "mirror/pinned", digest), digest);
  // Distribution answers a repository without tags with 404 NAME_UNKNOWN.
  auto tags = to.list_tags("mirror/pinned");
  EXPECT_TRUE(tags ? tags->empty() : tags.error().status == 404)
      << (tags ? tags->front() : tags.error().text());

  // Within one registry the blobs are mounted, not uploaded: not one is
  // read from the source.
  auto reads = count_requests(source_->log(), "GET", "/blobs/sha256:");
  auto within
      = copy_image(from, from, request("team/app", "v1", "team/copy", "v1"));
  ASSERT_TRUE(within) << within.error().text();
  EXPECT_EQ(within->blobs_mounted, 2u);
  EXPECT_EQ(within->bytes_copied, 0u);
  EXPECT_EQ(digest_at(from, "team/copy", "v1"), digest);
  EXPECT_EQ(count_requests(source_->log(), "GET", "/blobs/sha256:"), reads);
}

TEST_F(image_copy_test, refuses_a_manifest_whose_bytes_miss_their_digest) {
  start_registries();
  auto digest = pushed("bad/app", "v1", "tampered");
  // The stored manifest changes behind its digest (a corrupt disk): the
  // registry serves the bytes as they are, with the digest of the tag.
  auto hex = digest.substr(7);
  auto data = source_->storage_path() + "/docker/registry/v2/blobs/sha256/"
              + hex.substr(0, 2) + "/" + hex + "/data";
  auto bytes = read_file(data);
  auto at = bytes.find("tar+gzip");
  ASSERT_NE(at, std::string::npos) << bytes;
  bytes[at + 6] = 'I';
  write_file(data, bytes);

  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  for (const auto& reference : {std::string("v1"), digest}) {
    auto copied
        = copy_image(from, to, request("bad/app", reference, "bad/app", "v1"));
    ASSERT_FALSE(copied) << reference;
    EXPECT_NE(copied.error().text().find("not " + digest), std::string::npos)
        << copied.error().text();
    EXPECT_FALSE(is_transient(copied.error()));
  }
  EXPECT_EQ(digest_at(to, "bad/app", "v1"), "");
}

TEST_F(image_copy_test, replicates_deletes) {
  start_registries();
  auto digest = pushed("app/gone", "v1", "deleted");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  ASSERT_TRUE(
      copy_image(from, to, request("app/gone", "v1", "app/gone", "v1")));
  ASSERT_EQ(digest_at(to, "app/gone", "v1"), digest);

  auto deleted = delete_image(to, "app/gone", "v1");
  ASSERT_TRUE(deleted) << deleted.error().text();
  EXPECT_EQ(deleted->digest, digest);
  EXPECT_FALSE(deleted->absent);
  EXPECT_EQ(head_manifest(*destination_, "app/gone", "v1"), 404u);
  EXPECT_EQ(head_manifest(*destination_, "app/gone", digest), 404u);
  // The source keeps it: only the destination was written to.
  EXPECT_EQ(head_manifest(*source_, "app/gone", "v1"), 200u);

  for (const auto& reference : {std::string("v1"), digest}) {
    auto absent = delete_image(to, "app/gone", reference);
    ASSERT_TRUE(absent) << absent.error().text();
    EXPECT_TRUE(absent->absent) << reference;
  }
  auto by_digest = delete_image(from, "app/gone", digest);
  ASSERT_TRUE(by_digest) << by_digest.error().text();
  EXPECT_FALSE(by_digest->absent);
  EXPECT_EQ(head_manifest(*source_, "app/gone", "v1"), 404u);
}

TEST_F(image_copy_test, deletes_with_a_token_for_the_delete_action) {
  token_server_double tokens(dir_, user, password);
  ASSERT_TRUE(tokens.started()) << tokens.problem();
  start_registries(tokens.registry_auth());
  auto digest = pushed("token/app", "v1", "token delete");
  auto from = client_of(*source_);
  auto to = client_of(*destination_, user, password);
  auto copied
      = copy_image(from, to, request("token/app", "v1", "token/app", "v1"));
  ASSERT_TRUE(copied) << copied.error().text();

  auto deleted = delete_image(to, "token/app", "v1");
  ASSERT_TRUE(deleted) << deleted.error().text();
  EXPECT_EQ(deleted->digest, digest);
  EXPECT_FALSE(deleted->absent);
  EXPECT_EQ(digest_at(to, "token/app", "v1"), "");
  EXPECT_EQ(count_requests(destination_->log(), "DELETE", "/manifests/"), 1u);
  // Distribution wants the `delete` action for a DELETE: the token asked
  // for it at once, so the DELETE was never refused for its scope.
  EXPECT_EQ(
      count_log_lines(destination_->log(), {"error authorizing context",
                                            "http.request.method=DELETE"}),
      0u);
  size_t delete_tokens = 0;
  for (const auto& r : tokens.requests())
    for (const auto& scope : r["scopes"])
      delete_tokens += scope == "repository:token/app:delete";
  EXPECT_EQ(delete_tokens, 1u);
}

TEST_F(image_copy_test, stops_when_cancelled) {
  start_registries();
  pushed("app/cancel", "v1", "cancelled");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  std::atomic<bool> cancel{true};
  auto copied = copy_image(
      from, to, request("app/cancel", "v1", "app/cancel", "v1"), &cancel);
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().message, "cancelled");
  EXPECT_EQ(digest_at(to, "app/cancel", "v1"), "");
  cancel = false;
  EXPECT_TRUE(copy_image(
      from, to, request("app/cancel", "v1", "app/cancel", "v1"), &cancel));
}

TEST_F(image_copy_test, fails_for_good_on_wrong_credentials) {
  start_registries(htpasswd_auth(destination_dir_));
  auto digest = pushed("auth/app", "v1", "basic auth");
  auto from = client_of(*source_);

  auto wrong = client_of(*destination_, user, "not-the-password");
  auto denied
      = copy_image(from, wrong, request("auth/app", "v1", "auth/app", "v1"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().status, 401u) << denied.error().text();
  EXPECT_FALSE(is_transient(denied.error()));
  auto not_deleted = delete_image(wrong, "auth/app", "v1");
  ASSERT_FALSE(not_deleted);
  EXPECT_EQ(not_deleted.error().status, 401u);

  auto right = client_of(*destination_, user, password);
  auto copied
      = copy_image(from, right, request("auth/app", "v1", "auth/app", "v1"));
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->digest, digest);
  auto deleted = delete_image(right, "auth/app", "v1");
  ASSERT_TRUE(deleted) << deleted.error().text();
  EXPECT_FALSE(deleted->absent);

  // An image the source does not have is no reason to retry either.
  auto unknown
      = copy_image(from, right, request("auth/app", "v9", "auth/app", "v9"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 404u);
  EXPECT_FALSE(is_transient(unknown.error()));
}

TEST_F(image_copy_test, fails_for_now_when_the_destination_is_down) {
  start_registries();
  pushed("down/app", "v1", "destination down");
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  destination_->stop();
  auto copied
      = copy_image(from, to, request("down/app", "v1", "down/app", "v1"));
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().status, 0u);
  EXPECT_EQ(copied.error().transport, outbound_error::connect)
      << copied.error().text();
  EXPECT_TRUE(is_transient(copied.error()));
  auto deleted = delete_image(to, "down/app", "v1");
  ASSERT_FALSE(deleted);
  EXPECT_TRUE(is_transient(deleted.error()));
}

TEST(image_copy_errors, tells_transient_from_permanent_failures) {
  auto with_status = [](unsigned status) {
    registry_error e;
    e.status = status;
    return e;
  };
  for (unsigned status : {500u, 502u, 503u, 504u, 408u, 429u})
    EXPECT_TRUE(is_transient(with_status(status))) << status;
  for (unsigned status : {400u, 401u, 403u, 404u, 405u, 409u})
    EXPECT_FALSE(is_transient(with_status(status))) << status;
  auto with_transport = [](outbound_error transport) {
    registry_error e;
    e.transport = transport;
    return e;
  };
  for (auto t : {outbound_error::dns, outbound_error::connect,
                 outbound_error::timeout, outbound_error::protocol,
                 outbound_error::tls, outbound_error::overloaded})
    EXPECT_TRUE(is_transient(with_transport(t))) << to_string(t);
  for (auto t : {outbound_error::invalid_request, outbound_error::too_large,
                 outbound_error::forbidden_address})
    EXPECT_FALSE(is_transient(with_transport(t))) << to_string(t);
}

} // namespace
} // namespace regevent::test
