// The Registry API v2 client against real registries: Debian's
// docker-registry 2.8.2 as source and destination (plain, with htpasswd
// Basic auth, and with `auth: token` trusting the token service double),
// images pushed to the source by skopeo 1.9.3 and checked on the
// destination by skopeo and by the registry's own digests.

#include "http/registry_client.hpp"

#include "tests/fixtures/asan.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_pair_helper.hpp"
#include "tests/e2e/token_server_helper.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

/// A value of this process's /proc/self/status in KiB ("VmRSS", "VmHWM").
long long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoll(line.substr(field.size() + 1));
  return -1;
}

class registry_client_test : public registry_pair_test {
protected:
  /// What a replication does: every blob the manifest names, then the
  /// manifest itself byte for byte, by tag. Returns the manifest digest
  /// the destination computed, or the first error's text.
  std::string copy_image(registry_client& from, registry_client& to,
                         const std::string& from_repository,
                         const std::string& to_repository,
                         const std::string& tag,
                         std::vector<blob_copy_report>* reports = nullptr) {
    auto manifest = from.get_manifest(from_repository, tag);
    if (!manifest)
      return "error: " + manifest.error().text();
    EXPECT_EQ(sha256_of(manifest->bytes), manifest->digest);
    auto doc = json::parse(manifest->bytes);
    auto blobs = doc["layers"];
    blobs.push_back(doc["config"]);
    for (const auto& blob : blobs) {
      auto copied = to.copy_blob(from, from_repository, to_repository,
                                 blob["digest"].get<std::string>(),
                                 blob["size"].get<uint64_t>());
      if (!copied)
        return "error: " + copied.error().text();
      if (reports)
        reports->push_back(*copied);
    }
    auto put = to.put_manifest(to_repository, tag, manifest->bytes,
                               manifest->media_type);
    if (!put)
      return "error: " + put.error().text();
    return *put;
  }
};

TEST_F(registry_client_test, copies_images_byte_for_byte_between_registries) {
  start_source();
  destination_ = start_registry(destination_dir_);
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  ASSERT_TRUE(to.ping()) << to.ping().error().text();

  for (bool docker : {false, true}) {
    auto repository = docker ? std::string("team/docker") : "team/oci";
    auto image = push(repository, "v1", "copied " + repository, docker);
    std::vector<blob_copy_report> reports;
    auto digest = copy_image(from, to, repository, "mirror/" + repository, "v1",
                             &reports);
    EXPECT_EQ(digest, pushed_digest_) << repository;
    ASSERT_EQ(reports.size(), 2u);
    for (const auto& r : reports)
      EXPECT_EQ(r.method, blob_copy_method::monolithic) << to_string(r.method);

    // skopeo reads the manifest the destination stores: the same bytes,
    // so the same digest, as on the source.
    auto there
        = skopeo_.inspect_raw(destination_->ref("mirror/" + repository, "v1"));
    ASSERT_TRUE(there.ok()) << there.output;
    auto source_manifest = skopeo_.inspect_raw(source_->ref(repository, "v1"));
    EXPECT_EQ(there.output, source_manifest.output);
    EXPECT_EQ(sha256_digest(there.output), pushed_digest_);
    auto head = to.head_manifest("mirror/" + repository, "v1");
    ASSERT_TRUE(head && *head) << head.error().text();
    EXPECT_EQ((*head)->digest, pushed_digest_);
    EXPECT_EQ((*head)->media_type,
              docker ? docker_manifest_type : oci_manifest_type);
    // Copying again finds every blob there.
    reports.clear();
    copy_image(from, to, repository, "mirror/" + repository, "v1", &reports);
    for (const auto& r : reports)
      EXPECT_EQ(r.method, blob_copy_method::existed);
  }
  // Every request carried the configured user agent.
  EXPECT_NE(destination_->log().find(std::string("http.request.useragent=")
                                     + user_agent + " "),
            std::string::npos);
}

TEST_F(registry_client_test, fetches_indexes_and_lists_with_every_media_type) {
  start_source();
  auto client = client_of(*source_);
  push("multi/app", "amd64", "index child");
  auto child = client.get_manifest("multi/app", "amd64");
  ASSERT_TRUE(child) << child.error().text();
  for (const char* type :
       {media_type::oci_index, media_type::docker_manifest_list}) {
    bool oci = std::string(type) == media_type::oci_index;
    json index = {
        {"schemaVersion", 2},
        {"mediaType", type},
        {"manifests",
         json::array(
             {{{"mediaType",
                oci ? media_type::oci_manifest : media_type::docker_manifest},
               {"digest", child->digest},
               {"size", child->bytes.size()},
               {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}})}};
    auto bytes = index.dump();
    // An OCI index must point at OCI manifests and a manifest list at
    // Docker ones for Distribution; the child is OCI, so the list is
    // stored by digest only where it is accepted.
    auto tag = oci ? std::string("index") : std::string("list");
    auto put = client.put_manifest("multi/app", tag, bytes, type);
    ASSERT_TRUE(put) << put.error().text();
    EXPECT_EQ(*put, sha256_of(bytes));
    auto got = client.get_manifest("multi/app", tag);
    ASSERT_TRUE(got) << got.error().text();
    EXPECT_EQ(got->media_type, type);
    EXPECT_EQ(got->bytes, bytes);
    EXPECT_EQ(got->digest, sha256_of(bytes));
    auto by_digest = client.get_manifest("multi/app", got->digest);
    ASSERT_TRUE(by_digest) << by_digest.error().text();
    EXPECT_EQ(by_digest->bytes, bytes);
  }
  auto missing = client.head_manifest("multi/app", "nope");
  ASSERT_TRUE(missing) << missing.error().text();
  EXPECT_FALSE(*missing);
  auto unknown = client.get_manifest("multi/app", "nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 404u);
  EXPECT_EQ(unknown.error().code, "MANIFEST_UNKNOWN");
  EXPECT_NE(unknown.error().text().find("GET manifest multi/app:nope"),
            std::string::npos)
      << unknown.error().text();
}

TEST_F(registry_client_test, authenticates_with_basic_credentials) {
  start_source();
  destination_
      = start_registry(destination_dir_, htpasswd_auth(destination_dir_));
  auto from = client_of(*source_);
  push("basic/app", "v1", "basic auth");

  auto anonymous = client_of(*destination_);
  auto refused = anonymous.ping();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 401u);
  EXPECT_EQ(refused.error().code, "UNAUTHORIZED");

  auto wrong = client_of(*destination_, user, "not-the-password");
  auto denied = copy_image(from, wrong, "basic/app", "basic/app", "v1");
  // The first step of the copy, a HEAD (no error body), names the cause.
  EXPECT_EQ(denied.rfind("error: HEAD blob sha256:", 0), 0u) << denied;
  EXPECT_NE(denied.find(": 401: the credentials were refused"),
            std::string::npos)
      << denied;
  EXPECT_EQ(denied.find("not-the-password"), std::string::npos) << denied;

  auto right = client_of(*destination_, user, password);
  ASSERT_TRUE(right.ping()) << right.ping().error().text();
  EXPECT_EQ(copy_image(from, right, "basic/app", "basic/app", "v1"),
            pushed_digest_);
  auto stored = right.get_manifest("basic/app", "v1");
  ASSERT_TRUE(stored) << stored.error().text();
  EXPECT_EQ(stored->digest, pushed_digest_);
}

TEST_F(registry_client_test, follows_the_bearer_token_flow_and_caches_tokens) {
  token_server_double tokens(dir_, user, password);
  ASSERT_TRUE(tokens.started()) << tokens.problem();
  start_source();
  destination_ = start_registry(destination_dir_, tokens.registry_auth());
  auto from = client_of(*source_);
  push("token/app", "v1", "token auth one");

  auto wrong = client_of(*destination_, user, "not-the-password");
  auto denied = wrong.ping();
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().status, 401u);
  EXPECT_NE(denied.error().text().find("token from http://127.0.0.1:"),
            std::string::npos)
      << denied.error().text();
  EXPECT_EQ(denied.error().text().find("not-the-password"), std::string::npos);
  ASSERT_EQ(tokens.requests().size(), 1u);
  EXPECT_EQ(tokens.requests()[0]["answer"], 401);

  auto to = client_of(*destination_, user, password);
  EXPECT_EQ(copy_image(from, to, "token/app", "token/app", "v1"),
            pushed_digest_);
  auto after_first = tokens.requests();
  // One token per scope (pull for the HEADs, pull,push for the uploads and
  // the manifest), each asked for once.
  std::set<std::string> scopes;
  for (const auto& r : after_first)
    if (r["answer"] == 200) {
      EXPECT_EQ(r["service"], token_server_double::service);
      EXPECT_EQ(r["user"], user);
      EXPECT_EQ(r["user_agent"], user_agent);
      for (const auto& s : r["scopes"])
        EXPECT_TRUE(scopes.insert(s.get<std::string>()).second)
            << "token for " << s << " asked for twice";
    }
  EXPECT_TRUE(scopes.count("repository:token/app:pull,push"))
      << after_first.size();

  // A second image into the same repository: the cached tokens serve.
  push("token/app", "v2", "token auth two");
  EXPECT_EQ(copy_image(from, to, "token/app", "token/app", "v2"),
            pushed_digest_);
  EXPECT_EQ(tokens.requests().size(), after_first.size());
  auto tags = to.list_tags("token/app");
  ASSERT_TRUE(tags) << tags.error().text();
  EXPECT_EQ(*tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(tokens.requests().size(), after_first.size());
  // The catalog is another scope: one more token.
  auto repositories = to.catalog();
  ASSERT_TRUE(repositories) << repositories.error().text();
  EXPECT_EQ(*repositories, std::vector<std::string>{"token/app"});
  EXPECT_EQ(tokens.requests().size(), after_first.size() + 1);
}

TEST_F(registry_client_test, detects_a_digest_mismatch_while_copying) {
  start_source();
  destination_ = start_registry(destination_dir_);
  auto image = push("bad/app", "v1", std::string(5000, 'x'));
  // The source's stored layer changes behind its digest (a corrupt disk):
  // it serves the bytes as they are now.
  auto hex = image.layer_digest.substr(7);
  auto data = source_->storage_path() + "/docker/registry/v2/blobs/sha256/"
              + hex.substr(0, 2) + "/" + hex + "/data";
  auto bytes = read_file(data);
  ASSERT_FALSE(bytes.empty()) << data;
  bytes[bytes.size() / 2] ^= 0x5a;
  write_file(data, bytes);

  registry_client_config small;
  small.chunk_size = 64; // chunked: the mismatch shows before the final PUT
  for (size_t chunk : {size_t(64), registry_client_config().chunk_size}) {
    small.chunk_size = chunk;
    auto from = client_of(*source_);
    auto to = client_of(*destination_, "", "", small);
    auto copied = to.copy_blob(from, "bad/app", "bad/app", image.layer_digest,
                               bytes.size());
    ASSERT_FALSE(copied) << chunk;
    EXPECT_NE(copied.error().text().find("digest"), std::string::npos)
        << copied.error().text();
    auto there = to.blob_size("bad/app", image.layer_digest);
    ASSERT_TRUE(there) << there.error().text();
    EXPECT_FALSE(*there) << "a blob with the wrong bytes reached the "
                            "destination";
  }
  EXPECT_EQ(count_requests(destination_->log(), "PUT", "/blobs/uploads/"), 0u);
}

TEST_F(registry_client_test, mounts_blobs_across_repositories) {
  start_source();
  auto client = client_of(*source_);
  auto image = push("mount/from", "v1", "mounted");
  auto manifest = client.get_manifest("mount/from", "v1");
  ASSERT_TRUE(manifest) << manifest.error().text();
  auto size = client.blob_size("mount/from", image.layer_digest);
  ASSERT_TRUE(size && *size) << size.error().text();

  auto copied = client.copy_blob(client, "mount/from", "mount/to",
                                 image.layer_digest, **size);
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->method, blob_copy_method::mounted);
  EXPECT_EQ(count_requests(source_->log(), "GET", "/blobs/sha256:"), 0u);
  auto mounted = client.blob_size("mount/to", image.layer_digest);
  ASSERT_TRUE(mounted) << mounted.error().text();
  EXPECT_EQ(*mounted, *size);

  auto config
      = client.mount_blob("mount/other", image.config_digest, "mount/from");
  ASSERT_TRUE(config) << config.error().text();
  EXPECT_TRUE(*config);
  // A blob the named repository does not hold: the registry opens an
  // upload instead (202), which the client cancels.
  auto declined
      = client.mount_blob("mount/other", image.layer_digest, "mount/nowhere");
  ASSERT_TRUE(declined) << declined.error().text();
  EXPECT_FALSE(*declined);
  EXPECT_EQ(count_requests(source_->log(), "DELETE", "/blobs/uploads/"), 1u);
}

TEST_F(registry_client_test, uploads_in_chunks_following_each_location) {
  start_source();
  destination_ = start_registry(destination_dir_);
  auto image = push("chunks/app", "v1", noise(10'000, 7));
  auto from = client_of(*source_);
  registry_client_config small;
  small.chunk_size = 1024;
  auto to = client_of(*destination_, "", "", small);
  auto size = from.blob_size("chunks/app", image.layer_digest);
  ASSERT_TRUE(size && *size) << size.error().text();
  auto copied = to.copy_blob(from, "chunks/app", "chunks/app",
                             image.layer_digest, **size);
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->method, blob_copy_method::chunked);
  EXPECT_EQ(copied->bytes, **size);
  auto pieces = (**size + 1023) / 1024;
  EXPECT_EQ(count_requests(destination_->log(), "PATCH", "/blobs/uploads/"),
            pieces);
  // One GET, streamed: paused while each piece is sent.
  EXPECT_EQ(count_requests(source_->log(), "GET", "/blobs/sha256:"), 1u);
  EXPECT_EQ(count_requests(destination_->log(), "PUT", "/blobs/uploads/"), 1u);
  auto there = to.blob_size("chunks/app", image.layer_digest);
  ASSERT_TRUE(there) << there.error().text();
  EXPECT_EQ(*there, *size);
  // The whole image then checks out on the destination.
  EXPECT_EQ(copy_image(from, to, "chunks/app", "chunks/app", "v1"),
            pushed_digest_);
  EXPECT_TRUE(skopeo_.pull(destination_->ref("chunks/app", "v1")).ok());
}

TEST_F(registry_client_test, copies_a_large_blob_in_bounded_memory) {
  start_source();
  destination_ = start_registry(destination_dir_);
  // The 256 MiB; under the sanitizer, which measures no memory
  // here, a quarter of it keeps the suite's time.
#if defined(REGEVENT_TEST_ASAN)
  const size_t layer_mib = 64;
#else
  const size_t layer_mib = 256;
#endif
  oci_image image;
  {
    // Scoped: the test's own copy of the layer is gone before measuring.
    image = push("large/app", "v1", noise(layer_mib << 20, 11));
  }
  auto from = client_of(*source_);
  auto to = client_of(*destination_);
  auto size = from.blob_size("large/app", image.layer_digest);
  ASSERT_TRUE(size && *size) << size.error().text();
  ASSERT_GT(**size, uint64_t(layer_mib) << 20);

  auto rss_before = status_kib("VmRSS");
  // Resets VmHWM to the current RSS (Linux >= 4.0).
  std::ofstream("/proc/self/clear_refs") << "5";
  auto copied = to.copy_blob(from, "large/app", "large/app", image.layer_digest,
                             **size);
  auto peak = status_kib("VmHWM");
  ASSERT_TRUE(copied) << copied.error().text();
  EXPECT_EQ(copied->method, blob_copy_method::chunked);
  auto there = to.blob_size("large/app", image.layer_digest);
  ASSERT_TRUE(there) << there.error().text();
  EXPECT_EQ(*there, *size);
  auto growth_mib = static_cast<double>(peak - rss_before) / 1024;
  std::cout << "copying " << (**size >> 20) << " MiB grew the peak RSS by "
            << growth_mib << " MiB\n";
#if !defined(REGEVENT_TEST_ASAN)
  // Two pieces of 4 MiB (one sent while the next is read) and the
  // allocator's slack, never the blob (8.2 MiB measured for 256).
  EXPECT_LT(growth_mib, 16.0);
#endif
}

TEST_F(registry_client_test, a_cancelled_copy_stops_within_its_rate_wait) {
  start_source();
  destination_ = start_registry(destination_dir_);
  // 8 MiB at 1 MiB/s: two pieces, eight seconds if nothing stopped it.
  auto image = push("slow/big", "v1", noise(8 << 20, 5));
  auto from = client_of(*source_);
  registry_client_config limited;
  limited.rate_limit_kib = 1024;
  auto to = client_of(*destination_, "", "", limited);
  auto size = from.blob_size("slow/big", image.layer_digest);
  ASSERT_TRUE(size && *size) << size.error().text();
  std::atomic<bool> cancel{false};
  std::thread stopper([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel.store(true);
  });
  auto started = std::chrono::steady_clock::now();
  auto copied = to.copy_blob(from, "slow/big", "slow/big", image.layer_digest,
                             **size, &cancel);
  auto took = std::chrono::steady_clock::now() - started;
  stopper.join();
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().message, "cancelled");
  EXPECT_EQ(copied.error().transport, outbound_error::shutdown);
  // Seen while the first piece's rate wait (four seconds) ran.
  EXPECT_LT(took, std::chrono::seconds(4));
  auto there = to.blob_size("slow/big", image.layer_digest);
  ASSERT_TRUE(there) << there.error().text();
  EXPECT_FALSE(*there);
}

TEST_F(registry_client_test, limits_the_copy_rate) {
  start_source();
  destination_ = start_registry(destination_dir_);
  auto image = push("slow/app", "v1", noise(512 << 10, 3));
  auto from = client_of(*source_);
  registry_client_config limited;
  limited.rate_limit_kib = 1024;
  auto to = client_of(*destination_, "", "", limited);
  auto size = from.blob_size("slow/app", image.layer_digest);
  ASSERT_TRUE(size && *size) << size.error().text();
  auto started = std::chrono::steady_clock::now();
  auto copied
      = to.copy_blob(from, "slow/app", "slow/app", image.layer_digest, **size);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(copied) << copied.error().text();
  // 512 KiB at 1024 KiB/s: half a second at least.
  EXPECT_GE(took, std::chrono::milliseconds(**size * 1000 / (1024 * 1024)));
}

TEST_F(registry_client_test, pages_tags_and_catalog_by_link) {
  start_source();
  auto client = client_of(*source_);
  push("pages/a", "v0", "paged");
  auto manifest = client.get_manifest("pages/a", "v0");
  ASSERT_TRUE(manifest) << manifest.error().text();
  std::vector<std::string> expected{"v0"};
  for (int i = 1; i <= 4; ++i) {
    auto tag = "v" + std::to_string(i);
    ASSERT_TRUE(client.put_manifest("pages/a", tag, manifest->bytes,
                                    manifest->media_type));
    expected.push_back(tag);
  }
  // Mounted blobs, then the manifest: Distribution refuses a manifest
  // whose blobs the repository does not hold.
  for (const char* repository : {"pages/b", "pages/c"})
    ASSERT_EQ(copy_image(client, client, "pages/a", repository, "v0"),
              pushed_digest_);
  // Distribution 2.8 pages the catalog (n, last, Link) but answers every
  // tag at once, in no order; the client pages both alike: while a Link
  // names a next page, it asks for the items after the last it got.
  auto tags = client.list_tags("pages/a", 2);
  ASSERT_TRUE(tags) << tags.error().text();
  std::sort(tags->begin(), tags->end());
  EXPECT_EQ(*tags, expected);
  EXPECT_EQ(count_requests(source_->log(), "GET", "/tags/list?n=2"), 1u);
  auto repositories = client.catalog(2);
  ASSERT_TRUE(repositories) << repositories.error().text();
  EXPECT_EQ(*repositories,
            (std::vector<std::string>{"pages/a", "pages/b", "pages/c"}));
  // Two pages: [a, b] with a Link to the one after b, then [c].
  EXPECT_EQ(count_requests(source_->log(), "GET", "/v2/_catalog?n=2"), 2u);
  EXPECT_EQ(count_requests(source_->log(), "GET",
                           "/v2/_catalog?n=2&last=pages%2Fb"),
            1u);
}

TEST_F(registry_client_test, pages_tags_by_absolute_links) {
  // Distribution 2.8 does not page tags: a double that does, as
  // Distribution 3 and Harbor do.
  python_double pages(
      dir_, "tag-pages", "tag_pages_double.py",
      {"--log", dir_.file("tag-pages.requests"), "--tags", "a1,a2,b1,b2,c1"});
  ASSERT_NE(pages.port(), 0) << pages.problem();
  registry_client client(outbound_, {pages.url(""), "", "", {}});
  auto tags = client.list_tags("team/app", 2);
  ASSERT_TRUE(tags) << tags.error().text();
  EXPECT_EQ(*tags, (std::vector<std::string>{"a1", "a2", "b1", "b2", "c1"}));
  EXPECT_EQ(read_file(dir_.file("tag-pages.requests")),
            "/v2/team/app/tags/list?n=2\n"
            "/v2/team/app/tags/list?n=2&last=a2\n"
            "/v2/team/app/tags/list?n=2&last=b2\n");
}

TEST_F(registry_client_test, a_registry_that_ignores_last_is_an_error) {
  // It would answer its first page forever; stopping there quietly would
  // make a reconcile take the rest of the repository for deleted.
  python_double pages(dir_, "tag-pages", "tag_pages_double.py",
                      {"--log", dir_.file("tag-pages.requests"), "--tags",
                       "a1,a2,b1", "--ignore-last"});
  ASSERT_NE(pages.port(), 0) << pages.problem();
  registry_client client(outbound_, {pages.url(""), "", "", {}});
  auto tags = client.list_tags("team/app", 2);
  ASSERT_FALSE(tags);
  EXPECT_NE(tags.error().text().find("does not page by last="),
            std::string::npos)
      << tags.error().text();
}

} // namespace
} // namespace regevent::test
