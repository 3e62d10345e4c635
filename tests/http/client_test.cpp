// The outbound client against real servers on 127.0.0.1 port 0: a small
// blocking Beast server whose answers each test scripts (scripted_server),
// plain or TLS with certificates made by the openssl CLI per suite.

#include "http/client.hpp"

#include "http/address_guard.hpp"
#include "http/beast_http.hpp"

#include "tests/fixtures/poll.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

/// How long a test waits for something that should happen at once.
constexpr auto patience = 10s;

/// One request as the server read it.
struct seen_request {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;
  /// Which accepted connection carried it (1 for the first).
  size_t connection = 0;
  /// Its place on that connection (1 for the first).
  size_t on_connection = 0;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// What the server does with one request.
struct scripted_reply {
  enum class kind {
    answer,
    /// Close the connection without answering (a server that gave up on a
    /// connection the client had just written to).
    drop,
    /// Never answer (until the server stops).
    hang,
  };
  kind what = kind::answer;
  /// Wait for release() before answering.
  bool held = false;
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Chunked transfer coding instead of a Content-Length.
  bool chunked = false;
  /// Close after answering although the answer keeps the connection alive
  /// (a server's idle timeout).
  bool close_after = false;
};

using script = std::function<scripted_reply(const seen_request&)>;

scripted_reply echo(const seen_request& r) {
  scripted_reply reply;
  reply.body = r.method + " " + r.target + " " + r.body;
  return reply;
}

/// A real HTTP/1.1 server (TLS with a context) on 127.0.0.1 port 0, a
/// thread per connection, answering as the test's script says and
/// counting connections.
class scripted_server {
public:
  explicit scripted_server(script s = echo,
                           std::shared_ptr<ssl::context> tls = nullptr)
      : script_(std::move(s)),
        tls_(std::move(tls)),
        acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~scripted_server() {
    {
      std::lock_guard<std::mutex> lock(mtx_);
      stopping_ = true;
      for (int fd : fds_)
        ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    // Wakes the blocking accept.
    tcp::socket wake(ioc_);
    beast::error_code ignored;
    wake.connect({net::ip::make_address("127.0.0.1"), port_}, ignored);
    accept_thread_.join();
    for (auto& t : connection_threads_)
      t.join();
  }

  uint16_t port() const {
    return port_;
  }

  std::string url(const std::string& target = "/",
                  const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + host + ":"
           + std::to_string(port_) + target;
  }

  /// Lets held answers go.
  void release() {
    {
      std::lock_guard<std::mutex> lock(mtx_);
      released_ = true;
    }
    cv_.notify_all();
  }

  size_t accepted() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return accepted_;
  }
  /// Connections the client closed (a read of end of stream).
  size_t closed_by_client() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return closed_by_client_;
  }
  /// Connections the server closed (drop or close_after), counted once the
  /// socket is closed.
  size_t closed_by_server() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return closed_by_server_;
  }
  std::vector<seen_request> requests() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return requests_;
  }
  /// The SNI of each TLS connection ("" without one).
  std::vector<std::string> server_names() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return server_names_;
  }

private:
  enum class ending { client_closed, server_closed, stopped };

  void accept_loop() {
    for (;;) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      std::lock_guard<std::mutex> lock(mtx_);
      if (stopping_ || ec)
        return;
      auto n = ++accepted_;
      fds_.push_back(socket.native_handle());
      connection_threads_.emplace_back(
          [this, n, s = std::move(socket)]() mutable { serve(s, n); });
    }
  }

  void serve(tcp::socket& socket, size_t n) {
    auto end = ending::stopped;
    if (tls_) {
      ssl::stream<tcp::socket&> stream(socket, *tls_);
      beast::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) {
        const char* name = SSL_get_servername(stream.native_handle(),
                                              TLSEXT_NAMETYPE_host_name);
        {
          std::lock_guard<std::mutex> lock(mtx_);
          server_names_.emplace_back(name ? name : "");
        }
        end = converse(stream, n);
        // A close_notify as a server sends before its FIN, without
        // waiting for the client's.
        if (end == ending::server_closed)
          SSL_shutdown(stream.native_handle());
      }
    } else {
      end = converse(socket, n);
    }
    std::lock_guard<std::mutex> lock(mtx_);
    fds_.erase(std::find(fds_.begin(), fds_.end(), socket.native_handle()));
    beast::error_code ignored;
    socket.close(ignored);
    if (end == ending::client_closed)
      ++closed_by_client_;
    else if (end == ending::server_closed)
      ++closed_by_server_;
  }

  template<class Stream>
  ending converse(Stream& stream, size_t n) {
    beast::flat_buffer buffer;
    for (size_t i = 1;; ++i) {
      bhttp::request<bhttp::string_body> req;
      beast::error_code ec;
      bhttp::read(stream, buffer, req, ec);
      if (ec)
        return stopping() ? ending::stopped : ending::client_closed;
      seen_request seen;
      seen.method = std::string(req.method_string());
      seen.target = std::string(req.target());
      seen.body = req.body();
      for (auto& field : req)
        seen.headers[std::string(field.name_string())]
            = std::string(field.value());
      seen.connection = n;
      seen.on_connection = i;
      {
        std::lock_guard<std::mutex> lock(mtx_);
        requests_.push_back(seen);
      }
      auto reply = script_(seen);
      if (reply.what == scripted_reply::kind::drop)
        return ending::server_closed;
      {
        std::unique_lock<std::mutex> lock(mtx_);
        if (reply.what == scripted_reply::kind::hang) {
          cv_.wait(lock, [this] { return stopping_; });
          return ending::stopped;
        }
        if (reply.held)
          cv_.wait(lock, [this] { return stopping_ || released_; });
        if (stopping_)
          return ending::stopped;
      }
      bhttp::response<bhttp::string_body> res{
          static_cast<bhttp::status>(reply.status), req.version()};
      for (auto& [name, value] : reply.headers)
        res.insert(name, value);
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      if (reply.chunked)
        res.chunked(true);
      else
        res.prepare_payload();
      bhttp::write(stream, res, ec);
      if (ec)
        return stopping() ? ending::stopped : ending::client_closed;
      if (reply.close_after || !req.keep_alive())
        return ending::server_closed;
    }
  }

  bool stopping() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return stopping_;
  }

  script script_;
  std::shared_ptr<ssl::context> tls_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool released_ = false;
  std::vector<int> fds_;
  size_t accepted_ = 0;
  size_t closed_by_client_ = 0;
  size_t closed_by_server_ = 0;
  std::vector<seen_request> requests_;
  std::vector<std::string> server_names_;
};

/// Results of asynchronous sends, in completion order.
class collector {
public:
  outbound_client::callback add() {
    return [this](outbound_result r) {
      std::lock_guard<std::mutex> lock(mtx_);
      results_.push_back(std::move(r));
    };
  }
  bool wait_for(size_t n) {
    return poll_until(
        [&] {
          std::lock_guard<std::mutex> lock(mtx_);
          return results_.size() >= n;
        },
        patience);
  }
  std::vector<outbound_result> results() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return results_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<outbound_result> results_;
};

outbound_request make_request(const std::string& url,
                              const std::string& method = "GET",
                              std::string body = {}) {
  outbound_request r;
  r.method = method;
  r.url = url;
  r.body = std::move(body);
  return r;
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
uint16_t closed_port() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::string describe(const outbound_result& r) {
  return std::string(to_string(r.error)) + ": " + r.error_text + " (status "
         + std::to_string(r.status) + ")";
}

/// A timeout of the phase `phase` names, ended by its own `limit` (the
/// total timeout is the default, far longer).
void expect_timeout(const outbound_result& r, const std::string& phase,
                    std::chrono::milliseconds limit) {
  EXPECT_EQ(r.error, outbound_error::timeout) << describe(r);
  EXPECT_NE(r.error_text.find(phase), std::string::npos) << r.error_text;
  EXPECT_GE(r.latency, limit);
  EXPECT_LT(r.latency, 5s) << "not ended by " << phase;
}

// --- plain HTTP ------------------------------------------------------------

TEST(outbound_client, get_and_post_round_trip_with_headers_and_body) {
  scripted_server server([](const seen_request& r) {
    scripted_reply reply;
    reply.status = 201;
    reply.headers = {{"X-Reply", "yes"}, {"Content-Type", "text/plain"}};
    reply.body = "made " + r.body;
    return reply;
  });
  outbound_client client;

  auto get = make_request(server.url("/a/b/?x=1&y=%20z"));
  get.headers = {{"X-Trace", "t1"}};
  auto r = client.send_and_wait(get);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.header("x-reply"), "yes") << "header lookup is case-insensitive";
  EXPECT_EQ(r.body, "made ");
  EXPECT_GT(r.latency.count(), 0);

  auto post = make_request(server.url("/hooks"), "POST", R"({"a":1})");
  post.headers = {{"Content-Type", "application/json"},
                  {"User-Agent", "regevent-webhook"}};
  r = client.send_and_wait(post);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.body, R"(made {"a":1})");

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/a/b/?x=1&y=%20z");
  EXPECT_EQ(seen[0].header("X-Trace"), "t1");
  EXPECT_EQ(seen[0].header("Host"),
            "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].header("User-Agent"), defaults::outbound::user_agent);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].target, "/hooks");
  EXPECT_EQ(seen[1].body, R"({"a":1})");
  EXPECT_EQ(seen[1].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[1].header("User-Agent"), "regevent-webhook")
      << "a caller's User-Agent replaces the default";
}

TEST(outbound_client, keep_alive_reuses_one_connection) {
  scripted_server server;
  outbound_client client;
  for (int i = 0; i < 5; ++i) {
    auto r = client.send_and_wait(
        make_request(server.url("/n" + std::to_string(i))));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_EQ(r.body, "GET /n" + std::to_string(i) + " ");
  }
  EXPECT_EQ(server.accepted(), 1u);
  auto stats = client.stats();
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.idle_connections, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST(outbound_client, pool_bounds_connections_per_origin) {
  scripted_server server([](const seen_request& r) {
    auto reply = echo(r);
    reply.held = true;
    return reply;
  });
  outbound_client_config cfg;
  cfg.max_connections_per_origin = 2;
  // Two io threads: the pool's bookkeeping must hold across them.
  cfg.io_threads = 2;
  outbound_client client(cfg);
  collector results;
  for (int i = 0; i < 5; ++i)
    client.send(make_request(server.url()), results.add());
  // Two requests reach the server; the client holds the other three.
  ASSERT_TRUE(poll_until(
      [&] {
        return server.requests().size() == 2
               && client.stats().queued_requests == 3;
      },
      patience));
  EXPECT_EQ(client.stats().open_connections, 2u);
  server.release();
  ASSERT_TRUE(results.wait_for(5));
  for (auto& r : results.results())
    EXPECT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(server.accepted(), 2u);
  EXPECT_EQ(server.requests().size(), 5u);
}

TEST(outbound_client, pool_keeps_at_most_max_idle_connections) {
  scripted_server server([](const seen_request& r) {
    auto reply = echo(r);
    reply.held = true;
    return reply;
  });
  outbound_client_config cfg;
  cfg.max_connections_per_origin = 3;
  cfg.max_idle_per_origin = 1;
  outbound_client client(cfg);
  collector results;
  for (int i = 0; i < 3; ++i)
    client.send(make_request(server.url()), results.add());
  ASSERT_TRUE(
      poll_until([&] { return server.requests().size() == 3; }, patience));
  EXPECT_EQ(server.accepted(), 3u);
  server.release();
  ASSERT_TRUE(results.wait_for(3));
  // One connection stays in the pool, the client closes the other two.
  ASSERT_TRUE(
      poll_until([&] { return server.closed_by_client() == 2; }, patience));
  EXPECT_EQ(client.stats().idle_connections, 1u);
  EXPECT_EQ(client.stats().open_connections, 1u);
  auto r = client.send_and_wait(make_request(server.url()));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(server.accepted(), 3u) << "the idle connection was reused";
}

TEST(outbound_client, connection_the_server_closed_while_idle_is_not_used) {
  // The first answer keeps the connection alive, then the server closes
  // it, as on its idle timeout.
  scripted_server server([](const seen_request& r) {
    auto reply = echo(r);
    reply.close_after = r.connection == 1;
    return reply;
  });
  outbound_client client;
  auto r = client.send_and_wait(make_request(server.url()));
  ASSERT_TRUE(r.ok()) << describe(r);
  ASSERT_TRUE(
      poll_until([&] { return server.closed_by_server() == 1; }, patience));
  // A POST is never sent twice: this one succeeds only because the closed
  // connection is found out before writing.
  r = client.send_and_wait(make_request(server.url("/p"), "POST", "once"));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.body, "POST /p once");
  EXPECT_EQ(server.accepted(), 2u);
  EXPECT_EQ(server.requests().size(), 2u);
}

/// Drops the second request of the first connection unanswered: the race of
/// a server closing a kept-alive connection just as the client reuses it.
scripted_reply drop_second_on_first(const seen_request& r) {
  if (r.connection == 1 && r.on_connection == 2) {
    scripted_reply reply;
    reply.what = scripted_reply::kind::drop;
    return reply;
  }
  return echo(r);
}

TEST(outbound_client, stale_connection_retries_an_idempotent_request_once) {
  scripted_server server(drop_second_on_first);
  outbound_client client;
  ASSERT_TRUE(client.send_and_wait(make_request(server.url("/1"))).ok());
  auto r = client.send_and_wait(make_request(server.url("/2")));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.body, "GET /2 ");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u) << "the dropped GET went again, once";
  EXPECT_EQ(seen[2].connection, 2u) << "on a fresh connection";
  EXPECT_EQ(server.accepted(), 2u);
}

TEST(outbound_client, stale_connection_does_not_repeat_a_post) {
  scripted_server server(drop_second_on_first);
  outbound_client client;
  ASSERT_TRUE(client.send_and_wait(make_request(server.url("/1"))).ok());
  auto r = client.send_and_wait(make_request(server.url("/2"), "POST", "x"));
  EXPECT_EQ(r.error, outbound_error::connect) << describe(r);
  EXPECT_NE(r.error_text.find("closed the connection"), std::string::npos)
      << r.error_text;
  EXPECT_EQ(server.requests().size(), 2u) << "the POST reached it once";
  EXPECT_EQ(server.accepted(), 1u);
}

TEST(outbound_client, connect_timeout_is_a_timeout) {
  // A listener whose accept queue is full: the kernel drops further SYNs,
  // so a connect neither succeeds nor fails.
  net::io_context ioc;
  tcp::acceptor acceptor(ioc);
  acceptor.open(tcp::v4());
  acceptor.bind({net::ip::make_address("127.0.0.1"), 0});
  acceptor.listen(0);
  auto port = acceptor.local_endpoint().port();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fillers;
  bool stalled = false;
  for (int i = 0; i < 16 && !stalled; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    fillers.push_back(fd);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    pollfd p{fd, POLLOUT, 0};
    stalled = ::poll(&p, 1, 200) == 0; // a connect in progress after 200 ms
  }
  ASSERT_TRUE(stalled) << "the kernel accepted every connection";
  outbound_client client;
  auto req = make_request("http://127.0.0.1:" + std::to_string(port) + "/");
  req.options.connect_timeout = 300ms;
  auto r = client.send_and_wait(req);
  for (int fd : fillers)
    ::close(fd);
  expect_timeout(r, "connecting to", 300ms);
}

TEST(outbound_client, server_that_never_answers_hits_the_total_timeout) {
  scripted_server server([](const seen_request&) {
    scripted_reply reply;
    reply.what = scripted_reply::kind::hang;
    return reply;
  });
  outbound_client client;
  auto req = make_request(server.url());
  req.options.total_timeout = 300ms;
  auto r = client.send_and_wait(req);
  expect_timeout(r, "total timeout", 300ms);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(client.stats().open_connections, 0u)
      << "a timed-out connection is not pooled";
}

TEST(outbound_client, body_over_the_limit_is_too_large) {
  // With a Content-Length (checked before the body is read) and chunked
  // (counted while it is read).
  scripted_server server([](const seen_request& r) {
    scripted_reply reply;
    reply.body = std::string(1000, 'x');
    reply.chunked = r.target == "/chunked";
    return reply;
  });
  outbound_client client;
  for (auto target : {"/length", "/chunked"}) {
    auto req = make_request(server.url(target));
    req.options.body_limit = 1000;
    auto r = client.send_and_wait(req);
    ASSERT_TRUE(r.ok()) << target << ": " << describe(r);
    EXPECT_EQ(r.body.size(), 1000u) << "a body of exactly the limit passes";
    req.options.body_limit = 999;
    r = client.send_and_wait(req);
    EXPECT_EQ(r.error, outbound_error::too_large)
        << target << ": " << describe(r);
    EXPECT_TRUE(r.body.empty()) << "never a truncated body";
    EXPECT_EQ(r.status, 0u);
  }
}

TEST(outbound_client, body_sink_takes_a_2xx_body_in_pieces_as_it_asks) {
  const std::string big = [] {
    std::string b(1 << 20, '\0');
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = static_cast<char>('a' + i % 26);
    return b;
  }();
  scripted_server server([&](const seen_request& r) {
    scripted_reply reply;
    reply.body = r.target == "/missing" ? "nope" : big;
    reply.status = r.target == "/missing" ? 404 : 200;
    reply.chunked = r.target == "/chunked";
    return reply;
  });
  outbound_client client;
  // The sink hands each resume to this thread, which calls it: the client
  // must not read on (nor call the sink) before.
  std::mutex mtx;
  std::condition_variable cv;
  std::function<void(bool)> pending;
  std::string got;
  size_t pieces = 0;
  bool overlapped = false;
  auto sink = [&](std::string_view piece, std::function<void(bool)> resume) {
    std::lock_guard<std::mutex> lock(mtx);
    overlapped = overlapped || pending != nullptr;
    EXPECT_LE(piece.size(), defaults::outbound::stream_piece_size);
    got.append(piece.data(), piece.size());
    ++pieces;
    pending = std::move(resume);
    cv.notify_all();
  };
  auto run = [&](outbound_request req, bool stop_after_first) {
    std::promise<outbound_result> promise;
    auto future = promise.get_future();
    client.send(std::move(req), [&promise](outbound_result r) {
      promise.set_value(std::move(r));
    });
    for (;;) {
      std::unique_lock<std::mutex> lock(mtx);
      if (!cv.wait_for(lock, 50ms, [&] { return pending != nullptr; })) {
        if (future.wait_for(0ms) == std::future_status::ready)
          return future.get();
        continue;
      }
      auto resume = std::move(pending);
      pending = nullptr;
      lock.unlock();
      resume(!stop_after_first);
    }
  };
  for (auto target : {"/length", "/chunked"}) {
    got.clear();
    pieces = 0;
    auto req = make_request(server.url(target));
    req.body_sink = sink;
    auto r = run(req, false);
    ASSERT_TRUE(r.ok()) << target << ": " << describe(r);
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body.empty());
    EXPECT_TRUE(got == big) << target << ": " << got.size() << " bytes";
    EXPECT_GE(pieces, big.size() / defaults::outbound::stream_piece_size);
    EXPECT_FALSE(overlapped) << "the sink was called before resume";
  }
  // An error document is collected, never streamed.
  got.clear();
  auto missing = make_request(server.url("/missing"));
  missing.body_sink = sink;
  auto r = run(missing, false);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body, "nope");
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(server.accepted(), 1u) << "streamed answers keep the connection";
  // resume(false) ends the request; the next one gets a fresh connection.
  auto stopped = make_request(server.url("/length"));
  stopped.body_sink = sink;
  r = run(stopped, true);
  EXPECT_EQ(r.error, outbound_error::shutdown) << describe(r);
  // The body limit bounds a streamed body too.
  auto limited = make_request(server.url("/length"));
  limited.body_sink = sink;
  limited.options.body_limit = 1000;
  r = run(limited, false);
  EXPECT_EQ(r.error, outbound_error::too_large) << describe(r);
  r = client.send_and_wait(make_request(server.url("/length")));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_TRUE(r.body == big);
}

TEST(outbound_client, redirect_is_returned_not_followed) {
  scripted_server server([](const seen_request& r) {
    scripted_reply reply = echo(r);
    if (r.target == "/old") {
      reply.status = 302;
      reply.headers = {{"Location", "/new"}};
    }
    return reply;
  });
  outbound_client client;
  auto r = client.send_and_wait(make_request(server.url("/old")));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.status, 302u);
  EXPECT_EQ(r.header("Location"), "/new");
  EXPECT_EQ(server.requests().size(), 1u) << "/new was not requested";
}

TEST(outbound_client, invalid_urls_schemes_and_headers_are_refused) {
  outbound_client client;
  struct refused {
    std::string url;
    std::string says;
  };
  for (auto& [url, says] : std::vector<refused>{
           {"ftp://127.0.0.1/s3cret", "scheme 'ftp'"},
           {"file:///etc/passwd", "scheme 'file'"},
           {"not a url", "not a valid URL"},
           {"/relative/path", "no scheme"},
           {"http:///no-host", "no host"},
           {"http://127.0.0.1:70000/", "out of range"},
           {"http://user:s3cret@127.0.0.1/", "credentials"},
       }) {
    auto r = client.send_and_wait(make_request(url));
    EXPECT_EQ(r.error, outbound_error::invalid_request) << url;
    EXPECT_NE(r.error_text.find(says), std::string::npos)
        << url << ": " << r.error_text;
    EXPECT_EQ(r.error_text.find("s3cret"), std::string::npos)
        << "the error quotes the URL: " << r.error_text;
  }
  auto split = make_request("http://127.0.0.1:1/");
  split.headers = {{"X-Bad", "a\r\nInjected: yes"}};
  EXPECT_EQ(client.send_and_wait(split).error, outbound_error::invalid_request);
  auto host = make_request("http://127.0.0.1:1/");
  host.headers = {{"Host", "elsewhere"}};
  EXPECT_EQ(client.send_and_wait(host).error, outbound_error::invalid_request);
  auto method = make_request("http://127.0.0.1:1/", "GE T");
  EXPECT_EQ(client.send_and_wait(method).error,
            outbound_error::invalid_request);
  EXPECT_EQ(client.stats().connections_opened, 0u);
}

TEST(outbound_client, configuration_that_could_never_send_is_refused) {
  outbound_client_config no_threads;
  no_threads.io_threads = 0;
  EXPECT_THROW(outbound_client{no_threads}, std::invalid_argument);
  outbound_client_config no_connections;
  no_connections.max_connections_per_origin = 0;
  EXPECT_THROW(outbound_client{no_connections}, std::invalid_argument);
}

TEST(outbound_client, unresolvable_host_is_a_dns_error) {
  outbound_client client;
  // .invalid never resolves (RFC 2606).
  auto r = client.send_and_wait(make_request("http://no-such-host.invalid/"));
  EXPECT_EQ(r.error, outbound_error::dns) << describe(r);
}

TEST(outbound_client, refused_connection_is_a_connect_error) {
  outbound_client client;
  auto r = client.send_and_wait(
      make_request("http://127.0.0.1:" + std::to_string(closed_port()) + "/"));
  EXPECT_EQ(r.error, outbound_error::connect) << describe(r);
}

TEST(outbound_client, header_values_and_url_paths_are_never_logged) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture);
  {
    scripted_server server(drop_second_on_first);
    outbound_client client;
    for (auto method : {"GET", "GET", "POST"}) {
      auto req = make_request(server.url("/hooks/p4th-t0ken"), method);
      req.headers = {{"Authorization", "Bearer s3cret-t0ken"}};
      client.send_and_wait(req);
    }
  }
  spdlog::set_default_logger(previous);
  auto text = log.str();
  EXPECT_NE(text.find("127.0.0.1"), std::string::npos)
      << "the client logged nothing: the test proves nothing";
  EXPECT_EQ(text.find("s3cret-t0ken"), std::string::npos) << text;
  EXPECT_EQ(text.find("p4th-t0ken"), std::string::npos) << text;
}

TEST(outbound_client, stop_answers_requests_in_flight_with_shutdown) {
  scripted_server server([](const seen_request&) {
    scripted_reply reply;
    reply.what = scripted_reply::kind::hang;
    return reply;
  });
  auto client = std::make_unique<outbound_client>();
  collector results;
  client->send(make_request(server.url()), results.add());
  ASSERT_TRUE(
      poll_until([&] { return server.requests().size() == 1; }, patience));
  client->stop();
  ASSERT_TRUE(results.wait_for(1));
  EXPECT_EQ(results.results()[0].error, outbound_error::shutdown);
  // After stop, at once and on this thread.
  client->send(make_request(server.url()), results.add());
  EXPECT_EQ(results.results().size(), 2u);
  EXPECT_EQ(results.results()[1].error, outbound_error::shutdown);
}

TEST(outbound_client,
     a_refused_request_is_answered_once_even_when_stop_follows) {
  // The refusal is posted to the io thread; a stop() right after may leave
  // it unrun, and the io context destroys it with the client. It must
  // still be answered, once (send_and_wait on another thread would
  // otherwise block forever).
  for (int i = 0; i < 200; ++i) {
    std::atomic<int> answers{0};
    std::atomic<bool> refused{false};
    {
      outbound_client client;
      client.send(make_request("ftp://example.invalid/"),
                  [&](outbound_result r) {
                    ++answers;
                    refused = r.error == outbound_error::invalid_request
                              || r.error == outbound_error::shutdown;
                  });
      client.stop();
    }
    ASSERT_EQ(answers.load(), 1) << "round " << i;
    EXPECT_TRUE(refused.load());
  }
}

// --- SSRF guard ------------------------------------------------------------

std::shared_ptr<const address_guard> guard(const std::vector<std::string>& allow
                                           = {}) {
  return std::make_shared<const address_guard>(allow);
}

TEST(outbound_client, guard_refuses_a_loopback_address_before_connecting) {
  scripted_server server;
  outbound_client client;
  auto req = make_request(server.url("/hook"), "POST", "{}");
  req.options.guard = guard();
  auto r = client.send_and_wait(req);
  EXPECT_EQ(r.error, outbound_error::forbidden_address) << describe(r);
  EXPECT_EQ(std::string(to_string(r.error)), "forbidden_address");
  EXPECT_EQ(r.error_text.rfind("refused by the SSRF guard: 127.0.0.1 is a "
                               "loopback address",
                               0),
            0u)
      << r.error_text;
  EXPECT_EQ(server.accepted(), 0u) << "no connection may be made";
  EXPECT_EQ(client.stats().open_connections, 0u);
  EXPECT_EQ(client.stats().in_flight, 0u);
}

TEST(outbound_client, guard_refuses_a_name_that_resolves_to_loopback) {
  scripted_server server;
  outbound_client client;
  auto req = make_request(server.url("/hook", "localhost"));
  req.options.guard = guard();
  auto r = client.send_and_wait(req);
  EXPECT_EQ(r.error, outbound_error::forbidden_address) << describe(r);
  EXPECT_NE(r.error_text.find("loopback"), std::string::npos) << r.error_text;
  EXPECT_EQ(server.accepted(), 0u);
}

TEST(outbound_client, guard_refuses_ipv6_loopback_and_metadata_literals) {
  outbound_client client;
  for (const char* url : {"http://[::1]:9/", "http://169.254.169.254/latest",
                          "http://[::ffff:127.0.0.1]:9/", "http://10.1.2.3/"}) {
    auto req = make_request(url);
    req.options.guard = guard();
    auto r = client.send_and_wait(req);
    EXPECT_EQ(r.error, outbound_error::forbidden_address)
        << url << ": " << describe(r);
  }
}

TEST(outbound_client, guard_lets_allow_listed_networks_through) {
  scripted_server server;
  outbound_client client;
  auto allow = guard({"127.0.0.0/8", "::1/128"});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto req = make_request(server.url("/ok", host));
    req.options.guard = allow;
    auto r = client.send_and_wait(req);
    ASSERT_TRUE(r.ok()) << host << ": " << describe(r);
    EXPECT_EQ(r.body, "GET /ok ");
  }
  // Only 127.0.0.0/8: a ::1 that localhost may resolve to is skipped, and
  // the server on 127.0.0.1 is reached.
  auto req = make_request(server.url("/v4", "localhost"));
  req.options.guard = guard({"127.0.0.0/8"});
  auto r = client.send_and_wait(req);
  ASSERT_TRUE(r.ok()) << describe(r);
}

TEST(outbound_client, unguarded_pooled_connection_never_serves_a_guarded_one) {
  scripted_server server;
  outbound_client client;
  ASSERT_TRUE(client.send_and_wait(make_request(server.url("/a"))).ok());
  ASSERT_EQ(client.stats().idle_connections, 1u);
  auto req = make_request(server.url("/b"));
  req.options.guard = guard();
  auto r = client.send_and_wait(req);
  EXPECT_EQ(r.error, outbound_error::forbidden_address) << describe(r);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.accepted(), 1u);
}

// --- HTTPS -----------------------------------------------------------------

/// Certificates made once per suite with the openssl CLI: a CA, a server
/// certificate it signed for 127.0.0.1 and localhost, one it signed for
/// another name, and an unrelated CA.
class outbound_tls : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir();
    auto run = [](const std::string& line) {
      auto full
          = "cd " + dir_->path().string() + " && " + line + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(full.c_str()), 0) << line;
    };
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                            "-nodes";
    for (auto ca : {"ca", "wrong-ca"})
      run("openssl req -x509 " + key + " -keyout " + ca + ".key -out " + ca
          + ".pem -days 2 -subj /CN=regevent-test-" + ca
          + " -addext basicConstraints=critical,CA:TRUE"
            " -addext keyUsage=critical,keyCertSign,cRLSign");
    struct leaf {
      std::string name;
      std::string san;
      int serial;
    };
    for (auto& [name, san, serial] :
         {leaf{"server", "IP:127.0.0.1,DNS:localhost", 1},
          leaf{"wrong-name", "DNS:wrong.example", 2}}) {
      write_file(dir_->file(name + ".ext"),
                 "subjectAltName=" + san
                     + "\nbasicConstraints=CA:FALSE\n"
                       "extendedKeyUsage=serverAuth\n");
      run("openssl req " + key + " -keyout " + name + ".key -out " + name
          + ".csr -subj /CN=" + name);
      run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key"
          + " -set_serial " + std::to_string(serial) + " -days 2 -out " + name
          + ".pem -extfile " + name + ".ext");
    }
  }

  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string file(const std::string& name) {
    return dir_->file(name);
  }

  /// A server context presenting `name`.pem.
  static std::shared_ptr<ssl::context> server_context(const std::string& name
                                                      = "server") {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(file(name + ".pem"));
    ctx->use_private_key_file(file(name + ".key"), ssl::context::pem);
    return ctx;
  }

  static outbound_request tls_request(const std::string& url,
                                      const std::string& ca_file = {}) {
    auto r = make_request(url);
    r.options.tls.ca_file = ca_file;
    return r;
  }

  static temp_dir* dir_;
};

temp_dir* outbound_tls::dir_ = nullptr;

TEST_F(outbound_tls, https_with_the_targets_ca_file) {
  scripted_server server(echo, server_context());
  outbound_client client;
  for (int i = 0; i < 2; ++i) {
    auto r = client.send_and_wait(
        tls_request(server.url("/secure"), file("ca.pem")));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_EQ(r.body, "GET /secure ");
  }
  EXPECT_EQ(server.accepted(), 1u) << "TLS connections are kept alive too";
  EXPECT_EQ(server.server_names(), std::vector<std::string>{""})
      << "no SNI for an IP address";
}

TEST_F(outbound_tls, sni_and_host_name_verification_for_a_name) {
  scripted_server server(echo, server_context());
  outbound_client client;
  auto r = client.send_and_wait(
      tls_request(server.url("/", "localhost"), file("ca.pem")));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(server.server_names(), std::vector<std::string>{"localhost"});
}

TEST_F(outbound_tls, untrusted_ca_is_a_tls_error) {
  scripted_server server(echo, server_context());
  outbound_client client;
  auto r
      = client.send_and_wait(tls_request(server.url(), file("wrong-ca.pem")));
  EXPECT_EQ(r.error, outbound_error::tls) << describe(r);
  EXPECT_NE(r.error_text.find("certificate"), std::string::npos)
      << r.error_text;
  // The system store alone does not know the test's CA either.
  r = client.send_and_wait(tls_request(server.url()));
  EXPECT_EQ(r.error, outbound_error::tls) << describe(r);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(outbound_tls, skip_cert_verify_accepts_an_untrusted_certificate) {
  scripted_server server(echo, server_context("wrong-name"));
  outbound_client client;
  auto insecure = tls_request(server.url());
  insecure.options.tls.skip_cert_verify = true;
  auto r = client.send_and_wait(insecure);
  ASSERT_TRUE(r.ok()) << describe(r);
  // A target that verifies never gets the unverified pooled connection.
  r = client.send_and_wait(tls_request(server.url(), file("ca.pem")));
  EXPECT_EQ(r.error, outbound_error::tls) << describe(r);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(outbound_tls, host_name_mismatch_is_a_tls_error) {
  // Signed by the trusted CA, but for wrong.example.
  scripted_server server(echo, server_context("wrong-name"));
  outbound_client client;
  auto r = client.send_and_wait(tls_request(server.url(), file("ca.pem")));
  EXPECT_EQ(r.error, outbound_error::tls) << describe(r);
  EXPECT_NE(r.error_text.find("mismatch"), std::string::npos) << r.error_text;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(outbound_tls, silent_server_hits_the_handshake_timeout) {
  // The kernel completes the TCP handshake for a listener that never
  // accepts: the client connects, and its ClientHello gets no answer.
  net::io_context ioc;
  tcp::acceptor silent(ioc, {net::ip::make_address("127.0.0.1"), 0});
  outbound_client client;
  auto req
      = tls_request("https://127.0.0.1:"
                        + std::to_string(silent.local_endpoint().port()) + "/",
                    file("ca.pem"));
  req.options.handshake_timeout = 300ms;
  auto r = client.send_and_wait(req);
  expect_timeout(r, "TLS handshake", 300ms);
}

TEST_F(outbound_tls, unreadable_ca_file_is_a_tls_error) {
  scripted_server server(echo, server_context());
  outbound_client client;
  auto r
      = client.send_and_wait(tls_request(server.url(), file("no-such-ca.pem")));
  EXPECT_EQ(r.error, outbound_error::tls) << describe(r);
  EXPECT_NE(r.error_text.find("ca_file"), std::string::npos) << r.error_text;
  EXPECT_EQ(server.accepted(), 0u);
}

} // namespace
} // namespace regevent::test
