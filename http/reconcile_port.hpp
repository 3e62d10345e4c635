#pragma once

#include "actors/reconcile_port.hpp"
#include "http/replication_port.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace regevent {

class outbound_client;

/// How a reconcile walks the source registry.
struct reconcile_walk_options {
  /// Repositories walked at once.
  size_t concurrency = 1;
  /// Requests per second over every walker; 0: unlimited.
  uint32_t rate = 0;
  /// Repositories or tags per page (Distribution's `n`).
  uint32_t page_size = 100;
  /// `regevent-reconcile/<version>`, which the filter knows as internal:
  /// the walk's HEADs and GETs of manifests never count as pulls.
  std::string user_agent;
};

/// The reconcile actor's door to the source registry, over the Registry
/// API v2 client; nothing is configured when `source.url` is empty.
std::shared_ptr<reconcile_port>
make_reconcile_port(std::shared_ptr<outbound_client> client,
                    replication_source source, reconcile_walk_options options);

} // namespace regevent
