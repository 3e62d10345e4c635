#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace regevent::test {

constexpr const char* oci_manifest_type
    = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* oci_index_type
    = "application/vnd.oci.image.index.v1+json";
constexpr const char* docker_manifest_type
    = "application/vnd.docker.distribution.manifest.v2+json";

/// One single-layer image written as an OCI image layout directory.
struct oci_image {
  /// The layout directory: `oci:<dir>:<tag>` names the image for skopeo.
  std::string dir;
  std::string tag;
  /// The image manifest exactly as written, its digest and size.
  std::string manifest;
  std::string manifest_digest;
  std::size_t manifest_size = 0;
  std::string config_digest;
  std::string layer_digest;
};

/// `sha256:` and the lowercase hex SHA-256 of `bytes` (OpenSSL).
std::string sha256_digest(std::string_view bytes);

/// `bytes` bytes that no compressor shrinks, the same for the same seed: a
/// layer whose copy moves its whole size.
std::string noise(size_t bytes, unsigned seed);

/// An uncompressed ustar archive holding one regular file (libarchive).
std::string tar_one_file(const std::string& name, const std::string& content);

/// `bytes` compressed as one gzip member (libarchive's raw format and gzip
/// filter), with no timestamp so that equal input gives equal output.
std::string gzip(const std::string& bytes);

/// Writes an OCI image layout into `dir` (created if missing): a gzipped tar
/// layer holding `/<file_name>` with `content` (which makes the image
/// unique), an image config, an image manifest, `index.json` naming `tag`
/// and `oci-layout`. Equal arguments give the same digests. Throws
/// std::runtime_error when a file cannot be written.
oci_image write_oci_image(const std::string& dir, const std::string& tag,
                          const std::string& content,
                          const std::string& file_name = "regevent.txt");

/// A multi-platform image: an OCI image index of single-layer images.
struct oci_index {
  /// The layout directory: `oci:<dir>:<tag>` names the index for skopeo.
  std::string dir;
  std::string tag;
  /// The index exactly as written and its digest.
  std::string index;
  std::string index_digest;
  /// The digests of its image manifests, in the index's order.
  std::vector<std::string> manifest_digests;
};

/// Writes an OCI image layout into `dir` (created if missing) whose
/// `index.json` names, as `tag`, an OCI image index of one image per entry
/// of `architectures` (linux; each a layer of `content` and the
/// architecture, and a config naming it) with its platform. Equal
/// arguments give the same digests. Throws std::runtime_error when a file
/// cannot be written.
oci_index write_oci_index(const std::string& dir, const std::string& tag,
                          const std::string& content,
                          const std::vector<std::string>& architectures);

} // namespace regevent::test
