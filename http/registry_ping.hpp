#pragma once

/// `POST /api/v2.0/registries/ping`: whether a registry answers `/v2/` and
/// accepts the credential, checked before (or after) it is saved.

#include "persistence/replication.hpp"

#include <functional>
#include <memory>
#include <string>

namespace regevent {

class outbound_client;

/// Pings `target` (its URL, TLS settings and credential, secret included)
/// on a thread of its own, since the registry client blocks and an io
/// thread must not, and calls `done` there with an empty string on success
/// or the reason it failed (the step, status and registry error code;
/// never the secret).
void ping_registry(std::shared_ptr<outbound_client> client,
                   registry_spec target,
                   std::function<void(std::string failure)> done);

} // namespace regevent
