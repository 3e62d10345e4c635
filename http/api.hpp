#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

#include <memory>

namespace regevent {

struct runtime;
class actor_runtime;
class address_guard;
class outbound_client;
class auth_limiter;

/// What the management API uses besides the facade.
struct api_services {
  /// Judges webhook target addresses (the SSRF guard) when a policy is
  /// created or replaced.
  const address_guard& guard;
  /// Pings registries; null: pings answer 503.
  std::shared_ptr<outbound_client> outbound;
  /// Failed authentications per client; null: no limit.
  auth_limiter* limiter = nullptr;
};

/// The management API (Harbor v2.0 shapes, DESIGN §5): checks the admin
/// token and parameters on the io thread, then asks the actors through the
/// runtime facade and renders their rows.
void handle_api(const runtime& rt, actor_runtime& actors,
                const api_services& services, incoming_request&& req,
                const responder& reply_to);

} // namespace regevent
