#pragma once

#include "actors/scanner_port.hpp"
#include "http/replication_port.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace regevent {

class outbound_client;

/// The scan worker's door to scanner adapters and to the registry they
/// pull from (`source`, the registry that notifies regevent; its pull
/// credential becomes each scan request's `registry.authorization`).
/// Requests carry `user_agent` (`regevent-scanner/<version>`, which the
/// filter knows as internal) and end within `timeout`.
/// `registry_url`, when not empty, is the registry as the adapters reach
/// it (another host name than regevent's, say), sent in each scan request
/// instead of `source.url`.
std::shared_ptr<scanner_port>
make_scanner_port(std::shared_ptr<outbound_client> client,
                  replication_source source, std::string registry_url,
                  std::string user_agent, std::chrono::milliseconds timeout);

} // namespace regevent
