// libFuzzer target: the whole request path without a socket. The bytes are
// what a client sent on one connection: Beast's request parser (with the
// server's body and header limits) reads request after request from them,
// and each one goes to the router of one real daemon (actors on a temporary
// SQLite database), whose answer is awaited before the next. Besides the
// sanitizers' findings it checks the router's contract: exactly one answer
// per request, in time, with a valid status and no CR, LF or NUL in a
// header the server would have to drop.

#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/system.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "http/wire_request.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace bhttp = boost::beast::http;
using namespace regevent;

// The tokens of the seeds (corpus/request/, request.dict): inputs that
// carry them reach the handlers behind authentication.
constexpr const char* setup_yaml = R"(
auth:
  notify_token: notify-secret
  admin_token: admin-secret
  # Each input has an address of its own (see client_of); a short window
  # keeps an address that guessed wrong once from answering 429 for long.
  failure_window_s: 1
secrets:
  key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
)";

/// The longest an answer may take before the request counts as lost. Far
/// above what any handler needs, even sanitized on a busy machine.
constexpr auto answer_deadline = std::chrono::seconds(30);

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "request_fuzz: %s\n", what.c_str());
  std::abort();
}

/// One daemon for the whole run, as regeventd prepares it: migrated
/// database, default project, heartbeat, then the actors and the router.
/// Made in LLVMFuzzerInitialize and never stopped: it stays reachable
/// (daemon_), so LeakSanitizer does not count it, and its threads run
/// until the process ends. Stopping it from exit() was tried: on the main
/// thread CAF crashes (glibc has destroyed its thread_local objects by
/// then), and on a thread of its own the actors' threads end leaving
/// OpenSSL's state for them (the random generator that sealed a secret)
/// unfreed, a leak regeventd, which stops before exit, does not show.
struct daemon_under_test {
  std::filesystem::path dir;
  runtime rt;
  std::unique_ptr<actor_runtime> actors;
  std::unique_ptr<router> route;
};

daemon_under_test* daemon_ = nullptr;

/// At exit: the database goes, the daemon stays (see above).
void remove_database() {
  std::error_code ignored;
  std::filesystem::remove_all(daemon_->dir, ignored);
}

void start_daemon() {
  // The log lines are still formatted (that code is under test too), but
  // go nowhere: at thousands of requests a second they would be all the
  // run does.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "fuzz", std::make_shared<spdlog::sinks::null_sink_mt>()));
  auto d = std::make_unique<daemon_under_test>();
  std::string dir_template
      = (std::filesystem::temp_directory_path() / "regevent-fuzz-XXXXXX")
            .string();
  if (!mkdtemp(dir_template.data()))
    broken("cannot make a temporary directory");
  d->dir = dir_template;
  auto cfg = load_config_from_string("database:\n  url: sqlite://"
                                     + (d->dir / "regevent.db").string()
                                     + "\n" + setup_yaml);
  d->rt.cfg = std::make_shared<const config>(std::move(cfg));
  d->rt.stats = std::make_shared<metrics>();
  d->rt.status = std::make_shared<health>();
  d->rt.instance_id = "request-fuzz";
  {
    database db(*d->rt.cfg);
    migrate(db);
    ensure_project(db, d->rt.cfg->filter.default_project);
    journal_store(db).heartbeat(d->rt.instance_id, now_us());
  }
  d->actors = std::make_unique<actor_runtime>(d->rt);
  d->route = std::make_unique<router>(d->rt, *d->actors);
  daemon_ = d.release();
  std::atexit(remove_database);
}

/// Where the one answer to a request lands. Shared by the harness and the
/// sink the router holds, which may outlive the wait.
class answer_box {
public:
  void put(http_response r) {
    std::lock_guard<std::mutex> guard(mtx_);
    if (answered_)
      broken("a request was answered twice (status "
             + std::to_string(r.status) + " after "
             + std::to_string(response_.status) + ")");
    answered_ = true;
    response_ = std::move(r);
    changed_.notify_all();
  }

  /// The router let go of the request without an answer: the server's
  /// responder answers 503 then, which is allowed.
  void dropped() {
    std::lock_guard<std::mutex> guard(mtx_);
    dropped_ = true;
    changed_.notify_all();
  }

  /// The answer; nullopt when the request was dropped.
  std::optional<http_response> wait() {
    std::unique_lock<std::mutex> lock(mtx_);
    if (!changed_.wait_for(lock, answer_deadline,
                           [this] { return answered_ || dropped_; }))
      broken("a request got no answer within 30 s");
    if (!answered_)
      return std::nullopt;
    return response_;
  }

private:
  std::mutex mtx_;
  std::condition_variable changed_;
  bool answered_ = false;
  bool dropped_ = false;
  http_response response_;
};

class captured_reply : public reply_sink {
public:
  explicit captured_reply(std::shared_ptr<answer_box> box)
      : box_(std::move(box)) {}
  ~captured_reply() override {
    box_->dropped();
  }
  void reply(http_response r) override {
    box_->put(std::move(r));
  }

private:
  std::shared_ptr<answer_box> box_;
};

void check(const http_response& r) {
  if (r.status < 100 || r.status > 599)
    broken("answered status " + std::to_string(r.status));
  const std::string_view breaks("\r\n\0", 3);
  for (const auto& [name, value] : r.headers)
    if (name.empty() || name.find_first_of(breaks) != std::string::npos
        || value.find_first_of(breaks) != std::string::npos)
      broken("answered a header the server must drop: " + name);
}

/// The client's `address:port` as the server would give it, a function of
/// the input: the same input is the same client (reproducible), and other
/// inputs are other clients, so that one input's failed authentications
/// do not make every later one a 429.
std::string client_of(std::string_view bytes) {
  auto h = std::hash<std::string_view>{}(bytes);
  return "10." + std::to_string((h >> 16) & 0xff) + "."
         + std::to_string((h >> 8) & 0xff) + "." + std::to_string(h & 0xff)
         + ":40000";
}

/// Reads the next request from `rest` as a session does; false when there
/// is none (end of input, or a request the server would refuse or drop
/// the connection for: it never reaches the router).
bool next_request(std::string_view& rest,
                  bhttp::request_parser<bhttp::string_body>& parser) {
  const auto& limits = daemon_->rt.cfg->http;
  parser.body_limit(limits.body_limit);
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
  boost::beast::error_code ec;
  while (!parser.is_done()) {
    if (rest.empty()) {
      parser.put_eof(ec);
      return false;
    }
    auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec == bhttp::error::need_more) {
      if (used == 0) {
        parser.put_eof(ec);
        return false;
      }
      ec = {};
      continue;
    }
    if (ec)
      return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_daemon();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto remote = client_of(bytes);
  // A session reads at most max_pipeline requests ahead; one after the
  // other is enough here.
  for (size_t n = 0; n < daemon_->rt.cfg->http.max_pipeline; ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    if (!next_request(bytes, parser))
      break;
    auto req = parser.release();
    // The server's id (or the client's sane X-Request-Id): the router only
    // logs it.
    auto in = to_incoming(req, "fuzz-" + std::to_string(n), remote);
    auto box = std::make_shared<answer_box>();
    (*daemon_->route)(std::move(in), std::make_shared<captured_reply>(box));
    if (auto answer = box->wait())
      check(*answer);
    if (!req.keep_alive())
      break;
  }
  return 0;
}
