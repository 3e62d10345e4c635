// The router over a real actor_runtime on a temporary SQLite database,
// called directly (no sockets): which handler each request reaches, the
// status codes of ingest and of the management API, the mapping of the
// actors' error codes, and the headers the router builds from untrusted
// query values.

#include "http/router.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/system.hpp"
#include "config/config.hpp"
#include "config/defaults.hpp"
#include "http/answers.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/metrics.hpp"
#include "tests/fixtures/poll.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <caf/sec.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* admin_token = "admin-secret";
constexpr const char* notify_token = "notify-secret";
constexpr const char* events_v1
    = "application/vnd.docker.distribution.events.v1+json";

/// The transport's side of one request: keeps the answer and counts how
/// often `reply` was called (the contract says at most once).
class captured_reply : public reply_sink {
public:
  void reply(http_response response) override {
    std::lock_guard<std::mutex> guard(mtx_);
    ++replies_;
    response_ = std::move(response);
    answered_.notify_all();
  }

  /// The answer, once it came; nullopt when none came before `deadline`.
  std::optional<http_response> wait(std::chrono::milliseconds deadline) {
    std::unique_lock<std::mutex> lock(mtx_);
    answered_.wait_for(lock, deadline, [this] { return replies_ > 0; });
    return response_;
  }

  int replies() {
    std::lock_guard<std::mutex> guard(mtx_);
    return replies_;
  }

private:
  std::mutex mtx_;
  std::condition_variable answered_;
  int replies_ = 0;
  std::optional<http_response> response_;
};

/// The values of every header called `name` (case as the router writes it).
std::vector<std::string> headers_named(const http_response& r,
                                       const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers)
    if (k == name)
      out.push_back(v);
  return out;
}

/// The one header called `name`; empty (and a failure) when there is not
/// exactly one.
std::string header(const http_response& r, const std::string& name) {
  auto values = headers_named(r, name);
  EXPECT_EQ(values.size(), 1u) << "header " << name;
  return values.size() == 1 ? values[0] : std::string{};
}

/// The `code` of an error body of DESIGN §5.
std::string error_code(const http_response& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.contains("errors"))
    return "(no error body: " + r.body + ")";
  return body["errors"][0]["code"].get<std::string>();
}

std::string error_message(const http_response& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.contains("errors"))
    return {};
  return body["errors"][0]["message"].get<std::string>();
}

class router_test : public ::testing::Test {
protected:
  /// Prepares the database as regeventd does (migrations, the default
  /// project, this instance's heartbeat), then starts the actors and the
  /// router over it. `extra_yaml` is appended at the top level.
  void start(const std::string& extra_yaml = {}) {
    db_path_ = dir_.file("regevent.db");
    auto cfg = load_config_from_string("database:\n  url: sqlite://" + db_path_
                                       + "\n" + extra_yaml);
    rt_.cfg = std::make_shared<const config>(std::move(cfg));
    rt_.stats = std::make_shared<metrics>();
    rt_.status = std::make_shared<health>();
    rt_.instance_id = "router-test";
    {
      database db(*rt_.cfg);
      migrate(db);
      ensure_project(db, rt_.cfg->filter.default_project);
      journal_store(db).heartbeat(rt_.instance_id, now_us());
    }
    actors_ = std::make_unique<actor_runtime>(rt_);
    route_ = std::make_unique<router>(rt_, *actors_);
  }

  void TearDown() override {
    route_.reset();
    if (actors_)
      actors_->stop();
    actors_.reset();
  }

  /// One request through the router; the answer, or status 0 (and a
  /// failure) when none came.
  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::string& content_type = {},
                     const std::string& authorization = {}) {
    incoming_request req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.content_type = content_type;
    req.authorization = authorization;
    req.request_id = "test-request";
    req.remote = "127.0.0.1:1";
    auto sink = std::make_shared<captured_reply>();
    (*route_)(std::move(req), sink);
    auto answer = sink->wait(10s);
    if (!answer) {
      ADD_FAILURE() << method << " " << target << " got no answer";
      return http_response{0, {}, {}, {}};
    }
    EXPECT_EQ(sink->replies(), 1) << method << " " << target;
    return *answer;
  }

  /// A management API call with the admin token.
  http_response api(const std::string& method, const std::string& target,
                    const std::string& body = {}) {
    return call(method, target, body, "application/json",
                std::string("Bearer ") + admin_token);
  }

  http_response notify(const std::string& body,
                       const std::string& content_type = events_v1,
                       const std::string& authorization
                       = std::string("Bearer ") + notify_token) {
    return call("POST", "/service/notifications", body, content_type,
                authorization);
  }

  long long count(const std::string& query) {
    return sql_scalar(db_path_, query);
  }

  /// alpha, beta and gamma beside the default project: four in all, for
  /// the paging tests.
  void create_three_projects() {
    for (auto name : {"alpha", "beta", "gamma"})
      ASSERT_EQ(api("POST", "/api/v2.0/projects",
                    std::string(R"({"project_name":")") + name + "\"}")
                    .status,
                201u);
  }

  /// How many requests the router counted for `route` with `code`; -1
  /// when none.
  double counted(const std::string& route, unsigned code) {
    return metric_value(rt_.stats->render(), "regevent_http_requests_total",
                        {{"route", route}, {"code", std::to_string(code)}})
        .value_or(-1);
  }

  temp_dir dir_;
  std::string db_path_;
  runtime rt_;
  std::unique_ptr<actor_runtime> actors_;
  std::unique_ptr<router> route_;
};

/// Admin token on, notify token on.
const std::string both_tokens = std::string("auth:\n  admin_token: ")
                                + admin_token
                                + "\n  notify_token: " + notify_token + "\n";

// --- routing -------------------------------------------------------------

TEST_F(router_test, each_path_reaches_its_handler_and_is_counted_by_route) {
  start(both_tokens);
  auto healthz = call("GET", "/healthz");
  EXPECT_EQ(healthz.status, 200u);
  EXPECT_EQ(json::parse(healthz.body), json({{"status", "ok"}}));
  // The query is not part of the path.
  EXPECT_EQ(call("HEAD", "/healthz?verbose=1").status, 200u);

  auto readyz = call("GET", "/readyz");
  EXPECT_EQ(readyz.status, 200u);
  EXPECT_EQ(json::parse(readyz.body), json({{"status", "ready"}}));

  auto projects = api("GET", "/api/v2.0/projects");
  ASSERT_EQ(projects.status, 200u) << projects.body;
  auto list = json::parse(projects.body);
  ASSERT_EQ(list.size(), 1u) << projects.body;
  EXPECT_EQ(list[0]["name"], "library");

  auto ingest = notify("{", events_v1);
  EXPECT_EQ(ingest.status, 400u);

  for (auto target : {"/nowhere", "/healthzz", "/api", "/service/notification",
                      "/api/v1/projects", "/api/v2.0/unknown"}) {
    auto r = api("GET", target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(error_code(r), "NOT_FOUND") << target;
  }

  auto m = call("GET", "/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  // The exposition is the registry's: the answers before it are in it.
  EXPECT_EQ(metric_value(m.body, "regevent_http_requests_total",
                         {{"route", "healthz"}, {"code", "200"}}),
            std::optional<double>(2.0));
  // Every answer is counted by the route it took: a request routed to the
  // wrong handler is counted under another name.
  EXPECT_EQ(counted("healthz", 200), 2.0);
  EXPECT_EQ(counted("readyz", 200), 1.0);
  EXPECT_EQ(counted("notifications", 400), 1.0);
  EXPECT_EQ(counted("api", 200), 1.0);
  // /api/v1/projects and /api/v2.0/unknown are the API's own 404s.
  EXPECT_EQ(counted("api", 404), 2.0);
  EXPECT_EQ(counted("other", 404), 4.0);
  EXPECT_EQ(counted("metrics", 200), 1.0);
}

TEST_F(router_test, an_unknown_path_is_404_naming_the_path_without_query) {
  start();
  auto r = call("GET", "/nowhere?x=1");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(error_code(r), "NOT_FOUND");
  EXPECT_EQ(error_message(r), "no route for /nowhere");
}

TEST_F(router_test, readyz_answers_503_with_the_reason_once_a_part_failed) {
  start();
  ASSERT_EQ(call("GET", "/readyz").status, 200u);
  rt_.status->set_failed("journal stopped: test");
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(error_code(r), "NOT_READY");
  EXPECT_EQ(error_message(r), "journal stopped: test");
  // Liveness is not readiness.
  EXPECT_EQ(call("GET", "/healthz").status, 200u);
}

TEST_F(router_test, a_wrong_method_is_405_with_the_allowed_ones) {
  start(both_tokens);
  struct case_t {
    const char* method;
    const char* target;
    const char* allow;
  };
  const case_t cases[] = {
      {"GET", "/service/notifications", "POST"},
      {"PUT", "/service/notifications", "POST"},
      {"POST", "/healthz", "GET"},
      {"POST", "/readyz", "GET"},
      {"DELETE", "/metrics", "GET"},
      {"DELETE", "/api/v2.0/projects", "GET, HEAD, POST"},
      {"PUT", "/api/v2.0/projects/library", "GET"},
      {"POST", "/api/v2.0/projects/library/repositories", "GET"},
      {"POST", "/api/v2.0/audit-logs", "GET"},
      {"DELETE", "/api/v2.0/dead-letters", "GET"},
      {"GET", "/api/v2.0/dead-letters/1/replay", "POST"},
  };
  for (const auto& c : cases) {
    auto r = api(c.method, c.target);
    EXPECT_EQ(r.status, 405u) << c.method << " " << c.target;
    EXPECT_EQ(error_code(r), "METHOD_NOT_ALLOWED") << c.target;
    EXPECT_EQ(header(r, "Allow"), c.allow) << c.method << " " << c.target;
  }
  // Nothing was ingested by a GET or PUT on the ingest path.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 0);
}

// --- ingest --------------------------------------------------------------

TEST_F(router_test,
       ingest_without_the_notify_token_is_401_and_journals_nothing) {
  start(both_tokens);
  auto fixture = registry_fixture("03-push-manifest-oci-tag.json");
  for (auto authorization :
       {std::string{}, std::string("Bearer wrong"),
        std::string("Basic ") + notify_token, std::string(notify_token),
        std::string("Bearer ") + admin_token}) {
    auto r = notify(fixture, events_v1, authorization);
    EXPECT_EQ(r.status, 401u) << "'" << authorization << "'";
    EXPECT_EQ(error_code(r), "UNAUTHORIZED");
    EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"regevent\"");
  }
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(
      notify(fixture, events_v1, std::string("bearer ") + notify_token).status,
      200u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 1);
}

TEST_F(router_test, ingest_without_a_configured_token_needs_no_authorization) {
  start();
  auto r = notify(registry_fixture("03-push-manifest-oci-tag.json"), events_v1,
                  "");
  EXPECT_EQ(r.status, 200u) << r.body;
}

TEST_F(router_test, ingest_checks_the_token_before_the_content_type) {
  start(both_tokens);
  // Without the token, a caller learns nothing about what would be taken.
  EXPECT_EQ(notify("{", "text/plain", "").status, 401u);
}

TEST_F(router_test, ingest_of_another_content_type_is_415) {
  start(both_tokens);
  auto fixture = registry_fixture("03-push-manifest-oci-tag.json");
  for (auto type : {"text/plain", "", "application/xml",
                    "application/vnd.docker.distribution.events.v3+json"}) {
    auto r = notify(fixture, type);
    EXPECT_EQ(r.status, 415u) << "'" << type << "'";
    EXPECT_EQ(error_code(r), "UNSUPPORTED_MEDIA_TYPE");
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 0);
  // Parameters, case and the other accepted types pass.
  for (auto type : {"Application/JSON; charset=utf-8",
                    "application/vnd.docker.distribution.events.v2+json"})
    EXPECT_EQ(notify(fixture, type).status, 200u) << type;
}

TEST_F(router_test, ingest_of_malformed_json_is_400_and_journals_nothing) {
  start(both_tokens);
  for (auto body :
       {"{", "", "not json", "{\"events\": [", "[]", "{\"events\": {}}"}) {
    auto r = notify(body);
    EXPECT_EQ(r.status, 400u) << "'" << body << "'";
    EXPECT_EQ(error_code(r), "BAD_REQUEST") << body;
    EXPECT_FALSE(error_message(r).empty()) << body;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM events"), 0);
}

TEST_F(router_test,
       a_registry_fixture_is_accepted_and_then_visible_in_the_api) {
  start(both_tokens);
  auto fixture = registry_fixture("03-push-manifest-oci-tag.json");
  auto r = notify(fixture);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json({{"accepted", 1}, {"duplicates", 0}, {"ignored", 0}}));
  // Sent again, as a registry does after a slow answer.
  auto again = notify(fixture);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(json::parse(again.body),
            json({{"accepted", 0}, {"duplicates", 1}, {"ignored", 0}}));

  // The effects run after the answer: poll until the repository appears.
  json repos;
  ASSERT_TRUE(poll_until(
      [&] {
        auto x = api("GET", "/api/v2.0/projects/library/repositories");
        repos = json::parse(x.body, nullptr, false);
        return x.status == 200 && repos.is_array() && repos.size() == 1
               && repos[0]["artifact_count"] == 1;
      },
      20s))
      << repos.dump();
  EXPECT_EQ(repos[0]["name"], "library/hello");

  auto repo = api("GET", "/api/v2.0/projects/library/repositories/hello");
  ASSERT_EQ(repo.status, 200u) << repo.body;
  EXPECT_EQ(json::parse(repo.body)["name"], "library/hello");

  auto artifacts
      = api("GET", "/api/v2.0/projects/library/repositories/hello/artifacts");
  ASSERT_EQ(artifacts.status, 200u) << artifacts.body;
  EXPECT_EQ(header(artifacts, "X-Total-Count"), "1");
  auto items = json::parse(artifacts.body);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["digest"], "sha256:ac336651fca2240140126c56a6ec25b80d273d"
                                "fabef8f755a856dc5db47ac41e");
  EXPECT_EQ(items[0]["media_type"],
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(items[0]["size"], 401);
  ASSERT_EQ(items[0]["tags"].size(), 1u);
  EXPECT_EQ(items[0]["tags"][0]["name"], "1.0");

  json logs;
  ASSERT_TRUE(poll_until(
      [&] {
        auto x = api("GET",
                     "/api/v2.0/audit-logs?operation=push&with_event_id=true");
        logs = json::parse(x.body, nullptr, false);
        return x.status == 200 && logs.is_array() && logs.size() == 1;
      },
      20s))
      << logs.dump();
  EXPECT_EQ(logs[0]["resource"], "library/hello:1.0");
  EXPECT_EQ(logs[0]["event_id"], "a2c3ad3b-d961-46f9-a0d8-7988ad6c1e30");

  auto project = api("GET", "/api/v2.0/projects/library");
  ASSERT_EQ(project.status, 200u);
  EXPECT_EQ(json::parse(project.body)["repo_count"], 1);
}

// --- the management API ----------------------------------------------------

TEST_F(router_test, the_api_is_off_without_an_admin_token) {
  start();
  auto r = call("GET", "/api/v2.0/projects", {}, {}, "Bearer anything");
  EXPECT_EQ(r.status, 401u);
  EXPECT_NE(error_message(r).find("auth.admin_token"), std::string::npos)
      << r.body;
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"regevent\"");
}

TEST_F(router_test, the_api_needs_the_admin_token) {
  start(both_tokens);
  auto none = call("GET", "/api/v2.0/projects");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer realm=\"regevent\"");
  auto wrong = call("GET", "/api/v2.0/projects", {}, {}, "Bearer wrong");
  EXPECT_EQ(wrong.status, 403u);
  EXPECT_EQ(error_code(wrong), "FORBIDDEN");
  // The notify token opens ingest, not the API.
  EXPECT_EQ(call("GET", "/api/v2.0/projects", {}, {},
                 std::string("Bearer ") + notify_token)
                .status,
            403u);
}

TEST_F(router_test, what_does_not_exist_is_404) {
  start(both_tokens);
  struct case_t {
    const char* target;
    const char* message;
  };
  const case_t cases[] = {
      {"/api/v2.0/projects/nope", "project nope not found"},
      {"/api/v2.0/projects/nope/repositories", "project nope not found"},
      {"/api/v2.0/projects/library/repositories/nope",
       "repository library/nope not found"},
      {"/api/v2.0/projects/library/repositories/nope/artifacts",
       "repository library/nope not found"},
  };
  for (const auto& c : cases) {
    auto r = api("GET", c.target);
    EXPECT_EQ(r.status, 404u) << c.target;
    EXPECT_EQ(error_code(r), "NOT_FOUND") << c.target;
    EXPECT_EQ(error_message(r), c.message) << c.target;
  }
  auto replay = api("POST", "/api/v2.0/dead-letters/999/replay");
  EXPECT_EQ(replay.status, 404u) << replay.body;
  EXPECT_EQ(error_message(replay), "dead letter 999 not found");
}

TEST_F(router_test, creating_a_project_is_201_and_a_taken_name_409) {
  start(both_tokens);
  auto created = api("POST", "/api/v2.0/projects",
                     R"({"project_name":"team","metadata":{"public":"true"}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(header(created, "Location"), "/api/v2.0/projects/team");
  EXPECT_TRUE(created.body.empty());

  auto got = api("GET", "/api/v2.0/projects/team");
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(json::parse(got.body)["metadata"]["public"], "true");

  auto again = api("POST", "/api/v2.0/projects", R"({"project_name":"team"})");
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(error_code(again), "CONFLICT");
  EXPECT_EQ(error_message(again), "project team already exists");
  // The default project exists from the start.
  EXPECT_EQ(
      api("POST", "/api/v2.0/projects", R"({"project_name":"library"})").status,
      409u);
}

TEST_F(router_test, a_bad_project_body_is_400_and_creates_nothing) {
  start(both_tokens);
  for (auto body :
       {"{", "[]", "{}", R"({"project_name":7})", R"({"project_name":""})",
        R"({"project_name":"Big"})", R"({"project_name":"a/b"})",
        R"({"project_name":"ok","metadata":[]})",
        R"({"project_name":"ok","metadata":{"public":"yes"}})"}) {
    auto r = api("POST", "/api/v2.0/projects", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_EQ(error_code(r), "BAD_REQUEST") << body;
  }
  EXPECT_EQ(api("GET", "/api/v2.0/projects/ok").status, 404u);
}

TEST_F(router_test, bad_paging_and_filter_parameters_are_400) {
  start(both_tokens);
  const std::string too_big = std::to_string(defaults::api::max_page_size + 1);
  for (const std::string& query : std::vector<std::string>{
           "page=0", "page=-1", "page=abc", "page=", "page=1.5", "page=1e3",
           "page=1000000001", "page=9999999999", "page_size=0",
           "page_size=x"}) {
    auto target = std::string("/api/v2.0/projects?") + query;
    auto r = api("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(error_code(r), "BAD_REQUEST") << target;
  }
  // Past Harbor's bound, as go-swagger answers it.
  auto over = api("GET", "/api/v2.0/projects?page_size=" + too_big);
  EXPECT_EQ(over.status, 422u);
  EXPECT_EQ(error_code(over), "UNPROCESSABLE_ENTITY");
  // The largest page size is taken.
  EXPECT_EQ(api("GET", "/api/v2.0/projects?page_size="
                           + std::to_string(defaults::api::max_page_size))
                .status,
            200u);
  for (auto query : {"operation=fly", "op_time=yesterday", "op_time=[a~b]",
                     "q=operation", "from=not-a-time"}) {
    auto target = std::string("/api/v2.0/audit-logs?") + query;
    auto r = api("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
  }
  for (auto id : {"abc", "0", "-1", "1000000000001", "99999999999999999999"}) {
    auto replay
        = api("POST", std::string("/api/v2.0/dead-letters/") + id + "/replay");
    EXPECT_EQ(replay.status, 400u) << id;
    EXPECT_EQ(error_code(replay), "BAD_REQUEST") << id;
  }
}

TEST_F(router_test, the_largest_page_and_dead_letter_id_are_taken) {
  start(both_tokens);
  // The bounds in api.cpp: page up to 10^9, dead letter ids up to 10^12.
  // A length guard of nine digits once refused both with 400.
  auto far = api("GET", "/api/v2.0/projects?page=1000000000");
  ASSERT_EQ(far.status, 200u) << far.body;
  EXPECT_EQ(json::parse(far.body), json::array());
  EXPECT_EQ(api("GET", "/api/v2.0/projects?page=0000000001").status, 200u);
  for (auto id : {"1000000000", "1000000000000"}) {
    auto replay
        = api("POST", std::string("/api/v2.0/dead-letters/") + id + "/replay");
    EXPECT_EQ(replay.status, 404u) << id << " " << replay.body;
    EXPECT_EQ(error_message(replay),
              std::string("dead letter ") + id + " not found");
  }
}

TEST_F(router_test, list_answers_carry_the_total_and_links_to_neighbours) {
  start(both_tokens);
  create_three_projects();
  auto first = api("GET", "/api/v2.0/projects?page_size=2");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(header(first, "X-Total-Count"), "4");
  EXPECT_EQ(json::parse(first.body).size(), 2u);
  EXPECT_EQ(header(first, "Link"),
            "</api/v2.0/projects?page=2&page_size=2>; rel=\"next\"");
  auto last = api("GET", "/api/v2.0/projects?page=2&page_size=2");
  EXPECT_EQ(header(last, "Link"),
            "</api/v2.0/projects?page=1&page_size=2>; rel=\"prev\"");
  // One page holds everything: no Link at all.
  auto all = api("GET", "/api/v2.0/projects");
  EXPECT_TRUE(headers_named(all, "Link").empty());
  EXPECT_EQ(header(all, "X-Total-Count"), "4");
}

TEST_F(router_test, query_values_reach_the_link_header_only_percent_encoded) {
  start(both_tokens);
  create_three_projects();
  // A decoded CR LF in a query value (or key) must not reach a header as
  // one: it would let the caller write headers of its own.
  auto r = api("GET", "/api/v2.0/projects?page=2&page_size=1&"
                      "x=a%0D%0AX-Injected:%201&k%0A%0Dy=%0d%0a&s=a+b");
  ASSERT_EQ(r.status, 200u) << r.body;
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(name.find_first_of("\r\n"), std::string::npos) << name;
    EXPECT_EQ(value.find_first_of("\r\n"), std::string::npos)
        << name << ": " << value;
  }
  // Each value decodes to what was sent: the map orders the keys, `+` in a
  // query is a space.
  const std::string kept
      = "k%0A%0Dy=%0D%0A&s=a%20b&x=a%0D%0AX-Injected%3A%201&";
  EXPECT_EQ(header(r, "Link"), "</api/v2.0/projects?" + kept
                                   + "page=1&page_size=1>; rel=\"prev\", "
                                     "</api/v2.0/projects?"
                                   + kept
                                   + "page=3&page_size=1>; rel=\"next\"");
}

// --- the mapping of the actors' errors -----------------------------------

TEST(answer_error, maps_each_code_to_its_status) {
  auto not_found
      = answer_error(make_error(ec::not_found, "project x not found"), 7);
  EXPECT_EQ(not_found.status, 404u);
  EXPECT_EQ(error_code(not_found), "NOT_FOUND");
  EXPECT_EQ(error_message(not_found), "project x not found");
  EXPECT_TRUE(headers_named(not_found, "Retry-After").empty());

  auto taken = answer_error(make_error(ec::already_exists, "taken"), 7);
  EXPECT_EQ(taken.status, 409u);
  EXPECT_EQ(error_code(taken), "CONFLICT");

  auto failed
      = answer_error(make_error(ec::database_error, "no such table"), 7);
  EXPECT_EQ(failed.status, 500u);
  EXPECT_EQ(error_code(failed), "INTERNAL");
  EXPECT_EQ(error_message(failed), "database error: no such table");
  EXPECT_TRUE(headers_named(failed, "Retry-After").empty());

  // Whatever the caller may retry as is: 503 with Retry-After.
  for (auto code :
       {ec::database_unavailable, ec::database_conflict, ec::shutting_down,
        ec::overloaded, ec::effect_unavailable, ec::injected_fault}) {
    auto r = answer_error(make_error(code, "busy"), 7);
    EXPECT_EQ(r.status, 503u) << to_string(code);
    EXPECT_EQ(error_code(r), "SERVICE_UNAVAILABLE") << to_string(code);
    EXPECT_EQ(header(r, "Retry-After"), "7") << to_string(code);
    EXPECT_EQ(error_message(r), "busy");
  }
  // A timeout of the request to the actors carries no context of ours.
  auto timeout = answer_error(caf::make_error(caf::sec::request_timeout), 3);
  EXPECT_EQ(timeout.status, 503u);
  EXPECT_EQ(header(timeout, "Retry-After"), "3");
  EXPECT_FALSE(error_message(timeout).empty());
}

} // namespace
} // namespace regevent::test
