#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

#include <memory>

namespace regevent {

struct runtime;
class actor_runtime;
class address_guard;

/// Routing, separate from transport: maps each request to its handler and
/// wraps the responder so that every answer is counted and logged.
class router {
public:
  /// Builds the SSRF guard of webhook policies from
  /// `webhooks.allow_networks` (validated with the configuration).
  router(const runtime& rt, actor_runtime& actors);

  void operator()(incoming_request&& req, responder reply_to) const;

private:
  const runtime& rt_;
  actor_runtime& actors_;
  std::shared_ptr<const address_guard> guard_;
};

} // namespace regevent
