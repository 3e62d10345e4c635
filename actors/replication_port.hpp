#pragma once

/// The door from the replication worker to the registries. The copy runs
/// over the Registry API v2 client in http/ (Beast, OpenSSL), which the
/// actors may not include; the daemon hands the worker a `replication_port`
/// over it (http/replication_port.hpp).

#include "persistence/replication.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

/// How a task's copy (or delete) ended.
struct replication_run_result {
  bool ok = false;
  /// A failure worth retrying: the network, a 5xx, 408 or 429. A refused
  /// credential or an unknown image fails at once.
  bool transient = false;
  std::string error;
  /// The manifest's digest (the same at both ends).
  std::string digest;
  uint64_t bytes_copied = 0;
  /// Not empty: nothing was written on purpose (override off and the tag
  /// differs; a delete of what the destination does not have).
  std::string skipped;
};

class replication_port {
public:
  virtual ~replication_port() = default;

  /// Runs a claimed task on a thread of its own and calls `done` once, on
  /// that thread. Setting `*cancel` stops it between blobs.
  virtual void run(replication_job job,
                   std::shared_ptr<std::atomic<bool>> cancel,
                   std::function<void(replication_run_result)> done)
      = 0;

  /// Lists the source's repositories and tags that `policy`'s filters
  /// select (a manual run), on a thread of its own; `done` gets them or
  /// why the listing failed.
  virtual void list(replication_policy policy,
                    std::function<void(std::vector<replication_listed>,
                                       std::string error)>
                        done)
      = 0;
};

} // namespace regevent
