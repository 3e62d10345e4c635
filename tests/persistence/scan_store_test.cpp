// Scanning's outbox and work queue on a real SQLite file: the effect writes
// one scan task per push into an auto-scan project exactly once, a lease
// guards every outcome, an accepted scan comes back with its request id,
// an end keeps the report, replaces the artifact's older scans and queues
// its SCANNING_* deliveries, and the reports read back as Harbor's
// overview.

#include "persistence/scan_work_store.hpp"

#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/scanner_store.hpp"
#include "persistence/secret_box.hpp"
#include "tests/persistence/store_fixture.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace regevent {
namespace {

using json = nlohmann::json;

const std::string key = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
const std::string oci = "application/vnd.oci.image.manifest.v1+json";

/// A HarborVulnerabilityReport as an adapter sends it.
std::string report_of(const std::vector<std::pair<std::string, std::string>>&
                          severity_and_fix) {
  json vulns = json::array();
  int n = 0;
  for (const auto& [severity, fix] : severity_and_fix)
    vulns.push_back({{"id", "CVE-" + std::to_string(++n)},
                     {"package", "p"},
                     {"version", "1"},
                     {"fix_version", fix},
                     {"severity", severity}});
  return json{{"severity", "Unknown"}, {"vulnerabilities", vulns}}.dump();
}

class scan_store_test : public ::testing::Test {
protected:
  scan_store_test()
      : box(key),
        scanners(f.db(), box),
        work(f.db(), box),
        outbox(make_effect_store(effect_kind::scanning, f.db(),
                                 unknown_project_policy::create)) {
    catalog_store catalog(f.db());
    project_spec on;
    on.name = "scanned";
    on.auto_scan = true;
    catalog.create_project(on);
    project_spec off;
    off.name = "plain";
    catalog.create_project(off);
  }

  std::string add_scanner(const std::string& name) {
    scanner_spec s;
    s.name = name;
    s.url = "http://adapter.example";
    s.auth = scanner_auth::api_key;
    s.access_credential = "key-" + name;
    s.has_access_credential = true;
    auto uuid = new_uuid();
    EXPECT_EQ(scanners.create(s, uuid, 1).outcome, scanner_outcome::ok);
    return uuid;
  }

  std::vector<bool> apply(const std::vector<event_record>& events) {
    std::vector<effect_input> inputs;
    for (const auto& e : events) {
      effect_input p;
      p.event = e;
      p.project = e.repository.substr(0, e.repository.find('/'));
      inputs.push_back(std::move(p));
    }
    std::vector<const effect_input*> pointers;
    for (const auto& p : inputs)
      pointers.push_back(&p);
    std::vector<bool> applied;
    write_transaction tx(f.db());
    outbox->apply(pointers, applied);
    tx.commit();
    return applied;
  }

  event_record push(const std::string& id, const std::string& repository,
                    const std::string& digest) {
    auto e = test::make_event(id, "push");
    e.seq = ++seq;
    e.repository = repository;
    e.tag = "v1";
    e.digest = digest;
    return e;
  }

  /// The artifact and its tag as the artifacts effect keeps them.
  void add_artifact(const std::string& repository, const std::string& digest,
                    const std::string& tag) {
    f.sql() << "INSERT INTO artifacts (repository, digest, media_type, "
               "push_time, alive_at) VALUES (:r, :d, :m, 5, 5)",
        soci::use(repository), soci::use(digest), soci::use(oci);
    f.sql() << "INSERT INTO tags (repository, name, digest, push_time, "
               "alive_at, digest_at) VALUES (:r, :n, :d, 5, 5, 5)",
        soci::use(repository), soci::use(tag), soci::use(digest);
  }

  std::vector<scan_job> claim(size_t n = 10) {
    return work.claim(t(0), n, t(60'000'000));
  }

  void record(scan_outcome_record o) {
    work.record({o}, t(1'000'000));
  }

  scan_outcome_record outcome(const scan_job& j, const char* status) {
    scan_outcome_record o;
    o.task_id = j.task_id;
    o.lease = j.lease;
    o.status = status;
    o.request_id = j.request_id;
    o.report_mime = j.report_mime;
    return o;
  }

  timestamp_us t(timestamp_us offset) const {
    return base + offset;
  }

  test::store_fixture f;
  secret_box box;
  scanner_store scanners;
  scan_work_store work;
  std::unique_ptr<effect_store> outbox;
  long long seq = 0;
  timestamp_us base = now_us() + 10'000'000;
};

TEST_F(scan_store_test, a_push_into_an_auto_scan_project_is_queued_once) {
  // No scanner registered: nothing to scan with, nothing queued.
  apply({push("e0", "scanned/app", "sha256:00")});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scan_tasks"), 0);
  auto uuid = add_scanner("trivy");
  auto first = push("e1", "scanned/app", "sha256:01");
  EXPECT_EQ(apply({first, push("e2", "plain/app", "sha256:02")}),
            (std::vector<bool>{true, true}));
  // Delivered again: the completion mark and the unique event keep one.
  EXPECT_EQ(apply({first}), std::vector<bool>{false});
  ASSERT_EQ(f.scalar("SELECT COUNT(*) FROM scan_tasks"), 1);
  EXPECT_EQ(f.text("SELECT scanner_uuid FROM scan_tasks"), uuid);
  EXPECT_EQ(f.text("SELECT status FROM scan_tasks"), "Pending");
  // The same digest pushed under another tag while its scan is queued:
  // the adapter is asked once.
  auto retag = push("e3", "scanned/app", "sha256:01");
  retag.tag = "latest";
  EXPECT_EQ(apply({retag}), std::vector<bool>{true});
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scan_tasks"), 1);
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].digest, "sha256:01");
  EXPECT_EQ(jobs[0].tag, "v1");
  EXPECT_EQ(jobs[0].media_type, oci);
  EXPECT_TRUE(jobs[0].request_id.empty());
  // The credential is opened for the worker.
  EXPECT_EQ(jobs[0].scanner.access_credential, "key-trivy");
  EXPECT_TRUE(jobs[0].unusable.empty());
  EXPECT_EQ(work.unfinished(), 1);
}

TEST_F(scan_store_test, a_lease_guards_outcomes_and_an_accepted_scan_resumes) {
  add_scanner("trivy");
  apply({push("e1", "scanned/app", "sha256:01")});
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  // Held: no second claim while the lease runs.
  EXPECT_TRUE(claim().empty());
  auto accepted = outcome(jobs[0], scan_status::running);
  accepted.request_id = "req-1";
  accepted.report_mime = scan_report_type::harbor_v1;
  record(accepted);
  EXPECT_EQ(f.text("SELECT status FROM scan_tasks"), "Running");
  // A stale lease (another worker's old claim) changes nothing.
  auto stale = outcome(jobs[0], scan_status::error);
  stale.lease = jobs[0].lease - 1;
  record(stale);
  EXPECT_EQ(f.text("SELECT status FROM scan_tasks"), "Running");
  // Given back (the worker stopped): claimed again with its request id,
  // to be polled rather than asked again.
  auto back = outcome(jobs[0], scan_status::running);
  back.request_id = "req-1";
  back.attempted = false;
  back.next_attempt_at = t(0);
  record(back);
  auto again = claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].request_id, "req-1");
  EXPECT_EQ(again[0].report_mime, scan_report_type::harbor_v1);
  EXPECT_GT(again[0].submitted_at, 0);
  EXPECT_EQ(again[0].attempts, 0);
  // A retry counts an attempt and waits until its time.
  auto retry = outcome(again[0], scan_status::pending);
  retry.request_id.clear();
  retry.error = "adapter down";
  retry.next_attempt_at = t(5'000'000);
  record(retry);
  EXPECT_TRUE(claim().empty());
  auto later = work.claim(t(5'000'000), 10, t(90'000'000));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].attempts, 1);
  EXPECT_TRUE(later[0].request_id.empty());
}

TEST_F(scan_store_test, an_end_keeps_the_report_and_replaces_older_scans) {
  auto uuid = add_scanner("trivy");
  add_artifact("scanned/app", "sha256:01", "v1");
  // A policy subscribed to SCANNING_COMPLETED in the project.
  f.sql() << "INSERT INTO webhook_policies (project, name, event_types, "
             "creation_time, update_time) VALUES ('scanned', 'w', "
             "'PUSH_ARTIFACT,SCANNING_COMPLETED', 1, 1)";
  f.sql() << "INSERT INTO webhook_targets (policy_id, position, type, "
             "address, payload_format) VALUES (1, 0, 'http', "
             "'http://hook.example', 'Default')";
  auto scan_once = [&](int round) {
    apply({push("e" + std::to_string(round), "scanned/app", "sha256:01")});
    auto jobs = claim();
    ASSERT_EQ(jobs.size(), 1u);
    auto done = outcome(jobs[0], scan_status::success);
    done.report_mime = scan_report_type::harbor_v1;
    done.report = report_of({{"High", "1.1"}, {"Low", ""}, {"High", ""}});
    done.summary = summarize_vulnerability_report(done.report);
    done.scanner_name = "Trivy";
    done.scanner_vendor = "Aqua";
    done.scanner_version = "0.50";
    record(done);
  };
  scan_once(0);
  scan_once(1);
  // The first scan's delivery names it: that scan stays, for the delivery
  // to read when it is sent (or retried by hand after a failure).
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scan_tasks"), 2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM webhook_tasks WHERE event_type "
                     "= 'SCANNING_COMPLETED' AND scan_task > 0"),
            2);
  // The delivery log's retention removed the deliveries: the next end
  // drops every older scan and its report.
  f.sql() << "DELETE FROM webhook_tasks";
  scan_once(2);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scan_tasks"), 1);
  EXPECT_EQ(f.scalar("SELECT COUNT(*) FROM scan_reports"), 1);
  auto rows = work.overviews("scanned", {"sha256:01", "sha256:none"});
  ASSERT_EQ(rows.size(), 1u);
  const auto& o = rows[0];
  EXPECT_EQ(o.status, "Success");
  EXPECT_EQ(o.summary.severity, "High");
  EXPECT_EQ(o.summary.total, 3);
  EXPECT_EQ(o.summary.fixable, 1);
  EXPECT_EQ(o.summary.by_severity,
            (std::map<std::string, int64_t>{{"High", 2}, {"Low", 1}}));
  EXPECT_EQ(o.scanner_name, "Trivy");
  // The report by tag and by digest, keyed by its type.
  for (const char* reference : {"v1", "sha256:01"}) {
    auto doc = work.report({"scanned/app", reference});
    ASSERT_TRUE(doc) << reference;
    EXPECT_EQ(doc->report_mime, scan_report_type::harbor_v1);
    EXPECT_EQ(json::parse(doc->report)["vulnerabilities"].size(), 3u);
  }
  EXPECT_FALSE(work.report({"scanned/app", "v9"}));
  // The overview a delivery renders is the same scan's.
  auto delivered = scan_overview_of(
      f.db(), f.scalar("SELECT MAX(scan_task) FROM webhook_tasks"));
  ASSERT_TRUE(delivered);
  EXPECT_EQ(delivered->report_id, o.report_id);
  (void) uuid;
}

TEST_F(scan_store_test, a_manual_scan_is_queued_once_while_one_runs) {
  add_artifact("plain/app", "sha256:02", "v1");
  EXPECT_EQ(work.request_scan({"plain/app", "v1"}, t(0)).outcome,
            scan_request_outcome::no_scanner);
  add_scanner("trivy");
  EXPECT_EQ(work.request_scan({"plain/app", "v2"}, t(0)).outcome,
            scan_request_outcome::no_artifact);
  auto first = work.request_scan({"plain/app", "v1"}, t(0));
  EXPECT_EQ(first.outcome, scan_request_outcome::queued);
  auto second = work.request_scan({"plain/app", "sha256:02"}, t(0));
  EXPECT_EQ(second.outcome, scan_request_outcome::already_running);
  EXPECT_EQ(second.report_id, first.report_id);
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].tag, "v1");
  auto failed = outcome(jobs[0], scan_status::error);
  // An adapter's message may hold anything; PostgreSQL refuses a NUL.
  failed.error = std::string("bad\0byte\x01", 9) + std::string(5000, 'x');
  record(failed);
  EXPECT_EQ(f.text("SELECT status FROM scan_tasks"), "Error");
  auto stored = f.text("SELECT error FROM scan_tasks");
  EXPECT_EQ(stored.size(), 2000u);
  EXPECT_EQ(stored.substr(0, 9), "bad byte ");
  // Ended: a new one may be asked for, and the log says how the last went.
  EXPECT_EQ(work.request_scan({"plain/app", "v1"}, t(0)).outcome,
            scan_request_outcome::queued);
  auto log = work.log({{"plain/app", "v1"}, first.report_id});
  ASSERT_TRUE(log);
  EXPECT_NE(log->text.find("Error after 1 attempt"), std::string::npos)
      << log->text;
  EXPECT_FALSE(work.log({{"plain/app", "v1"}, "no-such-report"}));
}

TEST_F(scan_store_test, a_deleted_or_disabled_scanner_makes_its_tasks_unusable) {
  auto uuid = add_scanner("trivy");
  apply({push("e1", "scanned/app", "sha256:01")});
  scanner_spec off;
  off.name = "trivy";
  off.url = "http://adapter.example";
  off.disabled = true;
  // The default cannot be disabled; a second scanner takes that role.
  auto other = add_scanner("clair");
  ASSERT_EQ(scanners.set_default(other, true, 2), scanner_outcome::ok);
  ASSERT_EQ(scanners.update(uuid, off, 2).outcome, scanner_outcome::ok);
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].unusable, "scanner trivy is disabled");
}

TEST(scan_summary, counts_by_severity_and_fix_as_harbor_does) {
  auto s = summarize_vulnerability_report(
      report_of({{"Critical", "2"}, {"Medium", ""}, {"Bogus", "1"}}));
  EXPECT_EQ(s.severity, "Critical");
  EXPECT_EQ(s.total, 3);
  EXPECT_EQ(s.fixable, 2);
  // A severity outside the spec's enum counts as Unknown.
  EXPECT_EQ(s.by_severity.at("Unknown"), 1);
  EXPECT_EQ(summarize_vulnerability_report(report_of({})).severity, "None");
  EXPECT_THROW(summarize_vulnerability_report("[1]"), std::invalid_argument);
  EXPECT_THROW(summarize_vulnerability_report("{\"vulnerabilities\": 3}"),
               std::invalid_argument);
}

TEST(scan_overview, renders_harbors_native_report_summary) {
  scan_overview_row r;
  r.report_id = "r-1";
  r.report_mime = scan_report_type::harbor_v1;
  r.status = scan_status::success;
  r.summary.severity = "High";
  r.summary.total = 2;
  r.summary.fixable = 1;
  r.summary.by_severity = {{"High", 1}, {"Low", 1}};
  r.start_time = 1'000'000;
  r.end_time = 4'500'000;
  r.scanner_name = "Trivy";
  r.scanner_vendor = "Aqua Security";
  r.scanner_version = "0.50";
  auto x = json::parse(scan_overview_json({r}))[scan_report_type::harbor_v1];
  EXPECT_EQ(x["report_id"], "r-1");
  EXPECT_EQ(x["scan_status"], "Success");
  EXPECT_EQ(x["severity"], "High");
  EXPECT_EQ(x["duration"], 3);
  EXPECT_EQ(x["complete_percent"], 100);
  EXPECT_EQ(x["summary"], json({{"total", 2},
                                {"fixable", 1},
                                {"summary", {{"High", 1}, {"Low", 1}}}}));
  EXPECT_EQ(x["scanner"]["vendor"], "Aqua Security");
  EXPECT_EQ(x["start_time"], "1970-01-01T00:00:01.000Z");
  // A scan still running: no end, no summary.
  r.status = scan_status::running;
  r.end_time = 0;
  x = json::parse(scan_overview_json({r}))[scan_report_type::harbor_v1];
  EXPECT_EQ(x["complete_percent"], 0);
  EXPECT_FALSE(x.contains("summary"));
  EXPECT_FALSE(x.contains("end_time"));
  EXPECT_EQ(scan_overview_json({}), "{}");
}

} // namespace
} // namespace regevent
