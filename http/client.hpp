#pragma once

#include "config/defaults.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The outbound HTTP(S) client: webhooks, replication and scanning send
/// their requests through it. Plain callbacks and plain records, no CAF:
/// actors wrap it, and it never runs on their threads.
namespace regevent {

class address_guard;

/// Why an outbound request got no HTTP answer. Callers decide on retries by
/// category: a `dns` or `connect` failure says nothing reached the server,
/// a `timeout` may have been processed there.
enum class outbound_error {
  none,
  /// The request itself is unusable: a URL that does not parse, a scheme
  /// other than http or https, a header with a line break. Never retried.
  invalid_request,
  /// The host name did not resolve.
  dns,
  /// No connection: refused, unreachable, or reset or closed by the server
  /// before a complete response.
  connect,
  /// The TLS handshake failed: an untrusted or expired certificate, a host
  /// name the certificate does not name, an unreadable `ca_file`.
  tls,
  /// A connect, handshake or total timeout passed.
  timeout,
  /// The response's body or headers exceed the request's limits.
  too_large,
  /// The server's answer is not valid HTTP/1.x (or was cut short).
  protocol,
  /// The origin's queue of requests waiting for a connection is full.
  overloaded,
  /// The client stopped before the request completed.
  shutdown,
  /// The request's `address_guard` refused every address the host
  /// resolved to (or the literal address): nothing was sent. Never
  /// retried; the target needs a configuration change.
  forbidden_address,
};

/// The category's name, for logs and delivery records ("tls").
const char* to_string(outbound_error e);

/// How to trust one target's certificates. Part of the pool's key: targets
/// that differ here never share a connection.
struct outbound_tls_options {
  /// A PEM file of CA certificates trusted besides the system store
  /// (Debian's ca-certificates): a registry or receiver with a private CA.
  std::string ca_file;
  /// Accepts any certificate for any name. Only for a target configured so;
  /// the connection is still encrypted, but not authenticated.
  bool skip_cert_verify = false;

  bool operator==(const outbound_tls_options& other) const {
    return ca_file == other.ca_file
           && skip_cert_verify == other.skip_cert_verify;
  }
};

/// Per-request timeouts and limits; the defaults come from
/// `defaults::outbound`.
struct outbound_options {
  /// Name resolution plus the TCP connect of a new connection.
  std::chrono::milliseconds connect_timeout{
      defaults::outbound::connect_timeout_ms};
  /// The TLS handshake of a new connection.
  std::chrono::milliseconds handshake_timeout{
      defaults::outbound::handshake_timeout_ms};
  /// Everything from send() to the last byte of the response, including
  /// the wait for a pooled connection.
  std::chrono::milliseconds total_timeout{defaults::outbound::total_timeout_ms};
  /// The largest response body accepted; a larger one is `too_large`, never
  /// truncated.
  size_t body_limit = defaults::outbound::body_limit;
  size_t header_limit = defaults::outbound::header_limit;
  outbound_tls_options tls;
  /// Checks every address the host resolves to before connecting (the SSRF
  /// guard of webhooks); refused ones are skipped, and with none left the
  /// request fails `forbidden_address`. Null: no check (replication and
  /// scanning reach configured registries). Part of the pool's key: a
  /// connection opened under one guard never serves a request under
  /// another or none.
  std::shared_ptr<const address_guard> guard;
};

using outbound_headers = std::vector<std::pair<std::string, std::string>>;

/// Takes a response body piece by piece (see `outbound_request::body_sink`):
/// `piece` stays valid until `resume` is called. `resume(true)` reads on;
/// `resume(false)` ends the request there (its connection is closed and
/// its result is `shutdown`).
using outbound_body_sink = std::function<void(
    std::string_view piece, std::function<void(bool more)> resume)>;

struct outbound_request {
  std::string method = "GET";
  /// An absolute http:// or https:// URL. Credentials in it are refused
  /// (they would end up in logs): send an Authorization header instead.
  std::string url;
  /// Sent as given, after Host and a default User-Agent (which a header
  /// here replaces). Host, Content-Length, Transfer-Encoding and Connection
  /// belong to the client and are refused. Values are never logged.
  outbound_headers headers;
  std::string body;
  outbound_options options;
  /// When set, the body of a 2xx answer goes to the sink piece by piece as
  /// it arrives instead of into `outbound_result::body` (left empty), so
  /// that a blob of any size passes in bounded memory. The sink runs on a
  /// client thread and must not block: it uses or copies the piece, then
  /// calls `resume` once, from any thread, when it wants the next one (or
  /// no more); the request waits meanwhile, within its total timeout.
  /// `body_limit` still bounds the whole body. Any other answer (an error
  /// document) is collected as usual.
  outbound_body_sink body_sink;
};

struct outbound_result {
  outbound_error error = outbound_error::none;
  /// What went wrong, for a log line or a delivery record; never holds
  /// header values or the URL's path and query (which may carry tokens).
  std::string error_text;
  /// 0 when `error` is set. A 3xx is a result like any other: redirects are
  /// not followed (a webhook target that moves is a configuration change).
  unsigned status = 0;
  outbound_headers headers;
  std::string body;
  /// From send() to the callback, waiting for a connection included.
  std::chrono::microseconds latency{0};

  bool ok() const {
    return error == outbound_error::none;
  }
  /// The first header of that name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

/// Client-wide settings: threads and the bounds of each origin's pool. An
/// origin is scheme, host, port and TLS options.
struct outbound_client_config {
  size_t io_threads = defaults::outbound::io_threads;
  /// Connections open to one origin at once (busy, idle or connecting);
  /// further requests wait in the origin's queue.
  size_t max_connections_per_origin
      = defaults::outbound::max_connections_per_origin;
  /// Idle connections kept per origin; a connection released beyond that
  /// is closed.
  size_t max_idle_per_origin = defaults::outbound::max_idle_per_origin;
  /// Requests waiting for a connection per origin; beyond that a request
  /// fails `overloaded` at once.
  size_t max_queued_per_origin = defaults::outbound::max_queued_per_origin;
  /// An idle pooled connection is closed after this long unused.
  std::chrono::milliseconds idle_timeout{defaults::outbound::idle_timeout_ms};
  /// How long stop() waits for requests in flight to end.
  std::chrono::milliseconds shutdown_grace{
      defaults::outbound::shutdown_grace_ms};
  /// Sent when a request has no User-Agent of its own.
  std::string user_agent = defaults::outbound::user_agent;
};

/// The pools' counts over all origins, for metrics and tests.
struct outbound_stats {
  uint64_t connections_opened = 0;
  size_t open_connections = 0;
  size_t idle_connections = 0;
  size_t queued_requests = 0;
  size_t in_flight = 0;
};

/// Sends HTTP/1.1 requests on its own io_context and threads, with a
/// keep-alive pool per origin.
class outbound_client {
public:
  using callback = std::function<void(outbound_result)>;

  /// Throws std::invalid_argument, naming the setting, for zero threads or
  /// zero connections per origin (no request could ever be sent).
  explicit outbound_client(outbound_client_config cfg = {});
  /// Calls stop().
  ~outbound_client();

  outbound_client(const outbound_client&) = delete;
  outbound_client& operator=(const outbound_client&) = delete;

  /// Sends `req` and returns at once. `done` is called exactly once, on one
  /// of the client's threads (keep it short: it holds up the origin's
  /// other requests), or on the calling thread after stop().
  void send(outbound_request req, callback done);

  /// Sends and waits for the result: for tests and tools. Refused (an
  /// `invalid_request` result) on one of the client's own threads, where
  /// it would wait for itself.
  outbound_result send_and_wait(outbound_request req);

  outbound_stats stats() const;

  /// Fails queued and running requests with `shutdown`, closes every
  /// connection and joins the threads. Idempotent; not from a callback
  /// (it would join its own thread). A name resolution in progress cannot
  /// be interrupted: its request is answered `shutdown` after the shutdown
  /// grace, and the destructor waits for the resolver to return.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent
