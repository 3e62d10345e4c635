#include "http/answers.hpp"

namespace regevent {

http_response answer_error(const caf::error& e, uint32_t retry_after_s) {
  if (is(e, ec::not_found))
    return error_response(404, "NOT_FOUND", context_of(e));
  if (is(e, ec::already_exists))
    return error_response(409, "CONFLICT", context_of(e));
  if (is(e, ec::database_error))
    return error_response(500, "INTERNAL", "database error: " + context_of(e));
  // Outages, overload, shutdown, conflicts and timeouts pass: the caller
  // (a registry retrying forever, a script) tries again later.
  auto why = context_of(e);
  return unavailable(why.empty() ? describe(e) : why, retry_after_s);
}

http_response too_many_failures(const std::string& client,
                                uint32_t retry_after_s) {
  auto r = error_response(429, "TOO_MANY_REQUESTS",
                          "too many failed authentications from " + client
                              + "; try again in "
                              + std::to_string(retry_after_s) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

} // namespace regevent
