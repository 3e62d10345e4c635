#pragma once

#include "actors/artifact_details_port.hpp"
#include "http/replication_port.hpp"
#include "persistence/artifact_details.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace regevent {

class outbound_client;

/// How the artifact details worker reads the source registry.
struct artifact_details_options {
  /// Artifacts read at once.
  size_t concurrency = 1;
  /// `regevent-inspector/<version>`, which the filter knows as internal:
  /// the reads never count as pulls.
  std::string user_agent;
};

/// The artifact details worker's door to the source registry, over the
/// Registry API v2 client. `source.url` must not be empty.
std::shared_ptr<artifact_details_port>
make_artifact_details_port(std::shared_ptr<outbound_client> client,
                           replication_source source,
                           artifact_details_options options);

/// What a blob read for `describe_manifest` answered.
struct details_blob {
  /// Empty when the blob was read.
  std::string error;
  /// The failure will not go away by itself (404, too large, not its
  /// digest).
  bool permanent = false;
  std::string bytes;
  /// `blob_size`'s answer.
  int64_t size = 0;
};

/// How a manifest's size is completed: a config's bytes, an index's
/// children's sizes. Given by the port (registry reads); tests give their
/// own.
struct details_reader {
  std::function<details_blob(const std::string& digest, size_t limit)> blob;
  /// A child manifest of an index, by digest.
  std::function<details_blob(const std::string& digest)> manifest;
  /// A blob's size (a HEAD), in `size`: Docker schema 1 names its layers
  /// without sizes.
  std::function<details_blob(const std::string& digest)> blob_size;
};

/// Harbor's description of one manifest (`bytes`, of `media_type` as the
/// registry served it), as Harbor's abstractor and processors make it
/// (src/controller/artifact/abstractor.go, manifest/v2.go, index.go,
/// processor/image/manifest_v2.go, processor/default.go): the record's
/// outcome is `done`, `failed` (the manifest or its config is unreadable
/// or absent) or `retry` (a read failed on the way). Never throws on what
/// the registry sent.
artifact_details_record describe_manifest(const std::string& bytes,
                                          const std::string& media_type,
                                          const details_reader& read);

} // namespace regevent
