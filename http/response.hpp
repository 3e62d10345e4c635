#pragma once

/// What the transport writes back: an answer, and where a handler delivers
/// it. Wire types of http/ only; the actors answer domain results.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

/// An HTTP answer for the transport to write.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Where a handler delivers the answer to one HTTP request. Implemented by
/// the transport: `reply` may be called from any thread, at most once; a
/// sink destroyed without an answer answers 503, so that no connection is
/// left waiting.
class reply_sink {
public:
  virtual ~reply_sink() = default;
  virtual void reply(http_response response) = 0;
};

using responder = std::shared_ptr<reply_sink>;

/// The JSON error body of DESIGN §5: {"errors":[{"code","message"}]}.
std::string error_body(const std::string& code, const std::string& message);

/// An answer with that status and error body.
http_response error_response(unsigned status, const std::string& code,
                             const std::string& message);

/// A 503 that tells the caller when to try again.
http_response unavailable(const std::string& message, uint32_t retry_after_s);

} // namespace regevent
