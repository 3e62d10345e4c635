#include "tests/e2e/oci_image_helper.hpp"

#include "tests/fixtures/temp_dir.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>

namespace regevent::test {

namespace {

using json = nlohmann::json;

using archive_ptr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using entry_ptr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

la_ssize_t append_to_string(archive*, void* out, const void* buffer,
                            size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer),
                                         length);
  return static_cast<la_ssize_t>(length);
}

void check(archive* a, int rc, const char* what) {
  if (rc < ARCHIVE_WARN)
    throw std::runtime_error(std::string("libarchive: ") + what + ": "
                             + (archive_error_string(a)
                                    ? archive_error_string(a)
                                    : "unknown error"));
}

/// Writes one regular file entry into an archive whose format and filters
/// are already set, and returns everything the archive wrote.
std::string write_single_entry(archive_ptr a, const std::string& name,
                               const std::string& content) {
  std::string out;
  // Unblocked output: no padding after the last byte, so that a gzip
  // stream ends where its trailer ends.
  check(a.get(), archive_write_set_bytes_per_block(a.get(), 0),
        "bytes per block");
  check(a.get(),
        archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr),
        "open");
  entry_ptr entry(archive_entry_new(), &archive_entry_free);
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  check(a.get(), archive_write_header(a.get(), entry.get()), "header");
  if (!content.empty()) {
    auto written = archive_write_data(a.get(), content.data(), content.size());
    if (written != static_cast<la_ssize_t>(content.size()))
      check(a.get(), ARCHIVE_FATAL, "data");
  }
  check(a.get(), archive_write_close(a.get()), "close");
  return out;
}

void write_blob(const std::filesystem::path& blobs, const std::string& digest,
                const std::string& bytes) {
  // "sha256:<hex>" is stored as blobs/sha256/<hex>.
  write_file((blobs / digest.substr(7)).string(), bytes);
  if (read_file((blobs / digest.substr(7)).string()) != bytes)
    throw std::runtime_error("cannot write blob " + digest);
}

} // namespace

std::string noise(size_t bytes, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::string out(bytes, '\0');
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    auto v = gen();
    std::memcpy(&out[i], &v, 8);
  }
  return out;
}

std::string sha256_digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &length, EVP_sha256(), nullptr)
      != 1)
    throw std::runtime_error("EVP_Digest(sha256) failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0x0f];
  }
  return out;
}

std::string tar_one_file(const std::string& name, const std::string& content) {
  archive_ptr a(archive_write_new(), &archive_write_free);
  check(a.get(), archive_write_set_format_ustar(a.get()), "ustar");
  return write_single_entry(std::move(a), name, content);
}

std::string gzip(const std::string& bytes) {
  archive_ptr a(archive_write_new(), &archive_write_free);
  check(a.get(), archive_write_set_format_raw(a.get()), "raw format");
  check(a.get(), archive_write_add_filter_gzip(a.get()), "gzip filter");
  // "!timestamp": an mtime of 0 in the gzip header.
  check(a.get(),
        archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr),
        "gzip timestamp");
  return write_single_entry(std::move(a), "data", bytes);
}

namespace {

/// Writes the blobs of one single-layer image for `architecture` into
/// `blobs` (a layout's blobs/sha256): the gzipped tar layer, the image
/// config and the manifest. Sets everything of the image but `dir` and
/// `tag`.
oci_image write_image_blobs(const std::filesystem::path& blobs,
                            const std::string& content,
                            const std::string& architecture,
                            const std::string& file_name = "regevent.txt") {
  auto tar = tar_one_file(file_name, content);
  auto layer = gzip(tar);
  auto layer_digest = sha256_digest(layer);
  write_blob(blobs, layer_digest, layer);

  json config = {
      {"architecture", architecture},
      {"os", "linux"},
      {"config", {{"Cmd", json::array({"/bin/true"})}}},
      {"rootfs",
       {{"type", "layers"}, {"diff_ids", json::array({sha256_digest(tar)})}}}};
  auto config_text = config.dump();
  auto config_digest = sha256_digest(config_text);
  write_blob(blobs, config_digest, config_text);

  json manifest
      = {{"schemaVersion", 2},
         {"mediaType", oci_manifest_type},
         {"config",
          {{"mediaType", "application/vnd.oci.image.config.v1+json"},
           {"digest", config_digest},
           {"size", config_text.size()}}},
         {"layers",
          json::array(
              {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                {"digest", layer_digest},
                {"size", layer.size()}}})}};
  oci_image image;
  image.manifest = manifest.dump();
  image.manifest_digest = sha256_digest(image.manifest);
  image.manifest_size = image.manifest.size();
  image.config_digest = config_digest;
  image.layer_digest = layer_digest;
  write_blob(blobs, image.manifest_digest, image.manifest);
  return image;
}

/// Writes the layout's `index.json`, naming the one `descriptor` (which
/// gets `tag` as its ref.name), and `oci-layout`.
void write_layout(const std::filesystem::path& root, json descriptor,
                  const std::string& tag) {
  descriptor["annotations"] = {{"org.opencontainers.image.ref.name", tag}};
  json index = {{"schemaVersion", 2},
                {"manifests", json::array({std::move(descriptor)})}};
  write_file((root / "index.json").string(), index.dump());
  write_file((root / "oci-layout").string(),
             json{{"imageLayoutVersion", "1.0.0"}}.dump());
}

} // namespace

oci_image write_oci_image(const std::string& dir, const std::string& tag,
                          const std::string& content,
                          const std::string& file_name) {
  namespace fs = std::filesystem;
  fs::path root(dir);
  fs::path blobs = root / "blobs" / "sha256";
  fs::create_directories(blobs);
  auto image = write_image_blobs(blobs, content, "amd64", file_name);
  image.dir = root.string();
  image.tag = tag;
  write_layout(root,
               {{"mediaType", oci_manifest_type},
                {"digest", image.manifest_digest},
                {"size", image.manifest_size}},
               tag);
  return image;
}

oci_index write_oci_index(const std::string& dir, const std::string& tag,
                          const std::string& content,
                          const std::vector<std::string>& architectures) {
  namespace fs = std::filesystem;
  fs::path root(dir);
  fs::path blobs = root / "blobs" / "sha256";
  fs::create_directories(blobs);
  oci_index out;
  out.dir = root.string();
  out.tag = tag;
  json manifests = json::array();
  for (const auto& architecture : architectures) {
    auto image = write_image_blobs(blobs, content + " for " + architecture,
                                   architecture);
    manifests.push_back(
        {{"mediaType", oci_manifest_type},
         {"digest", image.manifest_digest},
         {"size", image.manifest_size},
         {"platform", {{"architecture", architecture}, {"os", "linux"}}}});
    out.manifest_digests.push_back(image.manifest_digest);
  }
  out.index = json{{"schemaVersion", 2},
                   {"mediaType", oci_index_type},
                   {"manifests", std::move(manifests)}}
                  .dump();
  out.index_digest = sha256_digest(out.index);
  write_blob(blobs, out.index_digest, out.index);
  write_layout(root,
               {{"mediaType", oci_index_type},
                {"digest", out.index_digest},
                {"size", out.index.size()}},
               tag);
  return out;
}

} // namespace regevent::test
