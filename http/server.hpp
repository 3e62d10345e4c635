#pragma once

#include "config/config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace regevent {

/// The Beast HTTP/1.1 server: an acceptor and sessions on their own io
/// threads. Each complete request goes to the handler with a responder
/// that may answer from any thread; answers are written in request order
/// (bounded pipelining).
class http_server {
public:
  using handler = std::function<void(incoming_request&&, responder)>;

  http_server(const config& cfg, handler on_request);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, listens and starts the io threads; returns the bound port
  /// (useful with port 0). Throws on bind failure, or when the TLS files
  /// cannot be used.
  uint16_t start();

  /// Reads tls.cert_file, tls.key_file and tls.client_ca_file again:
  /// handshakes from now on use them, connections already open keep what
  /// they agreed on. Empty when reloaded or plain HTTP; otherwise what is
  /// wrong, and the files in use stay.
  std::string reload_tls();

  /// Closes the listening socket; connections in progress continue.
  void stop_accepting();

  /// Waits until no request is waiting for its answer, or the deadline.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);

  /// Closes every connection and joins the io threads.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent
