#include "http/client.hpp"

#include "config/http_url.hpp"
#include "http/address_guard.hpp"
#include "http/beast_http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace regevent {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

const char* to_string(outbound_error e) {
  switch (e) {
    case outbound_error::none:
      return "none";
    case outbound_error::invalid_request:
      return "invalid_request";
    case outbound_error::dns:
      return "dns";
    case outbound_error::connect:
      return "connect";
    case outbound_error::tls:
      return "tls";
    case outbound_error::timeout:
      return "timeout";
    case outbound_error::too_large:
      return "too_large";
    case outbound_error::protocol:
      return "protocol";
    case outbound_error::overloaded:
      return "overloaded";
    case outbound_error::shutdown:
      return "shutdown";
    case outbound_error::forbidden_address:
      return "forbidden_address";
  }
  return "unknown";
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

} // namespace

std::optional<std::string>
outbound_result::header(std::string_view name) const {
  for (auto& [key, value] : headers)
    if (iequals(key, name))
      return value;
  return std::nullopt;
}

namespace {

outbound_result failure(outbound_error e, std::string text) {
  outbound_result r;
  r.error = e;
  r.error_text = std::move(text);
  return r;
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

/// RFC 9110 §7.2 token characters: a method or a header name.
bool is_token(std::string_view s) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))
        && extra.find(c) == std::string_view::npos)
      return false;
  return true;
}

/// Headers the client writes itself: a caller's value would contradict the
/// framing or the connection handling.
bool reserved_header(std::string_view name) {
  for (std::string_view r :
       {"host", "content-length", "transfer-encoding", "connection"})
    if (iequals(name, r))
      return true;
  return false;
}

/// Idempotent methods (RFC 9110 §9.2.2): sending one twice has the effect
/// of sending it once, so a request lost on a stale connection may go again.
bool idempotent(std::string_view method) {
  for (std::string_view m :
       {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    if (method == m)
      return true;
  return false;
}

/// What one send() asks for, checked and ready to write.
struct prepared_request {
  http_url url;
  bhttp::request<bhttp::string_body> message;
  std::string method;
  outbound_body_sink sink;
  bool repeatable = false;
  bool head = false;
};

std::optional<outbound_result> prepare(outbound_request& req,
                                       const std::string& user_agent,
                                       prepared_request& out) {
  std::string error;
  auto url = parse_http_url(req.url, error);
  if (!url)
    return failure(outbound_error::invalid_request, std::move(error));
  if (!is_token(req.method))
    return failure(outbound_error::invalid_request,
                   "not a valid HTTP method: '" + req.method + "'");
  auto& m = out.message;
  m.version(11);
  m.method_string(req.method);
  m.target(url->target);
  m.set(bhttp::field::host, url->host_header);
  m.set(bhttp::field::user_agent, user_agent);
  bool agent_given = false;
  static const std::string breaks("\r\n\0", 3);
  for (auto& [name, value] : req.headers) {
    // A CR or LF would end the field and start one nobody meant.
    if (!is_token(name) || value.find_first_of(breaks) != std::string::npos)
      return failure(outbound_error::invalid_request,
                     "header '" + (is_token(name) ? name : std::string("?"))
                         + "' has a malformed name or value");
    if (reserved_header(name))
      return failure(outbound_error::invalid_request,
                     "header '" + name + "' is set by the client");
    if (iequals(name, "user-agent") && !agent_given) {
      m.erase(bhttp::field::user_agent);
      agent_given = true;
    }
    m.insert(name, value);
  }
  m.body() = std::move(req.body);
  m.prepare_payload();
  out.repeatable = idempotent(req.method);
  out.head = req.method == "HEAD";
  out.method = req.method;
  out.sink = std::move(req.body_sink);
  out.url = std::move(*url);
  return std::nullopt;
}

/// Counts over all origins; shared with everything that may outlive the
/// client's members during shutdown (handlers destroyed with the
/// io_context).
struct client_shared {
  explicit client_shared(outbound_client_config c) : cfg(std::move(c)) {}
  const outbound_client_config cfg;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> opened{0};
  std::atomic<size_t> open{0};
  std::atomic<size_t> idle{0};
  std::atomic<size_t> queued{0};
  std::atomic<size_t> in_flight{0};
};

/// The host-name check of asio, with the reason OpenSSL reports: without
/// it a mismatch shows as a verification failure with no cause.
struct checked_host_name {
  ssl::host_name_verification check;
  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    bool ok = check(preverified, ctx);
    if (preverified && !ok)
      X509_STORE_CTX_set_error(ctx.native_handle(),
                               X509_V_ERR_HOSTNAME_MISMATCH);
    return ok;
  }
};

/// One kept-alive connection to an origin, plain or TLS.
struct connection {
  connection(net::any_io_executor ex, ssl::context* tls_context, uint64_t n)
      : idle_timer(ex), id(n) {
    if (tls_context)
      tls.emplace(ex, *tls_context);
    else
      plain.emplace(ex);
  }

  beast::tcp_stream& tcp() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }

  /// Calls `f` with the stream requests go through.
  template<class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }

  void close() {
    beast::error_code ignored;
    idle_timer.cancel();
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }

  /// Whether an idle connection can carry another request. A server that
  /// closed it sent a FIN (a read of 0), and with TLS a close_notify first;
  /// any byte on an idle connection means it is in no state to be reused.
  /// Checked before writing, so that a request is rarely lost to a
  /// connection that died while pooled.
  bool still_usable() {
    auto& socket = tcp().socket();
    if (!socket.is_open() || buffer.size() != 0)
      return false;
    char byte;
    auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  net::steady_timer idle_timer;
  uint64_t id;
  uint64_t requests = 0;
};

class exchange;

/// The connections and waiting requests of one origin. Everything in it
/// runs on its strand.
class origin_pool : public std::enable_shared_from_this<origin_pool> {
public:
  origin_pool(net::io_context& ioc, std::shared_ptr<client_shared> shared,
              std::string label, std::unique_ptr<ssl::context> tls_context)
      : strand(net::make_strand(ioc)),
        shared(std::move(shared)),
        label(std::move(label)),
        tls_context_(std::move(tls_context)) {}

  /// Gives `e` a connection: an idle one, a new one, or a place in the
  /// queue. With `fresh`, never an idle one.
  void acquire(const std::shared_ptr<exchange>& e);

  /// Takes back the connection of a completed exchange.
  void release(std::shared_ptr<connection> c);

  /// Closes a connection that failed or cannot be reused.
  void discard(const std::shared_ptr<connection>& c);

  /// A new connection in place of `old`, which is closed: the exchange
  /// keeps its slot under the bound.
  std::shared_ptr<connection> replace(const std::shared_ptr<connection>& old);

  /// Takes a request out of the queue (it timed out waiting).
  void forget(const exchange* e);

  void track(exchange* e) {
    running_.insert(e);
  }
  void untrack(exchange* e) {
    running_.erase(e);
  }

  /// Fails every request and closes every connection (client stop).
  void shutdown();

  net::strand<net::io_context::executor_type> strand;
  const std::shared_ptr<client_shared> shared;
  const std::string label;

private:
  std::shared_ptr<connection> open_connection();
  void close_counted(const std::shared_ptr<connection>& c);
  void park(std::shared_ptr<connection> c);
  void pump();

  std::unique_ptr<ssl::context> tls_context_;
  std::vector<std::shared_ptr<connection>> idle_;
  std::deque<std::shared_ptr<exchange>> queue_;
  std::set<exchange*> running_;
  size_t open_ = 0;
  uint64_t next_id_ = 0;
};

/// One request from send() to its callback: waits for a connection,
/// connects and handshakes if the connection is new, writes, reads, and
/// retries once on a fresh connection when a pooled one turns out stale.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<origin_pool> pool, prepared_request prepared,
           outbound_options options, outbound_client::callback done,
           clock_type::time_point started)
      : pool_(std::move(pool)),
        req_(std::move(prepared)),
        options_(std::move(options)),
        done_(std::move(done)),
        started_(started),
        total_timer_(pool_->strand),
        phase_timer_(pool_->strand),
        resolver_(pool_->strand) {
    ++pool_->shared->in_flight;
  }

  /// Answers a request that vanished with the io_context (stop() gave up
  /// waiting): every send() gets its one callback.
  ~exchange() {
    if (!finished_) {
      pool_->untrack(this);
      complete(failure(outbound_error::shutdown,
                       "the client stopped before the request completed"));
    }
  }

  void start() {
    pool_->track(this);
    total_timer_.expires_at(started_ + options_.total_timeout);
    total_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      self->abort(outbound_error::timeout,
                  "no complete response from " + self->pool_->label
                      + " within the total timeout of "
                      + millis(self->options_.total_timeout));
    });
    pool_->acquire(shared_from_this());
  }

  /// Runs the request on a connection from the pool.
  void use(std::shared_ptr<connection> c, bool reused) {
    if (finished_) {
      if (reused)
        pool_->release(std::move(c));
      else
        pool_->discard(c);
      return;
    }
    conn_ = std::move(c);
    reused_ = reused;
    if (reused)
      return write();
    resolve();
  }

  void abort(outbound_error e, std::string text) {
    if (finished_)
      return;
    // The pool may hold the last reference (a queued request).
    auto self = shared_from_this();
    resolver_.cancel();
    pool_->forget(this);
    if (conn_) {
      pool_->discard(conn_);
      conn_.reset();
    }
    finish(failure(e, std::move(text)));
  }

private:
  /// Arms the timer of a connection phase; it ends with the total timeout
  /// at the latest, which has its own timer and message.
  void arm_phase(std::chrono::milliseconds limit, std::string what) {
    auto gen = ++phase_gen_;
    phase_timer_.expires_after(limit);
    phase_timer_.async_wait([self = shared_from_this(), gen, limit,
                             what = std::move(what)](beast::error_code ec) {
      if (ec || gen != self->phase_gen_)
        return;
      self->abort(outbound_error::timeout, what + " " + self->pool_->label
                                               + " timed out after "
                                               + millis(limit));
    });
  }

  void end_phase() {
    ++phase_gen_;
    phase_timer_.cancel();
  }

  void resolve() {
    arm_phase(options_.connect_timeout, "connecting to");
    resolver_.async_resolve(
        req_.url.host, std::to_string(req_.url.port),
        [self = shared_from_this()](beast::error_code ec,
                                    tcp::resolver::results_type results) {
          if (self->finished_)
            return;
          if (ec)
            return self->abort(outbound_error::dns, "cannot resolve "
                                                        + self->req_.url.host
                                                        + ": " + ec.message());
          self->connect_allowed(results);
        });
  }

  /// The SSRF guard, after every resolution (a retry's too): a name that
  /// answered differently when the policy was written is judged by what
  /// it answers now, the addresses actually connected to.
  void connect_allowed(const tcp::resolver::results_type& results) {
    std::vector<tcp::endpoint> endpoints;
    std::string refused;
    for (const auto& entry : results) {
      if (options_.guard) {
        auto why = options_.guard->refusal(entry.endpoint().address());
        if (!why.empty()) {
          refused += (refused.empty() ? "" : "; ") + why;
          continue;
        }
      }
      endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty() && !refused.empty())
      return abort(outbound_error::forbidden_address,
                   "refused by the SSRF guard: " + refused + " (" + pool_->label
                       + ")");
    connect(endpoints);
  }

  // Every operation on a connection holds it (`conn = conn_`) until its
  // handler runs: abort() lets go of conn_ at once, and a closed socket
  // still completes its pending operation, which uses the stream and the
  // buffer.
  void connect(const std::vector<tcp::endpoint>& endpoints) {
    conn_->tcp().async_connect(endpoints, [self = shared_from_this(),
                                           conn = conn_](beast::error_code ec,
                                                         const tcp::endpoint&) {
      if (self->finished_)
        return;
      self->end_phase();
      if (ec)
        return self->abort(outbound_error::connect, "cannot connect to "
                                                        + self->pool_->label
                                                        + ": " + ec.message());
      if (self->conn_->tls)
        return self->handshake();
      self->write();
    });
  }

  void handshake() {
    auto& stream = *conn_->tls;
    const auto& host = req_.url.host;
    const auto& tls = options_.tls;
    // SNI names a host, never an address (RFC 6066 §3).
    if (!req_.url.host_is_address
        && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
      return abort(outbound_error::tls, "cannot set the TLS server name");
    if (tls.skip_cert_verify) {
      stream.set_verify_mode(ssl::verify_none);
    } else {
      stream.set_verify_mode(ssl::verify_peer);
      stream.set_verify_callback(
          checked_host_name{ssl::host_name_verification(host)});
    }
    arm_phase(options_.handshake_timeout, "the TLS handshake with");
    stream.async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this(), conn = conn_](beast::error_code ec) {
          if (self->finished_)
            return;
          self->end_phase();
          if (ec)
            return self->abort(outbound_error::tls, self->tls_failure(ec));
          self->write();
        });
  }

  std::string tls_failure(const beast::error_code& ec) {
    std::string text
        = "TLS handshake with " + pool_->label + " failed: " + ec.message();
    auto verify = SSL_get_verify_result(conn_->tls->native_handle());
    if (verify != X509_V_OK)
      text += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    return text;
  }

  void write() {
    conn_->with_stream([this](auto& stream) {
      bhttp::async_write(stream, req_.message,
                         [self = shared_from_this(), conn = conn_](
                             beast::error_code ec, std::size_t written) {
                           self->on_write(ec, written);
                         });
    });
  }

  void on_write(beast::error_code ec, std::size_t written) {
    if (finished_)
      return;
    if (ec) {
      // Nothing written: the server cannot have seen the request, so
      // even a POST may go again.
      if (may_retry(ec) && (req_.repeatable || written == 0))
        return retry();
      return abort(outbound_error::connect, "sending the request to "
                                                + pool_->label
                                                + " failed: " + ec.message());
    }
    read();
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    // A response to HEAD announces a body it does not send.
    parser_->skip(req_.head);
    conn_->with_stream([this](auto& stream) {
      bhttp::async_read_header(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this(), conn = conn_](
              beast::error_code ec, std::size_t) { self->on_header(ec); });
    });
  }

  void on_header(beast::error_code ec) {
    if (finished_)
      return;
    if (ec || parser_->is_done())
      return on_read(ec);
    // Beast 1.74 checks Content-Length against the body limit only when no
    // body bytes follow the header in the same read: with both, the error
    // is overwritten and the whole body read. Checked here for every
    // response; chunked and read-to-close bodies are counted by Beast.
    if (auto length = parser_->content_length();
        length && *length > options_.body_limit)
      return on_read(bhttp::error::body_limit);
    if (req_.sink && parser_->get().result_int() / 100 == 2)
      return stream_body();
    conn_->with_stream([this](auto& stream) {
      bhttp::async_read(stream, conn_->buffer, *parser_,
                        [self = shared_from_this(),
                         conn = conn_](beast::error_code ec, std::size_t) {
                          self->on_read(ec);
                        });
    });
  }

  void on_read(beast::error_code ec) {
    if (finished_)
      return;
    if (ec == bhttp::error::body_limit)
      return abort_too_large();
    if (ec == bhttp::error::header_limit)
      return abort(outbound_error::too_large,
                   "the response headers from " + pool_->label
                       + " exceed the limit of "
                       + std::to_string(options_.header_limit) + " bytes");
    if (ec) {
      bool nothing = !parser_->got_some() && conn_->buffer.size() == 0;
      // Written but unanswered: only a request that may take effect twice
      // goes again.
      if (nothing && req_.repeatable && may_retry(ec))
        return retry();
      if (nothing && closed(ec))
        return abort(outbound_error::connect,
                     pool_->label + " closed the connection before answering");
      if (ec.category()
          == bhttp::make_error_code(bhttp::error::partial_message).category())
        return abort(outbound_error::protocol,
                     "the response from " + pool_->label
                         + " is not valid HTTP: " + ec.message());
      return abort(outbound_error::connect, "reading the response from "
                                                + pool_->label
                                                + " failed: " + ec.message());
    }
    auto& res = parser_->get();
    // An interim answer (103 Early Hints) precedes the real one.
    if (res.result_int() >= 100 && res.result_int() < 200
        && res.result() != bhttp::status::switching_protocols)
      return read();
    auto body = std::move(res.body());
    complete_response(res, parser_->need_eof(), std::move(body));
  }

  /// The answer read to its end: the connection back to the pool (or
  /// closed), the result to the caller.
  template<class Message>
  void complete_response(const Message& res, bool need_eof, std::string body) {
    outbound_result r;
    r.status = res.result_int();
    for (auto& field : res)
      r.headers.emplace_back(std::string(field.name_string()),
                             std::string(field.value()));
    bool reusable = res.keep_alive() && !need_eof
                    && res.result() != bhttp::status::switching_protocols;
    r.body = std::move(body);
    auto c = std::move(conn_);
    ++c->requests;
    if (reusable)
      pool_->release(std::move(c));
    else
      pool_->discard(c);
    finish(std::move(r));
  }

  /// A 2xx body for the request's sink: the header parser becomes one that
  /// reads into a fixed buffer (nothing of the body is read yet), each
  /// filled buffer is handed over, and the next read waits for `resume`.
  void stream_body() {
    stream_parser_.emplace(std::move(*parser_));
    stream_parser_->body_limit(options_.body_limit);
    piece_.resize(defaults::outbound::stream_piece_size);
    // Beast reads at most the connection buffer's free capacity (no less
    // than 512 bytes) per call; left at the header's size, a blob arrives
    // in hundreds of thousands of tiny reads.
    conn_->buffer.reserve(defaults::outbound::stream_piece_size);
    read_piece();
  }

  void read_piece() {
    auto& body = stream_parser_->get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    conn_->with_stream([this](auto& stream) {
      bhttp::async_read(stream, conn_->buffer, *stream_parser_,
                        [self = shared_from_this(),
                         conn = conn_](beast::error_code ec, std::size_t) {
                          self->on_piece(ec);
                        });
    });
  }

  void on_piece(beast::error_code ec) {
    if (finished_)
      return;
    // A full buffer: the piece is ready, the message is not done.
    if (ec == bhttp::error::need_buffer)
      ec = {};
    if (ec == bhttp::error::body_limit)
      return abort_too_large();
    if (ec)
      return abort(
          ec.category()
                  == bhttp::make_error_code(bhttp::error::partial_message)
                         .category()
              ? outbound_error::protocol
              : outbound_error::connect,
          "reading the response body from " + pool_->label
              + " failed: " + ec.message());
    auto n = piece_.size() - stream_parser_->get().body().size;
    bool done = stream_parser_->is_done();
    auto next = [this, done] {
      if (done)
        return complete_response(stream_parser_->get(),
                                 stream_parser_->need_eof(), {});
      read_piece();
    };
    if (n == 0)
      return next();
    auto resume = [self = shared_from_this(), next](bool more) {
      net::post(self->pool_->strand, [self, next, more] {
        if (self->finished_)
          return;
        if (!more)
          return self->abort(outbound_error::shutdown,
                             "the body's reader stopped the request");
        next();
      });
    };
    try {
      req_.sink(std::string_view(piece_.data(), n), std::move(resume));
    } catch (const std::exception& e) {
      abort(outbound_error::invalid_request,
            std::string("the body sink threw: ") + e.what());
    }
  }

  void abort_too_large() {
    abort(outbound_error::too_large,
          "the response body from " + pool_->label + " exceeds the limit of "
              + std::to_string(options_.body_limit) + " bytes");
  }

  /// A stale pooled connection: the server closed it while it was idle,
  /// after the check in still_usable(). Once, on a fresh connection.
  bool may_retry(const beast::error_code& ec) const {
    return reused_ && !retried_ && closed(ec);
  }

  static bool closed(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof
           || ec == net::error::connection_reset
           || ec == net::error::broken_pipe
           || ec == net::error::connection_aborted
           || ec == ssl::error::stream_truncated;
  }

  void retry() {
    spdlog::debug("outbound connection {} to {} was closed by the server; "
                  "sending again on a new one",
                  conn_->id, pool_->label);
    retried_ = true;
    reused_ = false;
    conn_ = pool_->replace(conn_);
    resolve();
  }

  void finish(outbound_result r) {
    finished_ = true;
    end_phase();
    total_timer_.cancel();
    pool_->untrack(this);
    complete(std::move(r));
  }

  void complete(outbound_result r) {
    finished_ = true;
    --pool_->shared->in_flight;
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        clock_type::now() - started_);
    if (!r.ok())
      spdlog::debug("outbound {} {} failed ({}): {}", req_.method, pool_->label,
                    to_string(r.error), r.error_text);
    auto done = std::move(done_);
    try {
      done(std::move(r));
    } catch (const std::exception& e) {
      // A caller's bug must not end the client's io thread.
      spdlog::error("outbound callback for {} threw: {}", pool_->label,
                    e.what());
    }
  }

  std::shared_ptr<origin_pool> pool_;
  prepared_request req_;
  outbound_options options_;
  outbound_client::callback done_;
  clock_type::time_point started_;
  net::steady_timer total_timer_;
  net::steady_timer phase_timer_;
  tcp::resolver resolver_;
  std::shared_ptr<connection> conn_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> stream_parser_;
  /// The buffer a streamed body is read into, one piece at a time.
  std::vector<char> piece_;
  uint64_t phase_gen_ = 0;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
};

void origin_pool::acquire(const std::shared_ptr<exchange>& e) {
  if (shared->stopping)
    return e->abort(outbound_error::shutdown, "the client stopped");
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    --shared->idle;
    c->idle_timer.cancel();
    if (c->still_usable())
      return e->use(std::move(c), true);
    spdlog::debug("outbound connection {} to {} was closed while idle", c->id,
                  label);
    close_counted(c);
  }
  if (open_ < shared->cfg.max_connections_per_origin)
    return e->use(open_connection(), false);
  if (queue_.size() >= shared->cfg.max_queued_per_origin)
    return e->abort(outbound_error::overloaded,
                    "too many requests wait for a connection to " + label);
  queue_.push_back(e);
  ++shared->queued;
}

std::shared_ptr<connection> origin_pool::open_connection() {
  ++open_;
  ++shared->open;
  ++shared->opened;
  return std::make_shared<connection>(strand, tls_context_.get(), ++next_id_);
}

void origin_pool::close_counted(const std::shared_ptr<connection>& c) {
  c->close();
  --open_;
  --shared->open;
}

void origin_pool::release(std::shared_ptr<connection> c) {
  if (shared->stopping) {
    close_counted(c);
    return;
  }
  if (!queue_.empty()) {
    auto next = std::move(queue_.front());
    queue_.pop_front();
    --shared->queued;
    return next->use(std::move(c), true);
  }
  if (idle_.size() >= shared->cfg.max_idle_per_origin) {
    close_counted(c);
    return;
  }
  park(std::move(c));
}

void origin_pool::park(std::shared_ptr<connection> c) {
  c->idle_timer.expires_after(shared->cfg.idle_timeout);
  c->idle_timer.async_wait(
      [self = shared_from_this(),
       weak = std::weak_ptr<connection>(c)](beast::error_code ec) {
        auto c = weak.lock();
        if (ec || !c)
          return;
        auto it = std::find(self->idle_.begin(), self->idle_.end(), c);
        if (it == self->idle_.end())
          return;
        self->idle_.erase(it);
        --self->shared->idle;
        self->close_counted(c);
      });
  idle_.push_back(std::move(c));
  ++shared->idle;
}

void origin_pool::discard(const std::shared_ptr<connection>& c) {
  close_counted(c);
  pump();
}

std::shared_ptr<connection>
origin_pool::replace(const std::shared_ptr<connection>& old) {
  close_counted(old);
  return open_connection();
}

void origin_pool::pump() {
  if (queue_.empty() || open_ >= shared->cfg.max_connections_per_origin
      || shared->stopping)
    return;
  auto next = std::move(queue_.front());
  queue_.pop_front();
  --shared->queued;
  next->use(open_connection(), false);
}

void origin_pool::forget(const exchange* e) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [e](const auto& q) { return q.get() == e; });
  if (it != queue_.end()) {
    queue_.erase(it);
    --shared->queued;
  }
}

void origin_pool::shutdown() {
  for (auto& c : idle_) {
    --shared->idle;
    close_counted(c);
  }
  idle_.clear();
  // abort() changes running_: work on a copy. Queued requests are running
  // too (they were started and wait in queue_).
  auto running = running_;
  for (auto* e : running)
    e->abort(outbound_error::shutdown,
             "the client stopped before the request completed");
}

/// The SSL context of one set of TLS options: the system store, the
/// target's extra CA file, TLS 1.2 at least.
std::unique_ptr<ssl::context> make_tls_context(const outbound_tls_options& tls,
                                               std::string& error) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (tls.skip_cert_verify)
    return ctx;
  beast::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) {
    error = "cannot load the system CA store: " + ec.message();
    return nullptr;
  }
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      error = "cannot load ca_file " + tls.ca_file + ": " + ec.message();
      return nullptr;
    }
  }
  return ctx;
}

} // namespace

struct outbound_client::impl {
  explicit impl(outbound_client_config cfg)
      : guard(net::make_work_guard(ioc)),
        shared(std::make_shared<client_shared>(std::move(cfg))) {}

  /// The pool of `url`'s origin, created on first use; nullptr and `error`
  /// when its TLS context cannot be made (a missing ca_file): not cached,
  /// so that a file that appears later is read then.
  std::shared_ptr<origin_pool> pool_for(const http_url& url,
                                        const outbound_options& options,
                                        std::string& error) {
    const auto& tls = options.tls;
    auto label
        = std::string(url.tls ? "https://" : "http://") + url.host_header;
    auto key = label;
    if (url.tls)
      key += " ca_file=" + tls.ca_file
             + (tls.skip_cert_verify ? " insecure" : "");
    // A pooled connection was checked by the guard of the request that
    // opened it.
    if (options.guard)
      key += " guard=" + options.guard->key();
    std::lock_guard<std::mutex> lock(mtx);
    if (auto it = pools.find(key); it != pools.end())
      return it->second;
    std::unique_ptr<ssl::context> ctx;
    if (url.tls) {
      ctx = make_tls_context(tls, error);
      if (!ctx)
        return nullptr;
    }
    auto pool = std::make_shared<origin_pool>(ioc, shared, std::move(label),
                                              std::move(ctx));
    pools.emplace(std::move(key), pool);
    return pool;
  }

  // Declared first: destroyed last, after everything holding its objects.
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::shared_ptr<client_shared> shared;
  std::mutex mtx;
  std::map<std::string, std::shared_ptr<origin_pool>> pools;
  std::vector<std::thread> threads;
  bool stopped = false;
};

outbound_client::outbound_client(outbound_client_config cfg) {
  if (cfg.io_threads == 0)
    throw std::invalid_argument("outbound client: io_threads must be > 0");
  if (cfg.max_connections_per_origin == 0)
    throw std::invalid_argument(
        "outbound client: max_connections_per_origin must be > 0");
  impl_ = std::make_unique<impl>(std::move(cfg));
  for (size_t i = 0; i < impl_->shared->cfg.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

outbound_client::~outbound_client() {
  stop();
}

namespace {

/// An answer posted to the io context for a request refused in `send()`.
/// Runs its callback exactly once: when the handler runs, or, when
/// `stop()` left the handler unrun and the io context destroys it with the
/// client, from the destructor with `shutdown`. A throwing callback is
/// logged, never lets an exception out of an io thread.
class posted_answer {
public:
  posted_answer(outbound_client::callback done, outbound_result r)
      : done_(std::move(done)), result_(std::move(r)) {}
  posted_answer(const posted_answer&) = delete;
  posted_answer& operator=(const posted_answer&) = delete;
  ~posted_answer() {
    if (done_)
      deliver(failure(outbound_error::shutdown, "the client stopped"));
  }
  void run() {
    deliver(std::move(result_));
  }

private:
  void deliver(outbound_result r) {
    auto done = std::move(done_);
    done_ = nullptr;
    try {
      done(std::move(r));
    } catch (const std::exception& e) {
      spdlog::error("outbound callback of a refused request threw: {}",
                    e.what());
    }
  }

  outbound_client::callback done_;
  outbound_result result_;
};

} // namespace

void outbound_client::send(outbound_request req, callback done) {
  auto started = clock_type::now();
  auto& shared = *impl_->shared;
  auto answer_now = [&](outbound_result r) {
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        clock_type::now() - started);
    if (shared.stopping) {
      done(std::move(r));
      return;
    }
    // Never from inside send(): a caller holding a lock would deadlock.
    auto answer
        = std::make_shared<posted_answer>(std::move(done), std::move(r));
    net::post(impl_->ioc, [answer] { answer->run(); });
  };
  if (shared.stopping)
    return answer_now(failure(outbound_error::shutdown, "the client stopped"));
  prepared_request prepared;
  if (auto refused = prepare(req, shared.cfg.user_agent, prepared))
    return answer_now(std::move(*refused));
  std::string error;
  auto pool = impl_->pool_for(prepared.url, req.options, error);
  if (!pool)
    return answer_now(failure(outbound_error::tls, std::move(error)));
  auto e = std::make_shared<exchange>(pool, std::move(prepared),
                                      std::move(req.options), std::move(done),
                                      started);
  net::post(pool->strand, [e] { e->start(); });
}

outbound_result outbound_client::send_and_wait(outbound_request req) {
  if (impl_->ioc.get_executor().running_in_this_thread())
    return failure(outbound_error::invalid_request,
                   "send_and_wait on the client's own thread");
  std::promise<outbound_result> promise;
  auto future = promise.get_future();
  send(std::move(req),
       [&promise](outbound_result r) { promise.set_value(std::move(r)); });
  return future.get();
}

outbound_stats outbound_client::stats() const {
  auto& s = *impl_->shared;
  outbound_stats out;
  out.connections_opened = s.opened;
  out.open_connections = s.open;
  out.idle_connections = s.idle;
  out.queued_requests = s.queued;
  out.in_flight = s.in_flight;
  return out;
}

void outbound_client::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  auto& shared = *impl_->shared;
  shared.stopping = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mtx);
    for (auto& [key, pool] : impl_->pools)
      net::post(pool->strand, [pool = pool] { pool->shutdown(); });
  }
  impl_->guard.reset();
  auto deadline = clock_type::now() + shared.cfg.shutdown_grace;
  while (shared.in_flight > 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // poll step
  // What is left (a name resolution that outlived the grace) is answered
  // `shutdown` when the io_context destroys its handlers.
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  impl_->threads.clear();
}

} // namespace regevent
