// Scan on push end to end: a real `docker-registry` notifies the real
// regeventd, which asks the scanner adapter double (the Pluggable Scanner
// API, tests/fixtures/scanner_adapter_double.py) to scan each manifest
// pushed into a project with auto-scan. The double really pulls the image
// from the registry with the authorization regevent gave it and reports a
// vulnerability for a file named VULNERABLE; its request log is how the
// tests count scans and polls.

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/e2e/scanner_adapter_helper.hpp"
#include "tests/e2e/token_server_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/metrics.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* notify_secret = "scan-notify-secret";
constexpr const char* admin_token = "scan-admin-token";
constexpr const char* sealing_key
    = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
constexpr const char* api_key = "adapter-key-0123456789";
constexpr const char* harbor_report
    = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";

class scan : public ::testing::Test {
protected:
  static std::string tail(const std::string& text, size_t n = 4000) {
    return text.size() <= n ? text : text.substr(text.size() - n);
  }

  void TearDown() override {
    if (!HasFailure())
      return;
    if (daemon_)
      std::cerr << "---- regeventd log (tail)\n" << tail(daemon_->log());
    if (registry_)
      std::cerr << "---- registry log (tail)\n" << tail(registry_->log());
  }

  /// The daemon (short retries, the adapter's user agent internal) and a
  /// registry notifying it, with `registry_auth` (an `auth:` section) and
  /// the daemon's pull credential `user:password` for it; then projects
  /// `scanned` (auto-scan) and `plain`.
  void start(const std::string& registry_auth = "",
             const std::string& user = "", const std::string& password = "",
             const std::string& scanning = "") {
    credentials_ = user.empty() ? std::string() : user + ":" + password;
    daemon_ = std::make_unique<daemon_process>(
        dir_,
        std::string("auth:\n  notify_token: ") + notify_secret
            + "\n  admin_token: " + admin_token + "\nsecrets:\n  key: "
            + sealing_key
            + "\nfilter:\n  internal_user_agents: [regevent-replicator, "
              "regevent-scanner, regevent-inspector, "
            + scanner_adapter_double::user_agent + "]\n");
    daemon_->keep_port_across_restarts();
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
    registry_ = std::make_unique<registry_process>(
        registry_dir_,
        "http://127.0.0.1:" + std::to_string(daemon_->port())
            + "/service/notifications",
        notify_secret, registry_auth);
    ASSERT_TRUE(registry_->start()) << tail(registry_->log());
    // The registry's URL is known only now: the daemon restarts with it.
    ASSERT_EQ(daemon_->stop(), 0);
    if (auto at = adapter_registry_url_.find("{port}");
        at != std::string::npos)
      adapter_registry_url_.replace(at, 6, std::to_string(registry_->port()));
    daemon_->add_config(
        "source_registry:\n  url: " + registry_->url() + "\n  username: \""
        + user + "\"\n  password: \"" + password
        + "\"\nscanning:\n  retry_base_ms: 200\n  retry_max_ms: 1000\n  "
          "max_retries: 30\n  poll_interval_ms: 50\n  claim_lease_ms: 3000\n"
        + scanning
        + (adapter_registry_url_.empty()
               ? std::string()
               : "  registry_url: " + adapter_registry_url_ + "\n"));
    ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
    for (auto [name, auto_scan] : {std::pair{"scanned", "true"},
                                   std::pair{"plain", "false"}}) {
      auto r = call("POST", "/api/v2.0/projects",
                    {{"project_name", name},
                     {"metadata", {{"auto_scan", auto_scan}}}});
      ASSERT_EQ(r.status, 201u) << r.body;
    }
  }

  std::unique_ptr<scanner_adapter_double>
  adapter(scanner_adapter_double::options o = {},
          const std::string& name = "scanner") {
    o.auth = "X-ScannerAdapter-API-Key";
    o.credential = api_key;
    auto a = std::make_unique<scanner_adapter_double>(dir_, o, name);
    EXPECT_TRUE(a->started()) << a->problem();
    return a;
  }

  /// Registers `a` (the first registration is the default).
  std::string register_scanner(const scanner_adapter_double& a) {
    auto r = call("POST", "/api/v2.0/scanners",
                  {{"name", "test-adapter"},
                   {"url", a.url()},
                   {"auth", "X-ScannerAdapter-API-Key"},
                   {"access_credential", api_key}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return json::parse(r.body, nullptr, false).value("uuid", "");
  }

  http_answer call(const std::string& method, const std::string& target,
                   const json& body = nullptr) {
    return daemon_->client().request(
        method, target, body.is_null() ? std::string() : body.dump(),
        {{"Authorization", std::string("Bearer ") + admin_token},
         {"Content-Type", "application/json"}});
  }

  json get(const std::string& target) {
    auto r = call("GET", target);
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  }

  /// Pushes an image whose layer holds `file` with `content`; its digest.
  std::string push(const std::string& repository, const std::string& tag,
                   const std::string& content,
                   const std::string& file = "regevent.txt") {
    auto img = write_oci_image(dir_.file("img-" + std::to_string(++n_)), tag,
                               content, file);
    std::string digest;
    auto r = skopeo_.push(img, registry_->ref(repository, tag), false, &digest,
                          credentials_);
    EXPECT_TRUE(r.ok()) << r.output;
    return digest;
  }

  static std::string artifact_path(const std::string& repository,
                                   const std::string& reference) {
    auto slash = repository.find('/');
    return "/api/v2.0/projects/" + repository.substr(0, slash)
           + "/repositories/" + repository.substr(slash + 1) + "/artifacts/"
           + reference;
  }

  /// The artifact's overview entry of the Harbor 1.0 report once its scan
  /// has ended (null if it did not end in time).
  json ended_overview(const std::string& repository,
                      const std::string& reference,
                      std::chrono::milliseconds deadline = 60s) {
    json last;
    poll_until(
        [&] {
          auto a = get(artifact_path(repository, reference)
                       + "?with_scan_overview=true");
          if (!a.is_object() || !a.contains("scan_overview"))
            return false;
          for (const auto& [mime, x] : a["scan_overview"].items())
            if (x.value("complete_percent", 0) == 100) {
              last = x;
              last["mime"] = mime;
              return true;
            }
          return false;
        },
        deadline);
    return last;
  }

  /// Events journaled and not yet finished (-1 without an answer).
  double backlog() {
    auto m = call("GET", "/metrics");
    return m.status == 200
               ? metric_value(m.body, "regevent_backlog_events").value_or(-1)
               : -1;
  }

  /// `regevent_scans_total` of `outcome` (0 before the first).
  double scans(const std::string& outcome) {
    auto m = call("GET", "/metrics");
    return m.status == 200 ? metric_value(m.body, "regevent_scans_total",
                                          {{"outcome", outcome}})
                                 .value_or(0)
                           : -1;
  }

  /// The adapter's log lines of `kind` with `path` (a prefix), in order.
  static std::vector<json> requests(const scanner_adapter_double& a,
                                    const std::string& method,
                                    const std::string& path) {
    std::vector<json> out;
    for (auto& line : a.log())
      if (line.value("kind", "") == "request"
          && line.value("method", "") == method
          && line.value("path", "").rfind(path, 0) == 0)
        out.push_back(line);
    return out;
  }

  static size_t scans_requested(const scanner_adapter_double& a) {
    size_t n = 0;
    for (const auto& r : requests(a, "POST", "/api/v1/scan"))
      if (r.value("status", 0) == 202)
        ++n;
    return n;
  }

  temp_dir dir_;
  temp_dir registry_dir_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<registry_process> registry_;
  std::string credentials_;
  /// Set before start(): `scanning.registry_url`, with `{port}` replaced
  /// by the registry's port.
  std::string adapter_registry_url_;
  int n_ = 0;
};

TEST_F(scan, auto_scan_scans_each_push_once_and_the_api_shows_the_report) {
  start();
  scanner_adapter_double::options o;
  o.refresh_times = 2;
  o.refresh_after = 1;
  auto a = adapter(o);
  register_scanner(*a);
  auto digest = push("scanned/app", "v1", "Critical", "VULNERABLE");
  push("plain/app", "v1", "not scanned");
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object()) << tail(daemon_->log());
  EXPECT_EQ(x["mime"], harbor_report);
  EXPECT_EQ(x["scan_status"], "Success") << x.dump();
  EXPECT_EQ(x["severity"], "Critical");
  EXPECT_EQ(x["summary"]["total"], 1);
  EXPECT_EQ(x["summary"]["fixable"], 1);
  EXPECT_EQ(x["summary"]["summary"], json({{"Critical", 1}}));
  EXPECT_EQ(x["scanner"]["name"], scanner_adapter_double::scanner_name);
  EXPECT_FALSE(x["report_id"].get<std::string>().empty());
  EXPECT_GE(x["duration"].get<int64_t>(), 0);
  // The stored report is the adapter's, keyed by its media type.
  auto report = get(artifact_path("scanned/app", "v1")
                    + "/additions/vulnerabilities");
  ASSERT_TRUE(report.contains(harbor_report)) << report.dump();
  const auto& vulns = report[harbor_report]["vulnerabilities"];
  ASSERT_EQ(vulns.size(), 1u) << report.dump();
  EXPECT_EQ(vulns[0]["id"], "CVE-TEST-0001");
  EXPECT_EQ(vulns[0]["package"], "VULNERABLE");
  EXPECT_EQ(report[harbor_report]["artifact"]["digest"], digest);
  // The list shows the overview only when asked for it.
  auto listed = get("/api/v2.0/projects/scanned/repositories/app/artifacts"
                    "?with_scan_overview=true");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["scan_overview"][harbor_report]["scan_status"],
            "Success");
  auto bare = get("/api/v2.0/projects/scanned/repositories/app/artifacts");
  EXPECT_FALSE(bare[0].contains("scan_overview"));
  // One scan request, as the spec wants it, naming the pushed artifact
  // and where to pull it from.
  auto posts = requests(*a, "POST", "/api/v1/scan");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["content_type"],
            "application/vnd.scanner.adapter.scan.request+json; version=1.0");
  const auto& body = posts[0]["body"];
  EXPECT_EQ(body["registry"]["url"], registry_->url());
  EXPECT_EQ(body["artifact"]["repository"], "scanned/app");
  EXPECT_EQ(body["artifact"]["digest"], digest);
  EXPECT_EQ(body["artifact"]["tag"], "v1");
  EXPECT_EQ(body["artifact"]["mime_type"], oci_manifest_type);
  // Refresh-After honoured: two 302s, then the report, a second apart.
  auto polls = requests(*a, "GET", "/api/v1/scan/");
  ASSERT_EQ(polls.size(), 3u);
  EXPECT_EQ(polls[0]["status"], 302);
  EXPECT_EQ(polls[1]["status"], 302);
  EXPECT_EQ(polls[2]["status"], 200);
  EXPECT_EQ(polls[2]["accept"], harbor_report);
  for (size_t i = 1; i < polls.size(); ++i)
    EXPECT_GE(polls[i]["time"].get<double>() - polls[i - 1]["time"].get<double>(),
              0.95)
        << "poll " << i << " came before Refresh-After";
  // The adapter really pulled the image (with what regevent gave it)...
  size_t pulled = 0;
  for (const auto& line : a->log())
    if (line.value("kind", "") == "pull" && line.value("status", 0) == 200)
      ++pulled;
  EXPECT_EQ(pulled, 2u); // the manifest and its one layer
  // ...and those pulls counted nowhere: once a real pull (this inspect,
  // notified after them) is counted, theirs would have been.
  ASSERT_TRUE(skopeo_.inspect_raw(registry_->ref("scanned/app", "v1")).ok());
  auto pulls = [&] {
    auto r = get("/api/v2.0/projects/scanned/repositories/app");
    return r.is_object() ? r["pull_count"].get<int64_t>() : -1;
  };
  EXPECT_TRUE(poll_until([&] { return pulls() >= 1; }));
  // Everything journaled is finished: no pull of the adapter's is still
  // on its way to the count.
  ASSERT_TRUE(poll_until([&] { return backlog() == 0.0; }));
  EXPECT_EQ(pulls(), 1);
  // Auto-scan off: nothing asked, nothing shown.
  auto plain = get("/api/v2.0/projects/plain/repositories/app/artifacts"
                   "?with_scan_overview=true");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].contains("scan_overview")) << plain.dump();
  EXPECT_EQ(scans_requested(*a), 1u);
  EXPECT_EQ(scans("success"), 1.0);
}

TEST_F(scan, manual_scans_failures_and_what_the_api_refuses) {
  start();
  // No scanner registered yet: a manual scan has nothing to scan with.
  push("plain/app", "v1", "manual");
  ASSERT_TRUE(poll_until(
      [&] { return get(artifact_path("plain/app", "v1")).is_object(); }));
  auto none = call("POST", artifact_path("plain/app", "v1") + "/scan");
  EXPECT_EQ(none.status, 404u);
  EXPECT_NE(none.body.find("scanner"), std::string::npos) << none.body;
  scanner_adapter_double::options o;
  o.fail_scan = true;
  auto a = adapter(o);
  register_scanner(*a);
  // The push was applied before any scanner existed (its artifact is
  // listed), and `plain` has auto-scan off: only a scan by hand runs.
  EXPECT_EQ(scans_requested(*a), 0u);
  auto accepted = call("POST", artifact_path("plain/app", "v1") + "/scan");
  EXPECT_EQ(accepted.status, 202u) << accepted.body;
  // The adapter's 500 ends the scan: Error, with its message in the log.
  auto x = ended_overview("plain/app", "v1");
  ASSERT_TRUE(x.is_object());
  EXPECT_EQ(x["scan_status"], "Error") << x.dump();
  EXPECT_FALSE(x.contains("summary"));
  auto log = call("GET", artifact_path("plain/app", "v1") + "/scan/"
                             + x["report_id"].get<std::string>() + "/log");
  EXPECT_EQ(log.status, 200u);
  EXPECT_NE(log.body.find("scan failed: --fail-scan"), std::string::npos)
      << log.body;
  EXPECT_EQ(scans_requested(*a), 1u);
  EXPECT_EQ(scans("failed"), 1.0);
  // A failed scan has no report.
  EXPECT_EQ(get(artifact_path("plain/app", "v1")
                + "/additions/vulnerabilities"),
            json::object());
  // What is not there is 404; a method the route does not take, 405.
  EXPECT_EQ(call("POST", artifact_path("plain/app", "nope") + "/scan").status,
            404u);
  EXPECT_EQ(call("GET", artifact_path("plain/nope", "v1")
                            + "/additions/vulnerabilities")
                .status,
            404u);
  EXPECT_EQ(call("GET", artifact_path("plain/app", "v1")
                            + "/scan/no-such-report/log")
                .status,
            404u);
  EXPECT_EQ(call("GET", artifact_path("plain/app", "v1") + "/scan").status,
            405u);
  EXPECT_EQ(call("POST", artifact_path("plain/app", "v1") + "/scan", nullptr)
                .status,
            202u);
}

TEST_F(scan, an_index_is_recorded_unsupported_and_its_platforms_are_scanned) {
  // The adapter is told another name of the registry than regevent uses
  // (scanning.registry_url), and pulls through it.
  adapter_registry_url_ = "http://localhost:{port}";
  start();
  auto a = adapter();
  register_scanner(*a);
  auto index = write_oci_index(dir_.file("index"), "multi", "multi",
                               {"amd64", "arm64"});
  std::string index_digest;
  auto r = skopeo_.push(index, registry_->ref("scanned/multi", "multi"),
                        &index_digest);
  ASSERT_TRUE(r.ok()) << r.output;
  // Each platform manifest, pushed by digest, is scanned on its own.
  for (const auto& child : index.manifest_digests) {
    auto x = ended_overview("scanned/multi", child);
    ASSERT_TRUE(x.is_object()) << child;
    EXPECT_EQ(x["scan_status"], "Success") << x.dump();
    EXPECT_EQ(x["severity"], "None");
  }
  // The index itself is not sent to the adapter; why is recorded.
  auto x = ended_overview("scanned/multi", "multi");
  ASSERT_TRUE(x.is_object());
  EXPECT_EQ(x["scan_status"], "Unsupported") << x.dump();
  auto log = call("GET", artifact_path("scanned/multi", "multi") + "/scan/"
                             + x["report_id"].get<std::string>() + "/log");
  EXPECT_NE(log.body.find("image index"), std::string::npos) << log.body;
  EXPECT_EQ(scans_requested(*a), 2u);
  for (const auto& post : requests(*a, "POST", "/api/v1/scan")) {
    EXPECT_NE(post["body"]["artifact"]["digest"], index_digest);
    EXPECT_EQ(post["body"]["registry"]["url"], adapter_registry_url_);
  }
  EXPECT_EQ(scans("unsupported"), 1.0);
}

TEST_F(scan, an_adapter_that_is_down_is_retried_until_it_is_back) {
  start();
  auto a = adapter();
  register_scanner(*a);
  auto port = a->port();
  a.reset(); // down
  push("scanned/app", "v1", "while down");
  ASSERT_TRUE(poll_until([&] {
    return scans("retry") >= 2.0;
  })) << tail(daemon_->log());
  auto waiting = get(artifact_path("scanned/app", "v1")
                     + "?with_scan_overview=true");
  EXPECT_EQ(waiting["scan_overview"][harbor_report]["scan_status"], "Pending")
      << waiting.dump();
  scanner_adapter_double::options o;
  o.port = port;
  a = adapter(o, "scanner-again");
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object());
  EXPECT_EQ(x["scan_status"], "Success") << x.dump();
  EXPECT_EQ(scans_requested(*a), 1u);
}

TEST_F(scan, the_adapter_pulls_a_token_registry_with_the_bearer_token_given) {
  constexpr const char* user = "scan-robot";
  constexpr const char* password = "s3cret-Pa55word";
  token_server_double tokens(dir_, user, password);
  ASSERT_TRUE(tokens.started()) << tokens.problem();
  start(tokens.registry_auth(), user, password);
  auto a = adapter();
  register_scanner(*a);
  push("scanned/app", "v1", "behind a token");
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object()) << tail(daemon_->log());
  // The registry answers nobody without a token: the adapter's pulls
  // worked with the one regevent fetched for the repository's pull scope.
  EXPECT_EQ(x["scan_status"], "Success") << x.dump();
  bool asked = false;
  for (const auto& r : tokens.requests())
    if (r.value("user_agent", "").rfind("regevent-scanner/", 0) == 0) {
      asked = true;
      EXPECT_EQ(r["user"], user);
      EXPECT_NE(r["scopes"].dump().find("repository:scanned/app:pull"),
                std::string::npos)
          << r.dump();
    }
  EXPECT_TRUE(asked);
  auto posts = requests(*a, "POST", "/api/v1/scan");
  ASSERT_EQ(posts.size(), 1u);
  auto authorization = posts[0]["body"]["registry"]["authorization"];
  EXPECT_EQ(authorization.get<std::string>().rfind("Bearer ", 0), 0u);
  // Never in the daemon's log.
  auto token = authorization.get<std::string>().substr(7);
  EXPECT_EQ(daemon_->log().find(token), std::string::npos);
  EXPECT_EQ(daemon_->log().find(password), std::string::npos);
}

TEST_F(scan, the_adapter_pulls_an_htpasswd_registry_with_basic_auth) {
  constexpr const char* user = "scan-robot";
  constexpr const char* password = "Basic-Pa55word";
  start(htpasswd_section(registry_dir_, user, password), user, password);
  auto a = adapter();
  register_scanner(*a);
  push("scanned/app", "v1", "behind htpasswd");
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object()) << tail(daemon_->log());
  // The registry answers 401 without the credential: the pulls worked.
  EXPECT_EQ(x["scan_status"], "Success") << x.dump();
  auto posts = requests(*a, "POST", "/api/v1/scan");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["body"]["registry"]["authorization"],
            "Basic c2Nhbi1yb2JvdDpCYXNpYy1QYTU1d29yZA==");
  EXPECT_EQ(daemon_->log().find(password), std::string::npos);
}

TEST_F(scan, a_report_that_never_comes_fails_at_the_deadline) {
  start("", "", "", "  report_deadline_s: 2\n");
  scanner_adapter_double::options o;
  o.refresh_times = 1000;
  o.refresh_after = 1;
  auto a = adapter(o);
  register_scanner(*a);
  push("scanned/app", "v1", "slow");
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object());
  EXPECT_EQ(x["scan_status"], "Error") << x.dump();
  auto log = call("GET", artifact_path("scanned/app", "v1") + "/scan/"
                             + x["report_id"].get<std::string>() + "/log");
  EXPECT_NE(log.body.find("no report within scanning.report_deadline_s"),
            std::string::npos)
      << log.body;
  // Polled a second apart for the deadline's two seconds (fewer on a
  // machine slow to answer), then no more.
  auto polls = requests(*a, "GET", "/api/v1/scan/").size();
  EXPECT_GE(polls, 1u);
  EXPECT_LE(polls, 4u);
  // No poll after the end: another push's scan, accepted and polled later
  // by the same worker, passes while the first one's count stays.
  push("scanned/app", "v2", "later");
  ASSERT_TRUE(poll_until([&] {
    return requests(*a, "GET", "/api/v1/scan/").size() > polls
           && scans_requested(*a) == 2;
  }));
  auto first = requests(*a, "POST", "/api/v1/scan")[0]["scan_id"];
  size_t of_first = 0;
  for (const auto& p : requests(*a, "GET", "/api/v1/scan/"))
    if (p["scan_id"] == first)
      ++of_first;
  EXPECT_EQ(of_first, polls);
}

TEST_F(scan, sigkill_mid_scan_resumes_polling_the_same_request) {
  start();
  scanner_adapter_double::options o;
  o.refresh_times = 4;
  o.refresh_after = 1;
  auto a = adapter(o);
  register_scanner(*a);
  push("scanned/app", "v1", "killed");
  // The adapter took the scan and was polled: the daemon dies there.
  ASSERT_TRUE(poll_until(
      [&] { return !requests(*a, "GET", "/api/v1/scan/").empty(); }));
  daemon_->kill_hard();
  ASSERT_TRUE(daemon_->start()) << tail(daemon_->log());
  auto x = ended_overview("scanned/app", "v1");
  ASSERT_TRUE(x.is_object()) << tail(daemon_->log());
  EXPECT_EQ(x["scan_status"], "Success") << x.dump();
  // Scanned once: one request, whose id every poll named, before and
  // after the restart.
  auto posts = requests(*a, "POST", "/api/v1/scan");
  ASSERT_EQ(posts.size(), 1u);
  auto id = posts[0]["scan_id"].get<std::string>();
  auto polls = requests(*a, "GET", "/api/v1/scan/");
  ASSERT_GE(polls.size(), 5u);
  for (const auto& p : polls)
    EXPECT_EQ(p["scan_id"], id);
  EXPECT_EQ(polls.back()["status"], 200);
}

} // namespace
} // namespace regevent::test
