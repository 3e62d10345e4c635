#include "bench/webhooks.hpp"

#include "tests/fixtures/http_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>
#include <soci/soci.h>
#include <yaml-cpp/yaml.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

namespace regevent::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using receiver_clock = std::chrono::steady_clock;

struct webhook_receiver::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  uint16_t port = 0;

  mutable std::mutex mtx;
  std::condition_variable arrived;
  std::unordered_set<std::string> ids;
  uint64_t requests = 0;
  uint64_t without_id = 0;
  receiver_clock::time_point first{};
  receiver_clock::time_point last{};

  void count(const std::string& id) {
    auto now = receiver_clock::now();
    bool fresh = false;
    {
      std::lock_guard<std::mutex> guard(mtx);
      if (requests++ == 0)
        first = now;
      last = now;
      if (id.empty())
        ++without_id;
      else
        fresh = ids.insert(id).second;
    }
    if (fresh)
      arrived.notify_all();
  }

  /// One keep-alive connection: read a request, count it, answer 204,
  /// again until the daemon closes it.
  struct session : std::enable_shared_from_this<session> {
    session(impl& owner, tcp::socket s) : owner(owner), stream(std::move(s)) {}
    impl& owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::empty_body> res;

    void read() {
      req = {};
      http::async_read(
          stream, buffer, req,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec)
              return self->close();
            self->answer();
          });
    }
    void answer() {
      owner.count(std::string(req["webhook-id"]));
      res = {};
      res.result(http::status::no_content);
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::async_write(
          stream, res,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec || !self->res.keep_alive())
              return self->close();
            self->read();
          });
    }
    void close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }
  };

  void accept() {
    acceptor.async_accept(
        asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
          if (ec == asio::error::operation_aborted)
            return;
          if (!ec) {
            s.set_option(tcp::no_delay(true), ec);
            std::make_shared<session>(*this, std::move(s))->read();
          }
          accept();
        });
  }
};

webhook_receiver::webhook_receiver(size_t threads)
    : impl_(std::make_unique<impl>()) {
  auto& i = *impl_;
  tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  i.acceptor.open(at.protocol());
  i.acceptor.set_option(asio::socket_base::reuse_address(true));
  i.acceptor.bind(at);
  i.acceptor.listen(asio::socket_base::max_listen_connections);
  i.port = i.acceptor.local_endpoint().port();
  i.accept();
  for (size_t n = 0; n < std::max<size_t>(threads, 1); ++n)
    i.threads.emplace_back([&i] { i.io.run(); });
}

webhook_receiver::~webhook_receiver() {
  stop();
}

void webhook_receiver::stop() {
  auto& i = *impl_;
  if (i.threads.empty())
    return;
  i.io.stop();
  for (auto& t : i.threads)
    t.join();
  i.threads.clear();
  beast::error_code ignored;
  i.acceptor.close(ignored);
}

uint16_t webhook_receiver::port() const {
  return impl_->port;
}

std::string webhook_receiver::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/hook";
}

receiver_counts webhook_receiver::counts() const {
  const auto& i = *impl_;
  std::lock_guard<std::mutex> guard(i.mtx);
  receiver_counts c;
  c.requests = i.requests;
  c.distinct_ids = i.ids.size();
  c.without_id = i.without_id;
  c.first = i.first;
  c.last = i.last;
  if (i.requests > 1)
    c.span_s = std::chrono::duration<double>(i.last - i.first).count();
  return c;
}

bool webhook_receiver::wait_for(uint64_t expected, std::chrono::seconds timeout,
                                std::chrono::milliseconds settle) {
  auto& i = *impl_;
  bool all = false;
  {
    std::unique_lock<std::mutex> lock(i.mtx);
    all = i.arrived.wait_for(lock, timeout,
                             [&] { return i.ids.size() >= expected; });
  }
  std::this_thread::sleep_for(settle);
  return all;
}

std::string dead_address() {
  asio::io_context io;
  tcp::acceptor a(io);
  tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  a.open(at.protocol());
  a.bind(at);
  auto port = a.local_endpoint().port();
  a.close();
  return "http://127.0.0.1:" + std::to_string(port) + "/dead";
}

std::pair<std::string, std::string>
webhook_extra_config(const std::string& extra_yaml) {
  YAML::Node root = extra_yaml.empty() ? YAML::Node(YAML::NodeType::Map)
                                       : YAML::Load(extra_yaml);
  if (!root.IsMap())
    throw std::runtime_error("--extra-config: not a YAML mapping");
  if (!root["auth"])
    root["auth"] = YAML::Node(YAML::NodeType::Map);
  std::string token;
  if (root["auth"]["admin_token"]
      && !root["auth"]["admin_token"].as<std::string>().empty()) {
    token = root["auth"]["admin_token"].as<std::string>();
  } else {
    std::mt19937_64 rng{std::random_device{}()};
    token = "bench-admin-" + std::to_string(rng());
    root["auth"]["admin_token"] = token;
  }
  if (!root["webhooks"])
    root["webhooks"] = YAML::Node(YAML::NodeType::Map);
  if (!root["webhooks"]["allow_networks"]) {
    YAML::Node nets(YAML::NodeType::Sequence);
    nets.push_back("127.0.0.0/8");
    root["webhooks"]["allow_networks"] = nets;
  }
  YAML::Emitter out;
  out << root;
  return {out.c_str(), token};
}

void create_webhook_policies(const std::string& host, uint16_t port,
                             const webhook_setup& s) {
  regevent::test::http_client client(host, port);
  std::map<std::string, std::string> headers{
      {"Authorization", "Bearer " + s.admin_token},
      {"Content-Type", "application/json"}};
  nlohmann::json project
      = {{"project_name", s.project},
         {"metadata", {{"public", "true"}, {"auto_scan", "false"}}}};
  auto a
      = client.request("POST", "/api/v2.0/projects", project.dump(), headers);
  if (a.status != 201 && a.status != 409)
    throw std::runtime_error("creating project " + s.project + ": "
                             + std::to_string(a.status) + " " + a.body
                             + a.error);
  for (size_t n = 0; n < s.policies; ++n) {
    bool dead = n < s.dead;
    nlohmann::json policy
        = {{"name", (dead ? "bench-dead-" : "bench-live-") + std::to_string(n)},
           {"event_types", {"PUSH_ARTIFACT", "PULL_ARTIFACT"}},
           {"targets",
            {{{"type", "http"}, {"address", dead ? s.dead_url : s.live_url}}}}};
    auto r = client.request(
        "POST", "/api/v2.0/projects/" + s.project + "/webhook/policies",
        policy.dump(), headers);
    if (r.status != 201)
      throw std::runtime_error("creating webhook policy " + std::to_string(n)
                               + ": " + std::to_string(r.status) + " " + r.body
                               + r.error);
  }
}

webhook_task_counts count_webhook_tasks(const std::string& db_url,
                                        const std::string& project) {
  webhook_task_counts c;
  soci::session sql;
  open_database(sql, db_url);
  // One COUNT per kind and status: SQLite and PostgreSQL agree on the
  // type of a COUNT read into a long long.
  auto count = [&sql, &project](bool dead, const char* status) {
    long long n = 0;
    std::string s = status;
    std::string like = dead ? "bench-dead-%" : "bench-live-%";
    sql << "SELECT COUNT(*) FROM webhook_tasks t JOIN webhook_policies p ON "
           "p.id = t.policy_id WHERE t.project = :j AND t.status = :s AND "
           "p.name LIKE :l",
        soci::use(project), soci::use(s), soci::use(like), soci::into(n);
    return static_cast<uint64_t>(n);
  };
  c.live_success = count(false, "success");
  c.live_pending = count(false, "pending");
  c.live_failed = count(false, "failed");
  c.dead_success = count(true, "success");
  c.dead_pending = count(true, "pending");
  c.dead_failed = count(true, "failed");
  return c;
}

} // namespace regevent::bench
