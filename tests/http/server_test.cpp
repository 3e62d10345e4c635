// The Beast transport alone: http_server on 127.0.0.1 port 0 with a
// handler of the test's own (no actors), driven over real sockets.

#include "http/server.hpp"

#include "config/config.hpp"
#include "tests/fixtures/http_client.hpp"
#include "tests/fixtures/poll.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;

/// What the handler saw of one request, and how to answer it.
struct held_request {
  incoming_request request;
  responder reply_to;
};

http_response text_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

class server : public ::testing::Test {
protected:
  /// Starts the server with `http_yaml` as the body of its `http:`
  /// section. Every request is counted; with `hold`, requests wait in
  /// held() for the test to answer them, otherwise each is answered 200
  /// with "<method> <target> <body>".
  void start(const std::string& http_yaml = {}, bool hold = false) {
    cfg_ = load_config_from_string("listen: 127.0.0.1:0\nhttp:\n  io_threads: "
                                   "2\n"
                                   + http_yaml);
    server_ = std::make_unique<http_server>(
        cfg_, [this, hold](incoming_request&& req, responder reply_to) {
          ++handled_;
          if (hold) {
            std::lock_guard<std::mutex> guard(mtx_);
            held_.push_back({std::move(req), std::move(reply_to)});
            return;
          }
          reply_to->reply(text_response(200, req.method + " " + req.target + " "
                                                 + req.body));
        });
    port_ = server_->start();
    ASSERT_NE(port_, 0);
  }

  /// Waits until the handler holds `n` requests; returns them.
  std::vector<held_request> held(size_t n) {
    std::vector<held_request> out;
    bool got = poll_until(
        [&] {
          std::lock_guard<std::mutex> guard(mtx_);
          return held_.size() >= n;
        },
        10s);
    EXPECT_TRUE(got) << "the handler got fewer than " << n << " requests";
    std::lock_guard<std::mutex> guard(mtx_);
    out.swap(held_);
    return out;
  }

  std::unique_ptr<raw_connection> connect(std::chrono::milliseconds timeout
                                          = 10s) {
    auto c = std::make_unique<raw_connection>("127.0.0.1", port_, timeout);
    EXPECT_TRUE(c->connected()) << c->error();
    return c;
  }

  /// One GET on a fresh connection: proves the server still serves.
  http_answer probe(const std::string& target = "/probe") {
    return http_client("127.0.0.1", port_, 10s).request("GET", target);
  }

  config cfg_;
  std::unique_ptr<http_server> server_;
  uint16_t port_ = 0;
  std::atomic<int> handled_{0};
  std::mutex mtx_;
  std::vector<held_request> held_;
};

std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra = {}) {
  return "POST " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

/// The next answer on `c` is `status` with error `code`, says the
/// connection ends, and the server then closes it.
void expect_refused_and_closed(raw_connection& c, unsigned status,
                               const std::string& code) {
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  EXPECT_EQ(r->status, status);
  EXPECT_NE(r->body.find(code), std::string::npos) << r->body;
  EXPECT_EQ(r->headers["Connection"], "close");
  EXPECT_FALSE(c.keep_alive());
  EXPECT_EQ(c.read_until_closed(), "");
  EXPECT_TRUE(c.peer_closed()) << c.error();
}

// ---- pipelining

TEST_F(server, pipelined_requests_are_answered_in_request_order) {
  start({}, true);
  auto c = connect();
  // Three requests in one write, before any answer.
  ASSERT_TRUE(c->send(get("/a", "X-Request-Id: id-a\r\n")
                      + get("/b", "X-Request-Id: id-b\r\n")
                      + get("/c", "X-Request-Id: id-c\r\n")));
  auto requests = held(3);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].request.target, "/a");
  EXPECT_EQ(requests[1].request.target, "/b");
  EXPECT_EQ(requests[2].request.target, "/c");
  // The handler answers last first, from another thread: a transport that
  // wrote answers as they came would send c's first.
  requests[2].reply_to->reply(text_response(202, "answer c"));
  requests[1].reply_to->reply(text_response(201, "answer b"));
  requests[0].reply_to->reply(text_response(200, "answer a"));
  const std::vector<std::pair<unsigned, std::string>> expected{
      {200u, "a"}, {201u, "b"}, {202u, "c"}};
  for (const auto& [status, name] : expected) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << "no answer for /" << name << ": " << c->error();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->body, "answer " + name);
    EXPECT_EQ(r->headers["X-Request-Id"], "id-" + name);
  }
}

TEST_F(server, a_pipeline_longer_than_the_limit_is_read_as_answers_go_out) {
  start("  max_pipeline: 2\n", true);
  auto c = connect();
  ASSERT_TRUE(c->send(get("/1") + get("/2") + get("/3")));
  auto first = held(2);
  ASSERT_EQ(first.size(), 2u);
  // The third waits in the socket until a slot frees.
  EXPECT_EQ(handled_.load(), 2);
  first[0].reply_to->reply(text_response(200, "1"));
  auto third = held(1);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].request.target, "/3");
  first[1].reply_to->reply(text_response(200, "2"));
  third[0].reply_to->reply(text_response(200, "3"));
  for (const char* body : {"1", "2", "3"}) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << c->error();
    EXPECT_EQ(r->body, body);
  }
}

// ---- limits

TEST_F(server,
       a_body_over_the_limit_is_answered_413_and_the_connection_closed) {
  start("  body_limit: 1024\n");
  // At the limit: served.
  auto c = connect();
  ASSERT_TRUE(c->send(post("/up", std::string(1024, 'x'))));
  auto ok = c->read_response();
  ASSERT_TRUE(ok) << c->error();
  EXPECT_EQ(ok->status, 200u);
  EXPECT_EQ(ok->body.size(), std::string("POST /up ").size() + 1024);
  // One byte over: refused before the handler sees it.
  ASSERT_TRUE(c->send(post("/up", std::string(1025, 'x'))));
  expect_refused_and_closed(*c, 413, "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(server, a_declared_length_over_the_limit_is_refused_before_the_body) {
  start("  body_limit: 1024\n");
  auto c = connect();
  // Only the header: the answer must not wait for 1 MiB that never comes.
  ASSERT_TRUE(c->send(
      "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r) << c->error();
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(probe().status, 200u);
}

TEST_F(server, headers_over_the_limit_are_answered_431) {
  start("  header_limit: 1024\n");
  auto c = connect();
  ASSERT_TRUE(
      c->send(get("/h", "X-Filler: " + std::string(400, 'f') + "\r\n")));
  auto ok = c->read_response();
  ASSERT_TRUE(ok) << c->error();
  EXPECT_EQ(ok->status, 200u);
  ASSERT_TRUE(
      c->send(get("/h", "X-Filler: " + std::string(2000, 'f') + "\r\n")));
  expect_refused_and_closed(*c, 431, "HEADERS_TOO_LARGE");
  EXPECT_EQ(handled_.load(), 1);
}

// ---- timeouts

TEST_F(server, a_stalled_body_is_cut_off_after_the_read_timeout) {
  start("  read_timeout_ms: 200\n  idle_timeout_ms: 60000\n");
  auto c = connect();
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: "
                      "100\r\n\r\n0123456789"));
  // Other connections are served meanwhile.
  EXPECT_EQ(probe().status, 200u);
  // Closed without an answer, long before the idle timeout or the client's
  // own deadline.
  EXPECT_EQ(c->read_until_closed(), "");
  EXPECT_TRUE(c->peer_closed()) << c->error();
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 200ms);
  EXPECT_EQ(handled_.load(), 1); // the probe only
}

TEST_F(server, a_stalled_header_is_cut_off_after_the_idle_timeout) {
  start("  read_timeout_ms: 60000\n  idle_timeout_ms: 200\n");
  // The idle timer starts when the server accepts: time from before that.
  auto connecting = std::chrono::steady_clock::now();
  auto c = connect();
  ASSERT_TRUE(c->send("GET /slow HTTP/1.1\r\nHo"));
  EXPECT_EQ(c->read_until_closed(), "");
  EXPECT_TRUE(c->peer_closed()) << c->error();
  EXPECT_GE(std::chrono::steady_clock::now() - connecting, 200ms);
  EXPECT_EQ(handled_.load(), 0);
}

// ---- peers that go away

TEST_F(server, a_client_gone_mid_body_costs_nothing_but_its_connection) {
  start();
  const std::string partial = "POST /gone HTTP/1.1\r\nHost: t\r\n"
                              "Content-Length: 1000\r\n\r\n"
                              + std::string(100, 'x');
  for (bool reset : {false, true}) {
    auto c = connect();
    ASSERT_TRUE(c->send(partial));
    c->close(reset);
    auto r = probe("/after");
    EXPECT_EQ(r.status, 200u) << (reset ? "after an RST" : "after a FIN");
    EXPECT_EQ(r.body, "GET /after ");
  }
  EXPECT_EQ(handled_.load(), 2); // the probes; no partial request
}

TEST_F(server, an_answer_to_a_client_that_left_is_dropped) {
  start({}, true);
  auto c = connect();
  ASSERT_TRUE(c->send(get("/left")));
  auto requests = held(1);
  ASSERT_EQ(requests.size(), 1u);
  c->close(true);
  // The answer comes after the peer is gone (a slow journal commit).
  requests[0].reply_to->reply(text_response(200, "too late"));
  auto next = connect();
  ASSERT_TRUE(next->send(get("/next")));
  auto again = held(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].request.target, "/next");
  again[0].reply_to->reply(text_response(200, "served"));
  auto r = next->read_response();
  ASSERT_TRUE(r) << next->error();
  EXPECT_EQ(r->body, "served");
  // The server drains: no request is left waiting for an answer.
  EXPECT_TRUE(server_->wait_idle(std::chrono::steady_clock::now() + 10s));
}

// ---- the test client itself

TEST_F(server, the_test_client_gives_up_at_its_deadline) {
  start({}, true); // the handler never answers
  http_client client("127.0.0.1", port_, 300ms);
  auto started = std::chrono::steady_clock::now();
  auto r = client.request("GET", "/never");
  EXPECT_EQ(r.status, 0u);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  // Sent once: a request that ran out of time is not sent again.
  EXPECT_EQ(handled_.load(), 1);
}

// ---- header injection

TEST_F(server, a_request_id_with_a_folded_line_never_reaches_the_answer) {
  start();
  auto c = connect();
  // obs-fold: the parser joins the lines into one value with a CR LF
  // inside; echoed as it is, it would start a header of its own.
  ASSERT_TRUE(c->send(get("/id", "X-Request-Id: abc\r\n Set-Cookie: "
                                 "injected=1\r\n")));
  auto r = c->read_response();
  ASSERT_TRUE(r) << c->error();
  EXPECT_EQ(r->headers.count("Set-Cookie"), 0u);
  const auto& id = r->headers["X-Request-Id"];
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(id.find_first_of("\r\n "), std::string::npos) << id;
  EXPECT_EQ(id.find("injected"), std::string::npos) << id;
}

TEST_F(server, a_request_id_with_a_bare_cr_or_lf_never_reaches_the_answer) {
  start();
  for (const char* separator : {"\r", "\n"}) {
    auto c = connect();
    ASSERT_TRUE(c->send("GET /id HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc"
                        + std::string(separator)
                        + "Set-Cookie: injected=1\r\n\r\n"));
    auto bytes = c->read_until_closed();
    EXPECT_EQ(bytes.find("Set-Cookie"), std::string::npos) << bytes;
    EXPECT_EQ(bytes.find("injected"), std::string::npos) << bytes;
  }
}

TEST_F(server, a_handler_header_value_with_cr_lf_never_splits_the_answer) {
  start({}, true);
  auto c = connect();
  ASSERT_TRUE(c->send(get("/link", "Connection: close\r\n")));
  auto requests = held(1);
  ASSERT_EQ(requests.size(), 1u);
  auto answer = text_response(200, "linked");
  answer.headers.emplace_back(
      "Link", "</next>; rel=\"next\"\r\nSet-Cookie: injected=1");
  answer.headers.emplace_back("X-Fine", "fine");
  requests[0].reply_to->reply(std::move(answer));
  auto bytes = c->read_until_closed();
  ASSERT_TRUE(c->peer_closed()) << c->error();
  EXPECT_EQ(bytes.find("\r\nSet-Cookie"), std::string::npos) << bytes;
  EXPECT_EQ(bytes.find("\nSet-Cookie"), std::string::npos) << bytes;
  // The rest of the answer is intact.
  EXPECT_NE(bytes.find("\r\nX-Fine: fine\r\n"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("linked"), std::string::npos) << bytes;
}

} // namespace
} // namespace regevent::test
