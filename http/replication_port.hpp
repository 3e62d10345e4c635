#pragma once

#include "actors/replication_port.hpp"

#include <memory>
#include <string>

namespace regevent {

class outbound_client;
struct registry_endpoint;

/// The registry that notifies regevent, as replication reads it.
struct replication_source {
  /// `http[s]://host[:port]`.
  std::string url;
  bool insecure = false;
  std::string ca_file;
  std::string username;
  std::string password;
};

/// `source` as the Registry API v2 client reaches it: the URL without a
/// trailing slash (the API lives under /v2/ of the origin), its
/// credentials and TLS options. The port of every worker that reads the
/// source registry builds its client from it.
registry_endpoint endpoint_of(const replication_source& source);

/// The replication worker's door to the registries: each task's copy (or
/// delete) runs over the Registry API v2 client on a thread of its own,
/// with `user_agent` (`regevent-replicator/<version>`, which the filter
/// knows as internal: the copy's pulls never count, its pushes never
/// replicate again).
std::shared_ptr<replication_port>
make_replication_port(std::shared_ptr<outbound_client> client,
                      replication_source source, std::string user_agent);

} // namespace regevent
