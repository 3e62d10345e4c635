#pragma once

#include "http/registry_client.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

/// Replication's unit of work on top of the registry client: one image
/// (a manifest, or an index or manifest list with every manifest it names)
/// from one registry to another, byte for byte so that its digest stays the
/// same, and the replication of a delete. Blocking, like the client: it runs
/// on a replication worker's thread.
namespace regevent {

struct image_copy_request {
  std::string source_repository;
  /// A tag or a digest at the source.
  std::string reference;
  std::string destination_repository;
  /// Empty: the image is copied by digest only (no tag moves).
  std::string destination_tag;
  /// False: an existing, different tag on the destination is left alone.
  bool override_tags = true;
};

struct image_copy_result {
  /// The top manifest's digest, the same on both sides.
  std::string digest;
  /// Blob bytes uploaded (0 when every blob was present or mounted).
  uint64_t bytes_copied = 0;
  /// Manifests PUT, an index's children included.
  size_t manifests = 0;
  /// An index's children the destination held already (by digest): not
  /// PUT again, nor their blobs looked at.
  size_t manifests_present = 0;
  size_t blobs_copied = 0;
  size_t blobs_present = 0;
  size_t blobs_mounted = 0;
  /// Not empty: nothing was written, on purpose, and why (override is off
  /// and the destination's tag names another image).
  std::string skipped;
};

/// Copies one image from `source` to `destination`: for an index or
/// manifest list, each child first (its blobs, then the child PUT by
/// digest), then the index; for a manifest its config and layers (HEAD
/// first, a mount within one registry, else a streamed upload), then the
/// manifest. The top manifest goes last, by `destination_tag` or else by
/// digest, so that a tag never names an image whose parts are missing.
/// Every manifest's bytes are checked against the digest asked for or
/// announced. `cancel`, when set, is looked at between blobs and manifests:
/// the copy then ends with the error "cancelled".
registry_result<image_copy_result>
copy_image(registry_client& source, registry_client& destination,
           const image_copy_request& req,
           const std::atomic<bool>* cancel = nullptr);

struct image_delete_result {
  std::string digest;
  /// It was not there: nothing to delete, and no error.
  bool absent = false;
};

/// Replicates a delete: resolves `reference` (a tag or a digest) on the
/// destination with a HEAD and DELETEs the manifest by digest (which, in
/// Distribution, removes every tag naming it).
registry_result<image_delete_result> delete_image(registry_client& destination,
                                                  const std::string& repository,
                                                  const std::string& reference);

/// Whether a failure may go away by itself and is worth retrying: a
/// transport failure (but not a request refused before sending, a
/// forbidden address or an answer over its limit), 5xx, 408 and 429. Not
/// other 4xx: 401/403 want other credentials, 404 an image the source does
/// not hold, 400 a manifest the destination refuses.
bool is_transient(const registry_error& e);

} // namespace regevent
