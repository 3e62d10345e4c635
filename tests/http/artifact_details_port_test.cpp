// Harbor's rules for what an artifact's manifest and config say
// (describe_manifest), with the registry reads given by the test: the
// shapes Harbor stores, and hostile documents that must never throw.

#include "http/artifact_details_port.hpp"

#include "http/registry_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace regevent {
namespace {

using json = nlohmann::json;

constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";

/// Blobs and child manifests by digest; what is not there is a 404.
struct fake_registry {
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::string> manifests;
  std::map<std::string, int64_t> sizes;
  bool away = false;
  int reads = 0;

  details_reader reader() {
    details_reader r;
    auto find = [this](const std::map<std::string, std::string>& in,
                       const std::string& digest) {
      ++reads;
      details_blob b;
      if (away) {
        b.error = "connection refused";
        return b;
      }
      auto it = in.find(digest);
      if (it == in.end()) {
        b.error = "404 MANIFEST_UNKNOWN";
        b.permanent = true;
        return b;
      }
      b.bytes = it->second;
      return b;
    };
    r.blob = [this, find](const std::string& d, size_t) {
      return find(blobs, d);
    };
    r.manifest = [this, find](const std::string& d) {
      return find(manifests, d);
    };
    r.blob_size = [this](const std::string& d) {
      details_blob b;
      b.size = sizes.count(d) ? sizes[d] : 0;
      return b;
    };
    return r;
  }
};

json image_manifest(const std::string& config_digest, int64_t config_size,
                    const std::string& config_type = oci_config) {
  return {{"schemaVersion", 2},
          {"mediaType", media_type::oci_manifest},
          {"config",
           {{"mediaType", config_type},
            {"digest", config_digest},
            {"size", config_size}}},
          {"layers",
           {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
             {"digest", "sha256:l1"},
             {"size", 1000}},
            {{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
             {"digest", "sha256:l2"},
             {"size", 24}}}},
          {"annotations",
           {{"org.opencontainers.image.source", "git"}, {"not-a-string", 7}}}};
}

TEST(describe_manifest, an_image_as_harbor_abstracts_it) {
  fake_registry reg;
  json config = {{"architecture", "arm64"},
                 {"os", "linux"},
                 {"created", "2024-05-01T10:00:00.123Z"},
                 {"config",
                  {{"Env", {"PATH=/bin"}},
                   {"Cmd", {"/app"}},
                   {"ExposedPorts", {{"80/tcp", json::object()}}},
                   {"Labels", {{"maintainer", "ops@example.org"}}},
                   {"Hostname", "dropped: not in OCI's ImageConfig"},
                   {"User", ""}}},
                 {"history", json::array()}};
  reg.blobs["sha256:c"] = config.dump();
  auto m = image_manifest("sha256:c", 300).dump();
  auto r = describe_manifest(m, media_type::oci_manifest, reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(r.config_media_type, oci_config);
  EXPECT_EQ(r.artifact_type, oci_config);
  EXPECT_EQ(r.size, static_cast<int64_t>(m.size()) + 300 + 1000 + 24);
  EXPECT_EQ(json::parse(r.annotations),
            json({{"org.opencontainers.image.source", "git"}}));
  EXPECT_EQ(r.refs, "[]");
  auto attrs = json::parse(r.extra_attrs);
  EXPECT_EQ(attrs, json({{"architecture", "arm64"},
                         {"os", "linux"},
                         {"created", "2024-05-01T10:00:00.123Z"},
                         {"author", "ops@example.org"},
                         {"config",
                          {{"Env", {"PATH=/bin"}},
                           {"Cmd", {"/app"}},
                           {"ExposedPorts", {{"80/tcp", json::object()}}},
                           {"Labels", {{"maintainer", "ops@example.org"}}}}}}));
}

TEST(describe_manifest, an_artifact_type_and_an_empty_config) {
  fake_registry reg;
  auto m = image_manifest("sha256:e", 0, "application/vnd.oci.empty.v1+json");
  m["artifactType"] = "application/spdx+json";
  auto r = describe_manifest(m.dump(), media_type::oci_manifest, reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(r.config_media_type, "application/vnd.oci.empty.v1+json");
  EXPECT_EQ(r.artifact_type, "application/spdx+json");
  EXPECT_EQ(r.extra_attrs, "{}");
  EXPECT_EQ(reg.reads, 0);
}

TEST(describe_manifest,
     a_typed_config_is_kept_whole_as_the_default_processor_does) {
  fake_registry reg;
  reg.blobs["sha256:h"] = R"({"name":"chart","version":"1.2.3"})";
  auto m = image_manifest("sha256:h", 35,
                          "application/vnd.cncf.helm.config.v1+json");
  auto r = describe_manifest(m.dump(), media_type::oci_manifest, reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(json::parse(r.extra_attrs),
            json({{"name", "chart"}, {"version", "1.2.3"}}));
  // A config type of another form is not read.
  reg.reads = 0;
  m = image_manifest("sha256:x", 35, "application/octet-stream");
  r = describe_manifest(m.dump(), media_type::oci_manifest, reg.reader());
  EXPECT_EQ(r.extra_attrs, "{}");
  EXPECT_EQ(reg.reads, 0);
}

TEST(describe_manifest, an_index_with_its_children_and_platforms) {
  fake_registry reg;
  auto child = image_manifest("sha256:c", 300).dump();
  reg.manifests["sha256:child"] = child;
  json index
      = {{"schemaVersion", 2},
         {"mediaType", media_type::oci_index},
         {"manifests",
          {{{"mediaType", media_type::oci_manifest},
            {"digest", "sha256:child"},
            {"size", child.size()},
            {"platform",
             {{"architecture", "arm"},
              {"os", "linux"},
              {"variant", "v7"},
              {"os.features", {"sse4"}}}},
            {"annotations", {{"k", "v"}}},
            {"urls", {"https://example.org/x"}}},
           {{"mediaType", media_type::oci_manifest},
            {"digest", "sha256:child"},
            {"size", child.size()}},
           "not an object",
           {{"digest", 42}}}},
         {"annotations",
          {{"org.opencontainers.artifactType", "application/vnd.cnab"}}}};
  auto bytes = index.dump();
  auto r = describe_manifest(bytes, media_type::oci_index, reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(r.config_media_type, "application/vnd.cnab");
  EXPECT_EQ(r.artifact_type, "");
  EXPECT_EQ(r.extra_attrs, "{}");
  auto child_size = static_cast<int64_t>(child.size()) + 300 + 1000 + 24;
  EXPECT_EQ(r.size, static_cast<int64_t>(bytes.size()) + 2 * child_size);
  EXPECT_EQ(json::parse(r.refs), json::parse(R"([
              {"child_digest":"sha256:child",
               "platform":{"architecture":"arm","os":"linux","variant":"v7",
                           "os.features":["sse4"]},
               "annotations":{"k":"v"},"urls":["https://example.org/x"]},
              {"child_digest":"sha256:child","platform":null,
               "annotations":{},"urls":[]}])"));
}

TEST(describe_manifest, failures_are_permanent_or_worth_a_retry) {
  fake_registry reg;
  auto m = image_manifest("sha256:c", 300).dump();
  // The config is not there: failed.
  auto r = describe_manifest(m, media_type::oci_manifest, reg.reader());
  EXPECT_EQ(r.outcome, artifact_details_outcome::failed);
  EXPECT_NE(r.error.find("404"), std::string::npos) << r.error;
  // The registry is away: a retry.
  reg.away = true;
  r = describe_manifest(m, media_type::oci_manifest, reg.reader());
  EXPECT_EQ(r.outcome, artifact_details_outcome::retry);
  // A config that is not JSON: failed.
  reg.away = false;
  reg.blobs["sha256:c"] = "\xff\xfe not json";
  r = describe_manifest(m, media_type::oci_manifest, reg.reader());
  EXPECT_EQ(r.outcome, artifact_details_outcome::failed);
  // An index whose child is gone: failed.
  json index = {{"manifests", {{{"digest", "sha256:gone"}, {"size", 5}}}}};
  r = describe_manifest(index.dump(), media_type::oci_index, reg.reader());
  EXPECT_EQ(r.outcome, artifact_details_outcome::failed);
  // An unknown manifest media type: failed.
  r = describe_manifest("{}", "application/x-unknown", reg.reader());
  EXPECT_EQ(r.outcome, artifact_details_outcome::failed);
}

TEST(describe_manifest, hostile_documents_never_throw) {
  fake_registry reg;
  reg.blobs["sha256:c"] = R"({"architecture":5,"os":null,"config":[1,2],
    "created":{"x":1},"author":["a"]})";
  for (const char* bytes :
       {"", "null", "[]", "\"text\"", "{", "{\"config\":7}",
        "{\"config\":{\"size\":-5,\"digest\":\"sha256:c\",\"mediaType\":"
        "\"application/vnd.oci.image.config.v1+json\"},\"layers\":{}}",
        "{\"config\":{\"size\":1e400}}",
        "{\"manifests\":7,\"annotations\":[1]}",
        "{\"manifests\":[{\"digest\":\"sha256:c\",\"platform\":[]}]}",
        "{\"layers\":[{\"size\":18446744073709551615},{\"size\":\"1\"}]}"}) {
    for (const char* type : {media_type::oci_manifest, media_type::oci_index,
                             media_type::docker_manifest, ""}) {
      artifact_details_record r;
      EXPECT_NO_THROW(r = describe_manifest(bytes, type, reg.reader()))
          << bytes << " as " << type;
      if (r.outcome == artifact_details_outcome::done) {
        EXPECT_FALSE(json::parse(r.extra_attrs, nullptr, false).is_discarded());
        EXPECT_TRUE(json::parse(r.annotations, nullptr, false).is_object());
        EXPECT_TRUE(json::parse(r.refs, nullptr, false).is_array());
        EXPECT_GE(r.size, 0);
      }
    }
  }
  // The hostile config still gives Harbor's shape.
  auto m = image_manifest("sha256:c", 10).dump();
  auto r = describe_manifest(m, media_type::oci_manifest, reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(json::parse(r.extra_attrs), json({{"architecture", ""},
                                              {"os", ""},
                                              {"created", nullptr},
                                              {"author", ""},
                                              {"config", json::object()}}));
}

TEST(describe_manifest, docker_schema_1_counts_its_distinct_layers) {
  fake_registry reg;
  reg.sizes["sha256:a"] = 100;
  reg.sizes["sha256:b"] = 20;
  json m = {{"schemaVersion", 1},
            {"architecture", "amd64"},
            {"fsLayers",
             {{{"blobSum", "sha256:a"}},
              {{"blobSum", "sha256:b"}},
              {{"blobSum", "sha256:a"}}}}};
  auto bytes = m.dump();
  auto r = describe_manifest(
      bytes, "application/vnd.docker.distribution.manifest.v1+prettyjws",
      reg.reader());
  ASSERT_EQ(r.outcome, artifact_details_outcome::done) << r.error;
  EXPECT_EQ(r.config_media_type,
            "application/vnd.docker.distribution.manifest.v1+prettyjws");
  EXPECT_EQ(r.artifact_type, "");
  EXPECT_EQ(json::parse(r.extra_attrs), json({{"architecture", "amd64"}}));
  EXPECT_EQ(r.size, static_cast<int64_t>(bytes.size()) + 120);
}

} // namespace
} // namespace regevent
