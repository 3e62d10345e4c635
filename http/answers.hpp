#pragma once

#include "actors/system.hpp"
#include "http/response.hpp"

namespace regevent {

/// Maps an error of the actors to its HTTP answer: not found 404, a name
/// taken 409, an outage, overload, shutdown or timeout 503 with
/// Retry-After (the caller may try again as is), anything else 500.
http_response answer_error(const caf::error& e, uint32_t retry_after_s);

/// 429 with Retry-After: `client` failed to authenticate too often.
http_response too_many_failures(const std::string& client,
                                uint32_t retry_after_s);

} // namespace regevent
