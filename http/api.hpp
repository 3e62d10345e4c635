#pragma once

#include "actors/atoms.hpp"
#include "http/request.hpp"

namespace regevent {

struct runtime;
class actor_runtime;

/// The management API (Harbor v2.0 shapes, DESIGN §5): checks the admin
/// token and parameters on the io thread, then hands the SQL to the query
/// actor pool.
void handle_api(const runtime& rt, actor_runtime& actors,
                incoming_request&& req, const responder& reply_to);

} // namespace regevent
