#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

namespace regevent {

struct runtime;
class actor_runtime;
class address_guard;

/// The management API (Harbor v2.0 shapes, DESIGN §5): checks the admin
/// token and parameters on the io thread, then asks the actors through the
/// runtime facade and renders their rows. `guard` judges webhook target
/// addresses (the SSRF guard) when a policy is created or replaced.
void handle_api(const runtime& rt, actor_runtime& actors,
                const address_guard& guard, incoming_request&& req,
                const responder& reply_to);

} // namespace regevent
