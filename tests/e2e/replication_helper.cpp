#include "tests/e2e/replication_helper.hpp"

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/fixtures/metrics.hpp"

#include <iostream>
#include <stdexcept>
#include <utility>

namespace regevent::test {

namespace {

using json = nlohmann::json;

constexpr const char* notify_secret = "repl-notify-secret";
constexpr const char* admin_token = "repl-admin-token";
constexpr const char* sealing_key
    = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";

} // namespace

std::string replication_test_base::tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

void replication_test_base::TearDown() {
  if (!HasFailure())
    return;
  if (daemon_)
    std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
  if (source_)
    std::cerr << "---- source registry log (tail)\n" << tail(source_->log());
  if (destination_)
    std::cerr << "---- destination registry log (tail)\n"
              << tail(destination_->log());
}

void replication_test_base::start(const std::string& destination_auth,
                                  bool notifying,
                                  const registry_tls& destination_tls) {
  daemon_ = std::make_unique<daemon_process>(
      dir_, std::string("auth:\n  notify_token: ") + notify_secret
                + "\n  admin_token: " + admin_token
                + "\nsecrets:\n  key: " + sealing_key
                + "\nreplication:\n  retry_base_ms: 200\n  retry_max_ms: "
                  "1000\n  max_retries: 2\n  poll_interval_ms: 50\n  "
                  "claim_lease_ms: 3000\n");
  daemon_->keep_port_across_restarts();
  if (!daemon_->start())
    throw std::runtime_error("regeventd did not start:\n"
                             + tail(daemon_->log()));
  auto notify_url = "http://127.0.0.1:" + std::to_string(daemon_->port())
                    + "/service/notifications";
  source_ = std::make_unique<registry_process>(source_dir_, notify_url,
                                               notify_secret);
  if (!source_->start())
    throw std::runtime_error("the source registry did not start:\n"
                             + tail(source_->log()));
  destination_ = std::make_unique<registry_process>(
      destination_dir_, notifying ? notify_url : "", notify_secret,
      destination_auth, destination_tls);
  if (!destination_->start())
    throw std::runtime_error("the destination registry did not start:\n"
                             + tail(destination_->log()));
  // The source's URL is known only now: the daemon restarts with it, on
  // the port the source sends to.
  if (daemon_->stop() != 0)
    throw std::runtime_error("regeventd did not stop cleanly:\n"
                             + tail(daemon_->log()));
  daemon_->add_config("source_registry:\n  url: " + source_->url() + "\n");
  if (!daemon_->start())
    throw std::runtime_error("regeventd did not start:\n"
                             + tail(daemon_->log()));
}

http_answer replication_test_base::call(const std::string& method,
                                        const std::string& target,
                                        const json& body) {
  return daemon_->client().request(
      method, target, body.is_null() ? std::string() : body.dump(),
      {{"Authorization", std::string("Bearer ") + admin_token},
       {"Content-Type", "application/json"}});
}

json replication_test_base::get(const std::string& target) {
  auto r = call("GET", target);
  if (r.status != 200)
    return nullptr;
  return json::parse(r.body, nullptr, false);
}

int64_t replication_test_base::create_registry(const std::string& secret,
                                               const json& fields) {
  json body = {{"name", "dest"},
               {"type", "docker-registry"},
               {"url", destination_->url()},
               {"insecure", false}};
  if (!secret.empty())
    body["credential"]
        = {{"type", "basic"}, {"access_key", user}, {"access_secret", secret}};
  body.update(fields);
  auto r = call("POST", "/api/v2.0/registries", body);
  EXPECT_EQ(r.status, 201u) << r.body;
  return json::parse(r.body, nullptr, false).value("id", int64_t{0});
}

int64_t replication_test_base::create_policy(int64_t registry, json filters,
                                             bool override, bool deletion,
                                             int64_t speed,
                                             const std::string& trigger) {
  json body = {{"name", "p" + std::to_string(++n_)},
               {"dest_registry", {{"id", registry}}},
               {"dest_namespace", "mirror"},
               {"dest_namespace_replace_count", 1},
               {"filters", std::move(filters)},
               {"trigger", {{"type", trigger}}},
               {"override", override},
               {"deletion", deletion},
               {"enabled", true},
               {"speed", speed}};
  auto r = call("POST", "/api/v2.0/replication/policies", body);
  EXPECT_EQ(r.status, 201u) << r.body;
  return json::parse(r.body, nullptr, false).value("id", int64_t{0});
}

std::string replication_test_base::push(const std::string& repository,
                                        const std::string& tag,
                                        const std::string& content) {
  auto img
      = write_oci_image(dir_.file("img-" + std::to_string(++n_)), tag, content);
  std::string digest;
  auto r = skopeo_.push(img, source_->ref(repository, tag), false, &digest);
  EXPECT_TRUE(r.ok()) << r.output;
  return digest;
}

json replication_test_base::executions(int64_t policy) {
  auto x = get("/api/v2.0/replication/executions?policy_id="
               + std::to_string(policy) + "&page_size=100");
  return x.is_array() ? x : json::array();
}

json replication_test_base::finished(int64_t policy, size_t count,
                                     std::chrono::milliseconds deadline) {
  json last;
  poll_until(
      [&] {
        last = executions(policy);
        if (last.size() != count)
          return false;
        for (const auto& x : last)
          if (x["status"] == "InProgress")
            return false;
        return true;
      },
      deadline);
  return last;
}

json replication_test_base::tasks(int64_t execution) {
  auto x = get("/api/v2.0/replication/executions/" + std::to_string(execution)
               + "/tasks");
  return x.is_array() ? x : json::array();
}

bool replication_test_base::settled() {
  return poll_until([&] {
    auto m = call("GET", "/metrics");
    return m.status == 200
           && metric_value(m.body, "regevent_backlog_events") == 0.0;
  });
}

std::string
replication_test_base::on_destination(const std::string& repository,
                                      const std::string& reference) {
  auto r = skopeo_.inspect_raw(destination_->ref(repository, reference));
  return r.ok() ? r.output : std::string();
}

std::string replication_test_base::on_source(const std::string& repository,
                                             const std::string& reference) {
  auto r = skopeo_.inspect_raw(source_->ref(repository, reference));
  return r.ok() ? r.output : std::string();
}

} // namespace regevent::test
