#pragma once

/// What the actors and the transport share without any CAF type: the
/// daemon's immutable configuration, its observability objects and the
/// domain results of ingest.

#include "config/config.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace regevent {

class metrics;
class health;
class outbound_port;
class replication_port;
class scanner_port;
class reconcile_port;
class artifact_details_port;

/// What every actor of one daemon shares: immutable configuration and the
/// thread-safe observability objects.
struct runtime {
  std::shared_ptr<const config> cfg;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health> status;
  /// Unique per process; owner of this instance's journal claims.
  std::string instance_id;
  /// The outbound HTTP(S) client (webhooks); none: nothing is delivered.
  std::shared_ptr<outbound_port> outbound;
  /// The registries replication copies between; none: no copy runs.
  std::shared_ptr<replication_port> replication;
  /// The scanner adapters and the registry they pull from; none: no scan
  /// runs.
  std::shared_ptr<scanner_port> scanning;
  /// The source registry as a reconcile walks it; none: no reconcile
  /// runs.
  std::shared_ptr<reconcile_port> reconcile;
  /// The source registry as the artifact details worker reads it; none
  /// (no `source_registry.url`): artifacts keep no details.
  std::shared_ptr<artifact_details_port> details;
};

/// What the journal did with one notification: new events, duplicates of
/// journaled ones, and events unusable on their own.
struct ingest_result {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t ignored = 0;
};

/// A one-shot answer: a result or an error with regevent's code. Called
/// once, from an actor's thread.
template<class T>
using reply_fn = std::function<void(caf::expected<T>)>;

} // namespace regevent
