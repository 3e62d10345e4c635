#include "http/server.hpp"
#include "http/wire_request.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace regevent {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

void fail(beast::error_code ec, const char* what) {
  // Peers that vanish are routine for a server; everything else is news.
  if (ec == net::error::operation_aborted || ec == beast::error::timeout
      || ec == net::error::connection_reset || ec == net::error::broken_pipe
      || ec == bhttp::error::end_of_stream || ec == net::error::eof
      || ec == ssl::error::stream_truncated)
    spdlog::debug("http {}: {}", what, ec.message());
  else
    spdlog::warn("http {}: {}", what, ec.message());
}

struct shared_state {
  shared_state(const config& c, http_server::handler h)
      : cfg(c), on_request(std::move(h)) {}
  const config& cfg;
  http_server::handler on_request;
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> next_id{0};
  std::string id_prefix;

  /// The SSL context new connections handshake with; null: plain HTTP. A
  /// reload swaps it, and each session keeps the one it started with.
  std::shared_ptr<ssl::context> tls_context() {
    std::lock_guard<std::mutex> lock(tls_mtx);
    return tls;
  }
  void set_tls_context(std::shared_ptr<ssl::context> c) {
    std::lock_guard<std::mutex> lock(tls_mtx);
    tls = std::move(c);
  }

private:
  std::mutex tls_mtx;
  std::shared_ptr<ssl::context> tls;
};

/// Mozilla's "intermediate" TLS 1.2 suites: forward secret AEAD only. TLS
/// 1.3 has only such suites, and OpenSSL's default list of them stays.
constexpr const char* tls12_ciphers
    = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
      "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

/// The listener's SSL context from the tls.* files; null and `error` when
/// one cannot be used.
std::shared_ptr<ssl::context> make_server_context(const config& cfg,
                                                  std::string& error) {
  const auto& tls = cfg.tls;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(
      native, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Renegotiation a client starts costs the server a handshake each time
  // at no cost to the client.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_cipher_list(native, tls12_ciphers);
  beast::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) {
    error
        = "tls.cert_file: cannot use '" + tls.cert_file + "': " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) {
    error = "tls.key_file: cannot use '" + tls.key_file + "': " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "tls.key_file: '" + tls.key_file
            + "' is not the key of tls.cert_file";
    return nullptr;
  }
  if (!tls.client_ca_file.empty()) {
    ctx->load_verify_file(tls.client_ca_file, ec);
    auto* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (ec || !names) {
      if (names)
        sk_X509_NAME_pop_free(names, X509_NAME_free);
      error = "tls.client_ca_file: cannot use '" + tls.client_ca_file
              + "': " + (ec ? ec.message() : "no certificate in it");
      return nullptr;
    }
    // Tells clients which CAs to pick a certificate for.
    SSL_CTX_set_client_CA_list(native, names);
    // Asked for, not required: the API keeps its tokens, and only the
    // notification endpoint insists (router). One that is presented
    // must verify, or the handshake fails.
    ctx->set_verify_mode(ssl::verify_peer);
    // Resumed sessions keep the verified certificate only with a session
    // id context; without one OpenSSL refuses to resume them.
    static const unsigned char id[] = "regevent";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
  }
  return ctx;
}

/// Bytes that may not appear in a response header's name or value.
const std::string field_breaks("\r\n\0", 3);

bool sane_request_id(beast::string_view v) {
  if (v.empty() || v.size() > 128)
    return false;
  for (char c : v)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// One connection: `Stream` is plain_stream or tls_stream.
template<class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
  /// `tls` is null for a plain_stream.
  session(tcp::socket&& socket, shared_state& shared,
          std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(make_stream(std::move(socket))),
        shared_(shared) {
    ++shared_.connections;
    beast::error_code ec;
    auto ep = lowest().socket().remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~session() {
    --shared_.connections;
  }

  void run() {
    net::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&session::start, this->shared_from_this()));
  }

  /// Called on the strand with the answer of request `id`.
  void complete(uint64_t id, http_response r) {
    if (id < first_slot_id_ || id - first_slot_id_ >= slots_.size())
      return;
    auto& slot = slots_[id - first_slot_id_];
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(slot.version);
    res->result(r.status);
    res->set(bhttp::field::server, "regevent");
    res->set(bhttp::field::content_type, r.content_type);
    res->set("X-Request-Id", slot.request_id);
    for (auto& [name, value] : r.headers) {
      // Beast writes field values as given: a CR or LF would end this
      // field and start one the handler never meant (response splitting).
      if (name.find_first_of(field_breaks) != std::string::npos
          || value.find_first_of(field_breaks) != std::string::npos) {
        spdlog::error("http drops a response header with CR, LF or NUL in "
                      "it (request {})",
                      slot.request_id);
        continue;
      }
      res->set(name, value);
    }
    res->keep_alive(slot.keep_alive && !closing_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (slot.head)
      res->body().clear();
    slot.response = std::move(res);
    --shared_.in_flight;
    do_write();
  }

private:
  Stream make_stream(tcp::socket&& socket) {
    if constexpr (is_tls)
      return Stream(std::move(socket), *tls_);
    else
      return Stream(std::move(socket));
  }

  beast::tcp_stream& lowest() {
    return beast::get_lowest_layer(stream_);
  }

  void start() {
    if constexpr (is_tls) {
      lowest().expires_after(
          std::chrono::milliseconds(shared_.cfg.http.read_timeout_ms));
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&session::on_handshake,
                                    this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      // A refused client certificate ends here too: the client learns it
      // from the alert, the operator from this line.
      spdlog::info("http {} TLS handshake failed: {}", remote_, ec.message());
      return;
    }
    if constexpr (is_tls) {
      auto* native = stream_.native_handle();
      if (X509* peer = SSL_get1_peer_certificate(native)) {
        client_certificate_ = SSL_get_verify_result(native) == X509_V_OK;
        X509_free(peer);
      }
    }
    do_read();
  }

  struct slot {
    unsigned version = 11;
    bool keep_alive = true;
    /// A HEAD request: its answer has the headers of a GET and no body.
    bool head = false;
    std::string request_id;
    std::shared_ptr<bhttp::response<bhttp::string_body>> response;
  };

  /// Delivers an actor's answer onto this connection's strand.
  class connection_responder : public reply_sink {
  public:
    connection_responder(std::shared_ptr<session> s, uint64_t id)
        : session_(std::move(s)), id_(id) {}
    /// A handler that lost the request (an actor gone, a message dropped)
    /// still gets the request answered.
    ~connection_responder() override {
      if (session_)
        reply(unavailable("the request was dropped without an answer",
                          session_->shared_.cfg.ingest.retry_after_s));
    }
    void reply(http_response r) override {
      auto s = std::move(session_);
      if (!s)
        return;
      auto id = id_;
      net::post(s->stream_.get_executor(), [s, id, r = std::move(r)]() mutable {
        s->complete(id, std::move(r));
      });
    }

  private:
    std::shared_ptr<session> session_;
    uint64_t id_;
  };

  void do_read() {
    if (closing_ || reading_ || slots_.size() >= shared_.cfg.http.max_pipeline)
      return;
    parser_.emplace();
    parser_->body_limit(shared_.cfg.http.body_limit);
    parser_->header_limit(
        static_cast<std::uint32_t>(shared_.cfg.http.header_limit));
    reading_ = true;
    lowest().expires_after(
        std::chrono::milliseconds(shared_.cfg.http.idle_timeout_ms));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_header,
                                  this->shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read(ec, 0);
    lowest().expires_after(
        std::chrono::milliseconds(shared_.cfg.http.read_timeout_ms));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  /// Answers a request the parser refused, then closes.
  void reject(unsigned status, const std::string& code,
              const std::string& message) {
    closing_ = true;
    slots_.push_back({11, false, false, new_request_id({}), nullptr});
    ++shared_.in_flight;
    http_response r;
    r.status = status;
    r.body = "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message
             + "\"}]}";
    complete(first_slot_id_ + slots_.size() - 1, std::move(r));
  }

  std::string new_request_id(beast::string_view given) {
    if (sane_request_id(given))
      return std::string(given);
    return shared_.id_prefix + std::to_string(++shared_.next_id);
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    // A TLS client that closes without close_notify truncates the
    // stream; between requests that is an ordinary end.
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof
        || ec == ssl::error::stream_truncated) {
      closing_ = true;
      if (slots_.empty())
        do_close();
      return;
    }
    if (ec == bhttp::error::body_limit) {
      spdlog::info("http {} sent a body over {} bytes", remote_,
                   shared_.cfg.http.body_limit);
      return reject(413, "PAYLOAD_TOO_LARGE",
                    "body exceeds "
                        + std::to_string(shared_.cfg.http.body_limit)
                        + " bytes");
    }
    if (ec == bhttp::error::header_limit)
      return reject(431, "HEADERS_TOO_LARGE", "request headers too large");
    if (ec == beast::error::timeout) {
      fail(ec, "read");
      closing_ = true;
      if (slots_.empty())
        return do_close();
      return;
    }
    if (ec
        && ec.category()
               == bhttp::make_error_code(bhttp::error::bad_target).category())
      return reject(400, "BAD_REQUEST", "malformed HTTP request");
    if (ec) {
      fail(ec, "read");
      closing_ = true;
      return;
    }
    auto req = parser_->release();
    slot s;
    s.version = req.version();
    s.keep_alive = req.keep_alive();
    s.head = req.method() == bhttp::verb::head;
    s.request_id = new_request_id(req["X-Request-Id"]);
    auto in = to_incoming(req, s.request_id, remote_);
    in.client_certificate = client_certificate_;
    if (!s.keep_alive)
      closing_ = true;
    slots_.push_back(std::move(s));
    ++shared_.in_flight;
    auto id = first_slot_id_ + slots_.size() - 1;
    auto reply_to
        = std::make_shared<connection_responder>(this->shared_from_this(), id);
    try {
      shared_.on_request(std::move(in), reply_to);
    } catch (const std::exception& e) {
      // A bug must cost one request, not the daemon. A responder answers
      // once: this is a no-op when the handler already replied.
      spdlog::error("http handler failed on {}: {}", remote_, e.what());
      reply_to->reply(error_response(500, "INTERNAL", "internal error"));
    }
    do_read();
  }

  void do_write() {
    if (writing_ || slots_.empty() || !slots_.front().response)
      return;
    writing_ = true;
    lowest().expires_after(
        std::chrono::milliseconds(shared_.cfg.http.write_timeout_ms));
    auto res = slots_.front().response;
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(),
                        res](beast::error_code ec, std::size_t) {
                         self->on_write(ec, res->need_eof());
                       });
  }

  void on_write(beast::error_code ec, bool close) {
    writing_ = false;
    if (ec) {
      fail(ec, "write");
      return;
    }
    slots_.pop_front();
    ++first_slot_id_;
    if (close || (closing_ && slots_.empty() && !reading_))
      return do_close();
    if (!slots_.empty()) {
      // A slot is free again: read on while later answers are pending,
      // instead of only once the whole pipeline has drained.
      do_read();
      return do_write();
    }
    if (reading_)
      lowest().expires_after(
          std::chrono::milliseconds(shared_.cfg.http.idle_timeout_ms));
    do_read();
  }

  void do_close() {
    if constexpr (is_tls) {
      // close_notify, so that the client can tell the end from a cut; the
      // socket closes with the session once this completes or times out.
      lowest().expires_after(
          std::chrono::milliseconds(shared_.cfg.http.write_timeout_ms));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  /// Outlives stream_, which refers to it.
  std::shared_ptr<ssl::context> tls_;
  Stream stream_;
  beast::flat_buffer buffer_;
  shared_state& shared_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::deque<slot> slots_;
  uint64_t first_slot_id_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool client_certificate_ = false;
  std::string remote_;
};

class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ioc, tcp::endpoint endpoint, shared_state& shared)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(shared) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

  void run() {
    do_accept();
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

private:
  void do_accept() {
    acceptor_.async_accept(
        net::make_strand(ioc_),
        beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted)
      return;
    if (ec) {
      fail(ec, "accept");
    } else if (shared_.connections.load()
               >= static_cast<int64_t>(shared_.cfg.http.max_connections)) {
      spdlog::warn("http refuses a connection: {} open, at "
                   "http.max_connections",
                   shared_.connections.load());
      beast::error_code ignored;
      socket.close(ignored);
    } else if (auto tls = shared_.tls_context()) {
      std::make_shared<session<tls_stream>>(std::move(socket), shared_,
                                            std::move(tls))
          ->run();
    } else {
      std::make_shared<session<plain_stream>>(std::move(socket), shared_,
                                              nullptr)
          ->run();
    }
    if (acceptor_.is_open())
      do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  shared_state& shared_;
};

} // namespace

incoming_request to_incoming(bhttp::request<bhttp::string_body>& req,
                             std::string request_id, std::string remote) {
  incoming_request in;
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  in.authorization = std::string(req[bhttp::field::authorization]);
  in.content_type = std::string(req[bhttp::field::content_type]);
  in.is_resource_name = std::string(req["X-Is-Resource-Name"]);
  in.body = std::move(req.body());
  in.request_id = std::move(request_id);
  in.remote = std::move(remote);
  return in;
}

struct http_server::impl {
  impl(const config& cfg, handler on_request)
      : ioc(static_cast<int>(cfg.http.io_threads)),
        shared(cfg, std::move(on_request)) {
    shared.id_prefix
        = std::to_string(
              std::chrono::system_clock::now().time_since_epoch().count()
              % 1'000'000'000)
          + "-";
  }
  net::io_context ioc;
  shared_state shared;
  std::shared_ptr<listener> accept;
  std::vector<std::thread> threads;
};

http_server::http_server(const config& cfg, handler on_request)
    : impl_(std::make_unique<impl>(cfg, std::move(on_request))) {}

http_server::~http_server() {
  stop();
}

uint16_t http_server::start() {
  const auto& cfg = impl_->shared.cfg;
  // The first load is a reload with nothing to keep.
  if (auto error = reload_tls(); !error.empty())
    throw std::runtime_error(error);
  auto address = net::ip::make_address(cfg.listen_host);
  impl_->accept = std::make_shared<listener>(
      impl_->ioc, tcp::endpoint{address, cfg.listen_port}, impl_->shared);
  impl_->accept->run();
  for (size_t i = 0; i < cfg.http.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return impl_->accept->port();
}

std::string http_server::reload_tls() {
  const auto& cfg = impl_->shared.cfg;
  if (cfg.tls.cert_file.empty())
    return {};
  std::string error;
  auto ctx = make_server_context(cfg, error);
  if (ctx)
    impl_->shared.set_tls_context(std::move(ctx));
  return error;
}

void http_server::stop_accepting() {
  if (impl_->accept)
    impl_->accept->stop();
}

bool http_server::wait_idle(std::chrono::steady_clock::time_point deadline) {
  while (impl_->shared.in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void http_server::stop() {
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  impl_->threads.clear();
}

} // namespace regevent
