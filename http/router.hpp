#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

#include <memory>

namespace regevent {

struct runtime;
class actor_runtime;

/// Routing, separate from transport: maps each request to its handler and
/// wraps the responder so that every answer is counted and logged.
class router {
public:
  router(const runtime& rt, actor_runtime& actors);

  void operator()(incoming_request&& req, responder reply_to) const;

private:
  const runtime& rt_;
  actor_runtime& actors_;
};

} // namespace regevent
