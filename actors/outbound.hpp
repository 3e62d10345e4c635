#pragma once

/// The door from the actors to the outbound HTTP(S) client. The client
/// lives in http/ (Beast, OpenSSL), which the actors may not include; the
/// daemon hands them an `outbound_port` over it (http/outbound_port.hpp),
/// and tests may hand them another.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

struct outbound_post {
  /// An absolute http:// or https:// URL.
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool skip_cert_verify = false;
  /// PEM CA certificates trusted besides the system store.
  std::string ca_file;
  /// The whole attempt, connect to the last byte of the answer.
  std::chrono::milliseconds timeout{0};
  /// Refuse addresses the SSRF guard refuses (after name resolution).
  bool guarded = true;
};

/// How a POST ended. Exactly one of `status` (an HTTP answer) and `error`.
struct outbound_reply {
  unsigned status = 0;
  /// Why there was no answer ("timeout: ...", "connect: ..."); never holds
  /// a header value or the URL's path.
  std::string error;
  /// No retry can help: the request is unusable or its address refused.
  bool permanent = false;
  std::chrono::microseconds latency{0};
};

class outbound_port {
public:
  virtual ~outbound_port() = default;
  /// Sends and returns at once; `done` is called exactly once, on a thread
  /// of the client (keep it short), or on the caller's after the client
  /// stopped.
  virtual void post(outbound_post req, std::function<void(outbound_reply)> done)
      = 0;
};

} // namespace regevent
