#pragma once

/// What a notification does not say about an artifact, read once from the
/// registry (Harbor's Artifact fields `media_type`, `artifact_type`,
/// `extra_attrs`, `annotations`, `references` and `size`), as the
/// `artifact_details` table keeps it. Plain records: the store, the
/// inspector worker, the port that reads the registry and the API share
/// them.

#include "persistence/event.hpp"

#include <cstdint>
#include <string>

namespace regevent {

namespace artifact_details_status {
constexpr const char* done = "done";
constexpr const char* failed = "failed";
} // namespace artifact_details_status

/// An artifact to read: live, and without details or with a failed read
/// due again.
struct artifact_details_job {
  std::string repository;
  std::string digest;
  /// The manifest's media type as the notification said it.
  std::string media_type;
  /// Failed reads so far.
  int64_t attempts = 0;
};

/// How a read ended.
enum class artifact_details_outcome {
  /// Read and described: the fields below are set.
  done,
  /// The registry was down or answered 5xx: tried again with backoff.
  retry,
  /// The registry does not have the manifest, or it is not one regevent
  /// can read: tried again rarely.
  failed,
};

/// One row of `artifact_details`, as written. The JSON texts are always
/// valid JSON: `{}` and `[]` when there is nothing.
struct artifact_details_record {
  std::string repository;
  std::string digest;
  artifact_details_outcome outcome = artifact_details_outcome::done;
  /// Harbor's `media_type`: the image config's media type; empty for an
  /// index (Harbor shows the index's manifest media type there).
  std::string config_media_type;
  /// The manifest's `artifactType`, else (not for an index) the config's
  /// media type.
  std::string artifact_type;
  /// A JSON object (Harbor's `extra_attrs`).
  std::string extra_attrs = "{}";
  /// A JSON object of strings: the manifest's annotations.
  std::string annotations = "{}";
  /// A JSON array of `{child_digest, platform, annotations, urls}`: an
  /// index's children.
  std::string refs = "[]";
  /// Harbor's size: manifest, config and layers; an index's own bytes and
  /// its children's sizes.
  int64_t size = 0;
  /// For retry and failed: why, and when to try again.
  std::string error;
  timestamp_us next_attempt_at = 0;
};

} // namespace regevent
