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

/// Routing, separate from transport: maps each request to its handler and
/// wraps the responder so that every answer is counted and logged.
class router {
public:
  /// Builds the SSRF guard of webhook policies from
  /// `webhooks.allow_networks` (validated with the configuration).
  /// `outbound` pings registries for the API; without it a ping answers
  /// 503.
  router(const runtime& rt, actor_runtime& actors,
         std::shared_ptr<outbound_client> outbound = nullptr);

  void operator()(incoming_request&& req, responder reply_to) const;

private:
  const runtime& rt_;
  actor_runtime& actors_;
  std::shared_ptr<const address_guard> guard_;
  std::shared_ptr<outbound_client> outbound_;
  /// Failed authentications per client address, both endpoints.
  std::shared_ptr<auth_limiter> limiter_;
};

} // namespace regevent
