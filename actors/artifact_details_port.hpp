#pragma once

/// The door from the artifact details worker to the source registry. The
/// reads run over the Registry API v2 client in http/, which the actors
/// may not include; the daemon hands the worker an `artifact_details_port`
/// over it (http/artifact_details_port.hpp). Its calls block: the worker
/// is detached.

#include "persistence/artifact_details.hpp"

#include <vector>

namespace regevent {

class artifact_details_port {
public:
  virtual ~artifact_details_port() = default;

  /// The daemon stops: reads in progress end soon (as `retry`), later
  /// ones at once.
  virtual void stop() = 0;

  /// Reads each artifact's manifest (and an image's config, an index's
  /// children) a few at once; one record per job, in order, with its
  /// repository, digest and outcome set (`next_attempt_at` is the
  /// caller's to set).
  virtual std::vector<artifact_details_record>
  inspect(const std::vector<artifact_details_job>& jobs) = 0;
};

} // namespace regevent
