#include "http/response.hpp"

#include <nlohmann/json.hpp>

namespace regevent {

std::string error_body(const std::string& code, const std::string& message) {
  nlohmann::json body = {{"errors", {{{"code", code}, {"message", message}}}}};
  // Messages can quote untrusted bytes (a JSON parser's last token):
  // invalid UTF-8 is replaced, never thrown.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

http_response error_response(unsigned status, const std::string& code,
                             const std::string& message) {
  http_response r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

http_response unavailable(const std::string& message, uint32_t retry_after_s) {
  auto r = error_response(503, "SERVICE_UNAVAILABLE", message);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

} // namespace regevent
