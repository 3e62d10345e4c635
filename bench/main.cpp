// regevent-bench: drives a real regeventd with registry-shaped
// notifications over keep-alive HTTP/1.1, reads the end-to-end rate from the
// daemon itself, and checks the database against what was sent. A fast
// wrong run is a failed run. See bench/README.md.

#include "bench/ceiling.hpp"
#include "bench/check.hpp"
#include "bench/daemon.hpp"
#include "bench/load.hpp"
#include "bench/peer.hpp"
#include "bench/postgres.hpp"
#include "bench/report.hpp"
#include "bench/webhooks.hpp"
#include "bench/workload.hpp"

#include "config/config.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <soci/soci.h>
#include <sstream>
#include <thread>
#include <tuple>

namespace {

using namespace regevent::bench;
using json = nlohmann::json;

struct options {
  std::string scenario;
  uint64_t events = 0;
  size_t senders = 0;
  double duration_s = 600;
  double rate = 0;
  double probe_s = 5;
  double window_s = 10;
  std::string url;
  std::string db;
  int pid = 0;
  std::string token;
  std::string daemon;
  std::string extra_config;
  std::string work_dir;
  bool keep = false;
  std::string results_dir = REGEVENT_BENCH_RESULTS_DIR;
  std::string workload;
  size_t repositories = 1000;
  double zipf = 1.0;
  uint64_t seed = 0;
  size_t threads = 1;
  unsigned drain_timeout_s = 900;
  bool with_ceiling = false;
  uint64_t ceiling_events = 50'000;
  std::string database;
  std::string with_peer;
  double peer_quiet_s = 2;
  /// Webhook policies on the run's project (-1: none and no receiver).
  int webhook_policies = -1;
  size_t webhook_dead = 0;
  size_t receiver_threads = 1;
};

/// Targets of the issue, for this machine (2 cores) with SQLite. Reported,
/// never asserted: a miss is news, not a failed run.
namespace target {
constexpr double serial_p99_ms = 1;
constexpr double serial_rate = 5'000;
constexpr double parallel_accept_rate = 25'000;
constexpr double parallel_e2e_rate = 20'000;
constexpr double parallel_p99_ms = 20;
constexpr double mix_tolerance = 0.20;
constexpr double backlog_drain_rate = 20'000;
constexpr double backlog_rss_mib = 200;
} // namespace target

std::string verdict(bool met) {
  return met ? "met" : "**missed**";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string load_average() {
  auto text = read_text("/proc/loadavg");
  auto parts
      = text.substr(0, text.find(' ', text.find(' ', text.find(' ') + 1) + 1));
  return parts;
}

/// Share of the last minute in which some runnable task waited for a CPU
/// (Linux PSI): on a shared machine it says how much the numbers are worth.
std::string cpu_pressure() {
  auto text = read_text("/proc/pressure/cpu");
  auto pos = text.find("avg60=");
  if (pos == std::string::npos)
    return "n/a";
  return text.substr(pos + 6, text.find(' ', pos) - pos - 6) + " %";
}

std::string machine_line() {
  utsname u{};
  uname(&u);
  std::ostringstream out;
  out << "Machine: " << std::thread::hardware_concurrency() << " cores, Linux "
      << u.release << ", load average at start " << load_average()
      << ", CPU pressure (tasks waiting, last minute) " << cpu_pressure()
      << " (shared machine: other builds disturb the numbers).";
  return out.str();
}

std::string environment_line(const options& o, const std::string& binary,
                             const std::string& database) {
  std::ostringstream out;
  out << machine_line() << " Client: " << o.threads << " io thread(s). Daemon: "
      << (o.url.empty()
              ? binary + " (started by the harness, fresh "
                    + (database.empty() ? std::string("SQLite")
                                        : "PostgreSQL database " + database)
                    + ")"
              : o.url + " (external)")
      << ".";
  return out.str();
}

/// Size of the PostgreSQL database at `url`, in bytes (0 when unknown).
uint64_t postgresql_bytes(const std::string& url) {
  try {
    soci::session sql;
    open_database(sql, url);
    long long bytes = 0;
    sql << "SELECT pg_database_size(current_database())", soci::into(bytes);
    return static_cast<uint64_t>(bytes);
  } catch (const std::exception& e) {
    std::cerr << "regevent-bench: database size: " << e.what() << "\n";
    return 0;
  }
}

/// What a side-by-side report puts on regevent's line.
struct regevent_line {
  double ack_per_s = 0;
  double end_to_end_per_s = 0;
  latency_summary latency;
  double cpu_us_per_event = 0;
};

/// The target of the peer comparison: one regevent instance on PostgreSQL
/// at least this many times the peer's pulls/s end to end, counts exact.
constexpr double peer_target_ratio = 10;

std::string ratio_text(double a, double b) {
  return b > 0 ? fixed(a / b, 1) + " ×" : "–";
}

/// The side-by-side table (regevent, the peer, and their ratio) and the
/// peer's own check; the JSON gets `peer` and `peer_comparison`.
std::string peer_section(json& report, const regevent_line& rv,
                         const check_result& check, const peer_result& p,
                         const std::string& regevent_db,
                         const std::string& peer_db, uint64_t peak_rss_kib) {
  const auto& t = check.tally;
  std::ostringstream md;
  md << "Side by side on one PostgreSQL cluster: regevent (database `"
     << regevent_db << "`) ran first and was stopped, then the "
     << "harbor-v1-style peer (database `" << peer_db
     << "`) got the same workload with the same senders. The peer answers "
        "200 before it writes; its end to end is access_log rows over the "
        "time until its database stopped changing.\n\n"
        "| | ack /s | ack p50 | ack p99 | end to end /s | pulls expected "
        "→ counted | lost | counted twice | access-log rows (expected) | "
        "CPU / event | peak RSS | check |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  md << "| regevent | " << fixed(rv.ack_per_s, 0) << " | "
     << fixed(rv.latency.p50_ms, 2) << " ms | " << fixed(rv.latency.p99_ms, 2)
     << " ms | " << fixed(rv.end_to_end_per_s, 0) << " | " << t.expected
     << " → " << t.counted << " | " << t.lost << " | " << t.extra << " | "
     << t.access_log_rows << " | " << fixed(rv.cpu_us_per_event, 0) << " µs | "
     << fixed(static_cast<double>(peak_rss_kib) / 1024.0, 1) << " MiB | "
     << (check.ok() ? "PASSED" : "**FAILED**") << " |\n";
  bool peer_exact = p.lost_pulls == 0 && p.extra_pulls == 0
                    && p.access_log_rows == p.expected_access_log;
  md << "| harbor-v1-style peer | " << fixed(p.ack_per_s, 0) << " | "
     << fixed(p.latency.p50_ms, 2) << " ms | " << fixed(p.latency.p99_ms, 2)
     << " ms | " << fixed(p.end_to_end_per_s, 0)
     << (p.settled ? "" : " (not settled)") << " | " << p.expected_pulls
     << " → " << p.counted_pulls << " | " << p.lost_pulls << " | "
     << p.extra_pulls << " | " << p.access_log_rows << " ("
     << p.expected_access_log << ") | " << fixed(p.cpu_us_per_event, 0)
     << " µs | " << fixed(static_cast<double>(p.peak_rss_kib) / 1024.0, 1)
     << " MiB | " << (peer_exact ? "exact" : "**not exact**") << " |\n";
  md << "| regevent / peer | " << ratio_text(rv.ack_per_s, p.ack_per_s) << " | "
     << ratio_text(rv.latency.p50_ms, p.latency.p50_ms) << " | "
     << ratio_text(rv.latency.p99_ms, p.latency.p99_ms) << " | **"
     << ratio_text(rv.end_to_end_per_s, p.end_to_end_per_s)
     << "** | | | | | | | |\n\n";
  double e2e_ratio
      = p.end_to_end_per_s > 0 ? rv.end_to_end_per_s / p.end_to_end_per_s : 0;
  bool met = check.ok() && e2e_ratio >= peer_target_ratio;
  md << "Target: regevent ≥ " << fixed(peer_target_ratio, 0)
     << " × the peer's pulls/s end to end with exact counts: "
     << (met ? "met" : "**missed**") << " (" << fixed(e2e_ratio, 1)
     << " ×, regevent check " << (check.ok() ? "PASSED" : "FAILED")
     << ").\n\nThe peer's check (its shortfalls are reported, they do not "
        "fail the run):\n\n| check | expected | actual | |\n"
        "|---|---|---|---|\n";
  for (const auto& i : p.check.items)
    md << "| " << i.what << " | " << i.expected << " | " << i.actual << " | "
       << (i.ok ? "ok" : "**WRONG**") << " |\n";
  report["peer"] = to_json(p);
  report["peer"]["database"] = peer_db;
  report["peer_comparison"]
      = {{"regevent",
          {{"ack_per_s", rv.ack_per_s},
           {"end_to_end_per_s", rv.end_to_end_per_s},
           {"latency", to_json(rv.latency)},
           {"expected_pulls", t.expected},
           {"counted_pulls", t.counted},
           {"lost_pulls", t.lost},
           {"extra_pulls", t.extra},
           {"access_log_rows", t.access_log_rows},
           {"check_passed", check.ok()}}},
         {"ack_ratio", p.ack_per_s > 0 ? rv.ack_per_s / p.ack_per_s : 0},
         {"end_to_end_ratio", e2e_ratio},
         {"p99_ratio",
          p.latency.p99_ms > 0 ? rv.latency.p99_ms / p.latency.p99_ms : 0},
         {"peer_exact", peer_exact},
         {"target_ratio", peer_target_ratio},
         {"target_met", met}};
  return md.str();
}

/// A fresh directory under `base` (empty: $TMPDIR) for the daemon's and
/// the ceiling's files, removed at the end unless --keep.
std::string make_work_dir(std::string base) {
  if (base.empty())
    base = std::filesystem::temp_directory_path().string();
  std::filesystem::create_directories(base);
  std::string tmpl = base + "/regevent-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("cannot create a directory under " + base);
  return tmpl;
}

/// Removes the daemon's directory when the run ends, unless --keep.
struct work_dir_guard {
  std::string path;
  bool keep = false;
  ~work_dir_guard() {
    if (path.empty())
      return;
    if (keep) {
      std::cerr << "regevent-bench: kept " << path << "\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string random_tag(uint64_t seed) {
  std::mt19937_64 rng(seed);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x",
                static_cast<unsigned>(rng() & 0xffffffffu));
  return buf;
}

double value_of(const metric_map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0.0 : it->second;
}

double ratio(const metric_map& m, const std::string& name,
             const std::string& labels, double scale) {
  auto count = value_of(m, name + "_count" + labels);
  return count > 0 ? value_of(m, name + "_sum" + labels) / count * scale : 0;
}

/// What the daemon says about where its time went: group-commit sizes and
/// commit latencies of the journal and of every effect.
std::pair<json, std::string> daemon_counters(const metric_map& m) {
  json j;
  std::ostringstream md;
  md << "Daemon counters at the end of the run (from /metrics):\n\n"
        "| stage | commits | avg requests per commit | avg commit ms |\n"
        "|---|---|---|---|\n";
  auto journal_commits = value_of(m, "regevent_journal_commits_total");
  auto journal_batch = ratio(m, "regevent_journal_batch_size", "", 1);
  auto journal_ms = ratio(m, "regevent_journal_commit_seconds", "", 1000);
  j["journal"] = {{"commits", journal_commits},
                  {"avg_requests_per_commit", journal_batch},
                  {"avg_commit_ms", journal_ms}};
  md << "| journal | " << fixed(journal_commits, 0) << " | "
     << fixed(journal_batch, 1) << " | " << fixed(journal_ms, 3) << " |\n";
  for (const char* effect : {"access_log", "repositories", "pull_counter",
                             "artifacts", "webhooks"}) {
    std::string labels = std::string("{effect=\"") + effect + "\"}";
    auto commits = value_of(m, "regevent_effect_batch_size_count" + labels);
    auto batch = ratio(m, "regevent_effect_batch_size", labels, 1);
    auto ms = ratio(m, "regevent_effect_commit_seconds", labels, 1000);
    j["effects"][effect] = {{"commits", commits},
                            {"avg_events_per_commit", batch},
                            {"avg_commit_ms", ms}};
    md << "| " << effect << " | " << fixed(commits, 0) << " | "
       << fixed(batch, 1) << " | " << fixed(ms, 3) << " |\n";
  }
  return {j, md.str()};
}

void absorb(load_result& into, const load_result& from) {
  into.acknowledged.merge(from.acknowledged);
  into.answered_accepted += from.answered_accepted;
  into.answered_duplicates += from.answered_duplicates;
  into.answered_ignored += from.answered_ignored;
  into.unavailable += from.unavailable;
  into.rejected += from.rejected;
  into.transport_errors += from.transport_errors;
  into.answer_mismatches += from.answer_mismatches;
  if (into.first_problem.empty())
    into.first_problem = from.first_problem;
}

std::string mib(uint64_t kib) {
  return fixed(static_cast<double>(kib) / 1024.0, 1) + " MiB";
}

std::string per_s(double v) {
  return fixed(v, 0) + " /s";
}

std::string ms(double v) {
  return fixed(v, 3) + " ms";
}

/// CPU per event of the daemon and per POST of the harness: on a shared
/// 2-core machine the client's share is part of the picture.
void cpu_rows(std::vector<table_row>& rows, json& report, double daemon_cpu,
              double client_cpu, const ledger& l) {
  auto events = static_cast<double>(l.events);
  auto posts = static_cast<double>(l.events + l.duplicates);
  if (daemon_cpu > 0 && events > 0) {
    rows.push_back({"daemon CPU per event (ingest + effects)",
                    fixed(daemon_cpu / events * 1e6, 1) + " µs", "", ""});
    report["daemon_cpu_us_per_event"] = daemon_cpu / events * 1e6;
  }
  if (posts > 0) {
    rows.push_back({"harness CPU per POST",
                    fixed(client_cpu / posts * 1e6, 1) + " µs", "", ""});
    report["harness_cpu_us_per_post"] = client_cpu / posts * 1e6;
  }
}

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

endpoint parse_url(const std::string& url) {
  endpoint e;
  auto rest = url;
  if (auto p = rest.find("://"); p != std::string::npos)
    rest = rest.substr(p + 3);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("--url needs host:port, got " + url);
  e.host = rest.substr(0, colon);
  e.port = static_cast<uint16_t>(std::stoi(rest.substr(colon + 1)));
  return e;
}

/// What every report starts with: the scenario, the command and the
/// workload that produced it.
void describe_run(json& report, const std::string& scenario,
                  const std::string& command, const workload_options& w) {
  report["scenario"] = scenario;
  report["command"] = command;
  report["run_tag"] = w.run_tag;
  report["workload"] = {{"kind", w.kind},
                        {"repositories", w.repositories},
                        {"zipf_s", w.zipf_s},
                        {"seed", w.seed}};
}

/// Runs the SQLite ceiling in `dir` with the database settings of
/// `daemon_config` (the daemon's YAML; empty: the defaults), read with the
/// daemon's own loader so that REGEVENT_* variables apply to both alike.
ceiling_result measure_ceiling(const std::string& dir,
                               const std::string& daemon_config, uint64_t rows,
                               const workload_options& w) {
  std::string config_path;
  if (!daemon_config.empty()) {
    config_path = dir + "/ceiling.yml";
    regevent::test::write_file(config_path, daemon_config);
  }
  auto cfg = regevent::load_config(config_path);
  // It names the daemon's file, not the ceiling's: nobody should read it.
  if (!config_path.empty())
    std::filesystem::remove(config_path);
  std::cerr << "regevent-bench: SQLite ceiling, " << rows << " journal rows in "
            << dir << "/ceiling.db\n";
  return run_ceiling(make_ceiling_plan(cfg, dir + "/ceiling.db", rows, w));
}

/// Frees the ceiling's file before the daemon writes to the same disk.
void remove_ceiling_files(const ceiling_result& c) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(c.path + suffix, ec);
}

void ceiling_table_rows(std::vector<table_row>& rows, const ceiling_result& c) {
  rows.push_back({"SQLite ceiling: journal rows inserted, "
                      + std::to_string(ceiling_batch_rows)
                      + " per transaction (same run, same disk)",
                  per_s(c.rows_per_s()), "", ""});
  rows.push_back({"SQLite ceiling: COMMIT p50 / p99 / max",
                  ms(c.commit.p50_ms) + " / " + ms(c.commit.p99_ms) + " / "
                      + ms(c.commit.max_ms),
                  "", ""});
  rows.push_back({"SQLite ceiling: transaction of "
                      + std::to_string(ceiling_batch_rows) + " rows p99",
                  ms(c.transaction.p99_ms), "", ""});
}

/// Every rate a scenario reports, as JSON pointers into its report. Each
/// present one gets a sibling `<name>_ratio`: its share of the ceiling
/// measured in the same run, which holds where absolute rates move with
/// the machine's load.
void add_ceiling_ratios(json& report, double ceiling_rate) {
  static const char* const rates[]
      = {"/posts_per_s",      "/accepted_per_s",
         "/end_to_end_per_s", "/ingest/accepted_per_s",
         "/drain/per_s",      "/probe/accepted_per_s",
         "/soak/rate"};
  if (ceiling_rate <= 0)
    return;
  for (const char* rate : rates) {
    json::json_pointer at(rate);
    if (!report.contains(at) || !report[at].is_number())
      continue;
    report[at.parent_pointer()][at.back() + "_ratio"]
        = report[at].get<double>() / ceiling_rate;
  }
}

/// `--scenario ceiling`: the SQLite ceiling alone, no daemon; checks that
/// every row it counted is in the file.
int run_ceiling_scenario(const options& o, const std::string& command,
                         const workload_options& w, uint64_t rows,
                         const std::string& binary) {
  if (!o.url.empty())
    throw std::runtime_error("ceiling starts no daemon: it cannot run "
                             "against --url (give --work-dir for the disk)");
  work_dir_guard dir_guard{make_work_dir(o.work_dir), o.keep};
  const auto& dir = dir_guard.path;
  std::string extra
      = o.extra_config.empty() ? std::string{} : read_text(o.extra_config);
  // Never started: only the configuration the daemon would get, for its
  // database settings.
  managed_daemon daemon(binary, dir, extra);
  json report;
  describe_run(report, "ceiling", command, w);
  report["load_average_start"] = load_average();
  report["cpu_pressure_start"] = cpu_pressure();
  auto environment = machine_line();
  auto c = measure_ceiling(dir, daemon.config_for(false), rows, w);
  report["ceiling"] = to_json(c);
  report["ceiling_rows_per_s"] = c.rows_per_s();
  std::vector<table_row> table;
  ceiling_table_rows(table, c);
  table.push_back(
      {"time inside transactions", fixed(c.seconds, 2) + " s", "", ""});
  table.push_back({"COMMIT p99.9", ms(c.commit.p999_ms), "", ""});
  table.push_back(
      {"transaction of " + std::to_string(ceiling_batch_rows) + " rows p50",
       ms(c.transaction.p50_ms), "", ""});
  table.push_back(
      {"envelope body / raw column, mean",
       fixed(c.body_bytes, 0) + " B / " + fixed(c.raw_bytes, 0) + " B", "",
       ""});
  table.push_back(
      {"synchronous (configured / in effect), journal mode",
       c.synchronous + " / " + c.synchronous_in_effect + ", " + c.journal_mode,
       "", ""});
  table.push_back(
      {"database size (db + wal) per million rows",
       fixed(static_cast<double>(c.database_file_bytes + c.wal_bytes)
                 / static_cast<double>(std::max<uint64_t>(c.rows, 1)) * 1e6
                 / (1 << 20),
             0)
           + " MiB",
       "", ""});
  check_result check;
  check.items.push_back({"rows inserted (each INSERT added one)",
                         std::to_string(rows), std::to_string(c.rows),
                         c.rows == rows});
  check.items.push_back({"rows in the file's events table",
                         std::to_string(rows), std::to_string(c.rows_in_file),
                         c.rows_in_file == rows});
  check.items.push_back(
      {"journal mode", "wal", c.journal_mode, c.journal_mode == "wal"});
  check.items.push_back(
      {"rate", "> 0", per_s(c.rows_per_s()), c.rows_per_s() > 0});
  report["check"] = to_json(check);
  report["load_average_end"] = load_average();
  report["cpu_pressure_end"] = cpu_pressure();
  report["passed"] = check.ok();
  auto title = "ceiling — " + std::to_string(rows) + " journal rows, "
               + std::to_string(ceiling_batch_rows)
               + " per transaction, workload " + w.kind;
  auto text = markdown(title, command,
                       environment
                           + " Raw SQLite: no daemon runs. Load "
                             "average at the end "
                           + load_average() + ", CPU pressure " + cpu_pressure()
                           + ".",
                       table, check, {});
  auto [json_path, md_path]
      = write_results(o.results_dir, "ceiling", report, text);
  std::cout << text << "\nResults: " << json_path << "\n         " << md_path
            << "\n"
            << (check.ok() ? "PASSED" : "FAILED") << "\n";
  return check.ok() ? 0 : 1;
}

/// Waits until every delivery the run should make reached the receiver
/// (or the drain timeout passed) and reports their rate as the receiver
/// saw it: distinct `webhook-id`s must be exactly the expected ones.
void wait_for_deliveries(webhook_receiver& r, const webhook_setup& h,
                         uint64_t events, const monitor& mon, double load_start,
                         double t_done, std::chrono::seconds timeout,
                         std::vector<table_row>& rows, json& report,
                         check_result& checks) {
  uint64_t live = h.policies - h.dead;
  uint64_t expected = events * live;
  // What had arrived when the events were done: the rest is the backlog,
  // whose rate is the delivery's alone, without ingest in its way.
  auto at_done = r.counts();
  auto done_at = bench_clock::now();
  // A second after the last one, so that re-sends are counted too.
  bool all = r.wait_for(expected, timeout, std::chrono::milliseconds(1000));
  auto c = r.counts();
  double rate = c.span_s > 0 ? static_cast<double>(c.requests) / c.span_s : 0;
  double first_s
      = c.requests ? mon.seconds_since_start(c.first) - load_start : 0;
  double last_s = c.requests ? mon.seconds_since_start(c.last) - load_start : 0;
  double backlog_s
      = c.requests > at_done.requests
            ? std::chrono::duration<double>(c.last - done_at).count()
            : 0;
  uint64_t backlog = c.requests - at_done.requests;
  double backlog_rate
      = backlog_s > 0 ? static_cast<double>(backlog) / backlog_s : 0;
  rows.push_back(
      {"webhook policies (dead targets)",
       std::to_string(h.policies) + " (" + std::to_string(h.dead) + ")", "",
       ""});
  rows.push_back({"webhook deliveries expected (pushes + GET pulls) × live "
                  "policies",
                  std::to_string(expected) + " (" + std::to_string(events)
                      + " × " + std::to_string(live) + ")",
                  "", ""});
  rows.push_back(
      {"webhook requests at the receiver / distinct webhook-ids",
       std::to_string(c.requests) + " / " + std::to_string(c.distinct_ids), "",
       ""});
  if (expected > 0) {
    rows.push_back({"webhook deliveries /s (receiver, first to last request)",
                    per_s(rate) + " over " + fixed(c.span_s, 2) + " s",
                    "≥ 5 000 /s (one policy)", ""});
    rows.push_back({"first / last delivery after the load started (backlog: "
                    "after the restart)",
                    fixed(first_s, 2) + " s / " + fixed(last_s, 2)
                        + " s (events done at " + fixed(t_done - load_start, 2)
                        + " s)",
                    "", ""});
    rows.push_back({"webhook backlog after the events were done: deliveries, "
                    "rate",
                    std::to_string(backlog) + ", "
                        + (backlog_s > 0 ? per_s(backlog_rate) + " over "
                                               + fixed(backlog_s, 2) + " s"
                                         : std::string("–")),
                    "", ""});
  }
  report["webhooks"] = {{"policies", h.policies},
                        {"dead", h.dead},
                        {"events_publishing", events},
                        {"expected", expected},
                        {"requests", c.requests},
                        {"distinct_ids", c.distinct_ids},
                        {"without_id", c.without_id},
                        {"span_s", c.span_s},
                        {"deliveries_per_s", rate},
                        {"backlog_after_done", backlog},
                        {"backlog_seconds", backlog_s},
                        {"backlog_per_s", backlog_rate},
                        {"first_after_load_start_s", first_s},
                        {"last_after_load_start_s", last_s},
                        {"events_done_after_load_start_s", t_done - load_start},
                        {"all_arrived", all}};
  checks.items.push_back({"webhook deliveries: distinct webhook-ids at the "
                          "receiver",
                          std::to_string(expected),
                          std::to_string(c.distinct_ids),
                          c.distinct_ids == expected});
  checks.items.push_back({"webhook requests without a webhook-id", "0",
                          std::to_string(c.without_id), c.without_id == 0});
}

/// The delivery tasks in the database: every live one succeeded (their
/// outcomes are recorded a poll after the answer: waits up to 10 s), every
/// dead one is still there, pending or failed, none lost.
void check_webhook_tasks(const std::string& db_url, const webhook_setup& h,
                         uint64_t events, std::vector<table_row>& rows,
                         json& report, check_result& check) {
  uint64_t live_expected = events * (h.policies - h.dead);
  uint64_t dead_expected = events * h.dead;
  webhook_task_counts t;
  auto until = bench_clock::now() + std::chrono::seconds(10);
  for (;;) {
    t = count_webhook_tasks(db_url, h.project);
    if (t.live_success == live_expected || bench_clock::now() >= until)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  rows.push_back({"webhook tasks of live targets: success / pending / failed",
                  std::to_string(t.live_success) + " / "
                      + std::to_string(t.live_pending) + " / "
                      + std::to_string(t.live_failed),
                  "", ""});
  if (h.dead > 0)
    rows.push_back({"webhook tasks of dead targets: pending / failed / success",
                    std::to_string(t.dead_pending) + " / "
                        + std::to_string(t.dead_failed) + " / "
                        + std::to_string(t.dead_success),
                    "", ""});
  report["webhooks"]["tasks"]
      = {{"live_success", t.live_success}, {"live_pending", t.live_pending},
         {"live_failed", t.live_failed},   {"dead_success", t.dead_success},
         {"dead_pending", t.dead_pending}, {"dead_failed", t.dead_failed}};
  check.items.push_back(
      {"webhook tasks of live targets succeeded", std::to_string(live_expected),
       std::to_string(t.live_success),
       t.live_success == live_expected && t.live_pending + t.live_failed == 0});
  check.items.push_back(
      {"webhook tasks of dead targets (pending + failed, none succeeded)",
       std::to_string(dead_expected),
       std::to_string(t.dead_pending + t.dead_failed),
       t.dead_pending + t.dead_failed == dead_expected && t.dead_success == 0});
}

int run(const options& o, const std::string& command) {
  const auto& sc = o.scenario;
  workload_options w;
  w.kind = !o.workload.empty() ? o.workload : sc == "mix" ? "mix" : "pulls";
  w.repositories = o.repositories;
  w.zipf_s = o.zipf;
  w.seed = o.seed != 0 ? o.seed : std::random_device{}();
  w.run_tag = random_tag(w.seed);
  w.project = "bench-" + w.run_tag;
  uint64_t events = o.events;
  if (events == 0)
    events = sc == "serial"    ? 10'000
             : sc == "backlog" ? 1'000'000
             : sc == "soak"    ? 0
                               : 50'000;
  size_t senders = o.senders != 0 ? o.senders : sc == "serial" ? 1 : 64;
  auto binary = o.daemon.empty() ? regevent::test::regeventd_path() : o.daemon;
  std::string label
      = sc == "parallel" ? sc + "-" + std::to_string(senders) : sc;
  if (sc == "ceiling")
    return run_ceiling_scenario(o, command, w, events, binary);
  if (!o.database.empty() && !is_postgresql_url(o.database))
    throw std::runtime_error("--database takes a postgresql:// URL");
  if (!o.database.empty() && !o.url.empty())
    throw std::runtime_error("--database starts regevent on PostgreSQL; "
                             "against --url give --db postgresql://... "
                             "for the check");
  if (!o.with_peer.empty()) {
    if (o.database.empty())
      throw std::runtime_error("--with-peer needs --database: the peer "
                               "runs on PostgreSQL, on regevent's cluster");
    if (sc != "serial" && sc != "parallel" && sc != "mix")
      throw std::runtime_error("--with-peer runs with serial, parallel or "
                               "mix (a count of events, closed loop)");
    if (access(o.with_peer.c_str(), X_OK) != 0)
      throw std::runtime_error("--with-peer " + o.with_peer
                               + ": no executable there (build it with "
                                 "bash /work/shared/peer/harbor-v1-style/"
                                 "build.sh)");
    if (!o.token.empty())
      std::cerr << "regevent-bench: the peer checks no token\n";
  }

  bool webhooks = o.webhook_policies >= 0;
  if (webhooks) {
    if (!o.url.empty())
      throw std::runtime_error("--webhook-policies configures the daemon: "
                               "it cannot run against --url");
    if (sc != "serial" && sc != "parallel" && sc != "mix" && sc != "backlog")
      throw std::runtime_error("--webhook-policies runs with serial, "
                               "parallel, mix or backlog (a count of "
                               "events)");
    if (o.webhook_dead > static_cast<size_t>(o.webhook_policies))
      throw std::runtime_error("--webhook-dead is more than "
                               "--webhook-policies");
  }
  // The receiver and the dead address exist before the daemon, so that
  // the policies can name them as soon as it listens.
  std::unique_ptr<webhook_receiver> receiver;
  webhook_setup hooks;
  if (webhooks) {
    receiver = std::make_unique<webhook_receiver>(o.receiver_threads);
    hooks.policies = static_cast<size_t>(o.webhook_policies);
    hooks.dead = o.webhook_dead;
    hooks.project = w.project;
    hooks.live_url = receiver->url();
    hooks.dead_url = dead_address();
  }

  // Declared before the daemon, so that the daemon is gone (killed if it
  // still runs) before its directory and its database are removed, also
  // when a run throws.
  work_dir_guard dir_guard{{}, o.keep};
  std::unique_ptr<fresh_database> pg;
  /// pg_database_size of the empty database (a copy of template1).
  uint64_t pg_empty_bytes = 0;
  std::unique_ptr<managed_daemon> daemon;
  std::string dir;
  endpoint ep;
  /// Further instances of a multi-instance run (`--url a,b,c`).
  std::vector<std::pair<std::string, uint16_t>> also;
  pid_t pid = o.pid;
  /// The SQLite file (sizes are reported for it), and the database the
  /// check reads: `sqlite://FILE` or a PostgreSQL URL.
  std::string db = is_postgresql_url(o.db) ? std::string{} : o.db;
  std::string db_url = o.db.empty()              ? std::string{}
                       : is_postgresql_url(o.db) ? o.db
                                                 : "sqlite://" + o.db;
  // --with-ceiling measures SQLite before the daemon starts, not after it
  // stops: the ceiling then never shares the two cores or the disk with a
  // daemon (nor with the checkpoints and writeback of one that just
  // finished), it finds the disk in the same state whatever the scenario
  // (not after a million-event backlog), and backlog, which stops and
  // restarts its daemon, would have no single "after".
  std::optional<ceiling_result> ceiling;
  if (o.url.empty()) {
    dir = make_work_dir(o.work_dir);
    dir_guard.path = dir;
    std::string extra
        = o.extra_config.empty() ? std::string{} : read_text(o.extra_config);
    if (webhooks)
      std::tie(extra, hooks.admin_token) = webhook_extra_config(extra);
    if (!o.database.empty()) {
      pg = std::make_unique<fresh_database>(o.database, "bench_" + w.run_tag,
                                            o.keep);
      pg_empty_bytes = postgresql_bytes(pg->url());
    }
    daemon = std::make_unique<managed_daemon>(binary, dir, extra,
                                              pg ? pg->url() : std::string{});
    if (o.with_ceiling)
      ceiling = measure_ceiling(dir, daemon->config_for(sc == "backlog"),
                                o.ceiling_events, w);
    daemon->start(sc == "backlog");
    ep.port = daemon->port();
    pid = daemon->pid();
    db = daemon->database_path();
    db_url = daemon->database_url();
  } else {
    if (sc == "backlog")
      throw std::runtime_error("backlog restarts the daemon: it cannot run "
                               "against --url");
    // Several URLs: instances sharing one database, driven as one.
    std::vector<std::string> urls;
    for (size_t from = 0; from <= o.url.size();) {
      auto comma = std::min(o.url.find(',', from), o.url.size());
      urls.push_back(o.url.substr(from, comma - from));
      from = comma + 1;
    }
    ep = parse_url(urls.front());
    for (size_t i = 1; i < urls.size(); ++i) {
      auto e = parse_url(urls[i]);
      also.emplace_back(e.host, e.port);
    }
    if (o.with_ceiling) {
      // The daemon's configuration is not known here: the defaults and the
      // REGEVENT_* variables. Beside its database when --db names it, so
      // that the ceiling writes to the same disk.
      auto base = o.work_dir;
      if (base.empty() && !db.empty())
        base = std::filesystem::absolute(o.db).parent_path().string();
      dir_guard.path = make_work_dir(base);
      ceiling = measure_ceiling(dir_guard.path, {}, o.ceiling_events, w);
    }
  }
  if (ceiling && !o.keep)
    remove_ceiling_files(*ceiling);
  // A rate's text, with its share of the ceiling when there is one.
  auto rate_text = [&ceiling](double v) {
    auto text = per_s(v);
    if (ceiling && ceiling->rows_per_s() > 0)
      text += " (" + fixed(v / ceiling->rows_per_s(), 3) + " × ceiling)";
    return text;
  };
  auto environment = environment_line(o, binary, pg ? pg->name() : "");
  std::cerr << "regevent-bench: " << label << ", run " << w.run_tag << ", "
            << (dir.empty() ? o.url : dir) << "\n";

  if (webhooks) {
    create_webhook_policies(ep.host, ep.port, hooks);
    std::cerr << "regevent-bench: " << hooks.policies << " webhook policies on "
              << hooks.project << " (" << hooks.dead << " at the dead address "
              << hooks.dead_url << "), receiver " << hooks.live_url << "\n";
  }
  auto mon = std::make_unique<monitor>(ep.host, ep.port, pid,
                                       std::chrono::milliseconds(250), also);
  double base_finished = finished_events(mon->scrape_now());
  load_plan plan;
  plan.host = ep.host;
  plan.port = ep.port;
  plan.also = also;
  plan.token = o.token;
  plan.senders = senders;
  plan.threads = o.threads;

  json report;
  std::vector<table_row> rows;
  std::vector<std::string> sections;
  check_result extra_checks;
  load_result all;
  all.acknowledged = ledger(w.repositories);
  load_result main_load;
  /// Events that publish a webhook (pushes and counted GET pulls).
  uint64_t webhook_events = 0;
  uint64_t peak_rss_kib = 0;
  auto drain_timeout = std::chrono::seconds(o.drain_timeout_s);
  regevent_line rv;

  describe_run(report, sc, command, w);
  report["senders"] = senders;
  report["client_threads"] = o.threads;
  report["load_average_start"] = load_average();
  report["cpu_pressure_start"] = cpu_pressure();
  if (ceiling) {
    report["ceiling"] = to_json(*ceiling);
    report["ceiling_rows_per_s"] = ceiling->rows_per_s();
    ceiling_table_rows(rows, *ceiling);
  }

  if (sc == "serial" || sc == "parallel" || sc == "mix") {
    plan.deliveries = events;
    double daemon_cpu0 = cpu_seconds(pid), client_cpu0 = own_cpu_seconds();
    main_load = run_load(plan, w);
    absorb(all, main_load);
    const auto& l = main_load.acknowledged;
    double load_start = mon->seconds_since_start(main_load.started);
    double t_done = mon->wait_finished(
        base_finished + static_cast<double>(l.events), drain_timeout);
    cpu_rows(rows, report, cpu_seconds(pid) - daemon_cpu0,
             own_cpu_seconds() - client_cpu0, l);
    double e2e_s = t_done - load_start;
    auto lat = summarize(main_load.samples);
    double accepted = static_cast<double>(l.events) / main_load.seconds();
    double posts
        = static_cast<double>(l.events + l.duplicates) / main_load.seconds();
    double e2e = t_done < 0 ? 0 : static_cast<double>(l.events) / e2e_s;
    extra_checks.items.push_back(
        {"all events finished (daemon counter) within the drain timeout", "yes",
         t_done < 0 ? "no" : "yes", t_done >= 0});
    if (receiver) {
      webhook_events = l.pushes + l.pulls_get;
      wait_for_deliveries(*receiver, hooks, webhook_events, *mon, load_start,
                          t_done, drain_timeout, rows, report, extra_checks);
    }
    report["latency"] = to_json(lat);
    report["posts_per_s"] = posts;
    report["accepted_per_s"] = accepted;
    report["end_to_end_per_s"] = e2e;
    rv.ack_per_s = accepted;
    rv.end_to_end_per_s = e2e;
    rv.latency = lat;
    if (report.contains("daemon_cpu_us_per_event"))
      rv.cpu_us_per_event = report["daemon_cpu_us_per_event"].get<double>();
    report["load_seconds"] = main_load.seconds();
    report["end_to_end_seconds"] = e2e_s;
    rows.push_back({"POSTs answered",
                    std::to_string(l.events + l.duplicates) + " ("
                        + std::to_string(l.duplicates) + " re-sent)",
                    "", ""});
    rows.push_back({"load time", fixed(main_load.seconds(), 2) + " s", "", ""});
    if (sc == "serial") {
      rows.push_back({"ack latency p50", ms(lat.p50_ms), "", ""});
      rows.push_back({"ack latency p99", ms(lat.p99_ms),
                      "≤ " + ms(target::serial_p99_ms),
                      verdict(lat.p99_ms <= target::serial_p99_ms)});
      rows.push_back({"ack latency p99.9", ms(lat.p999_ms), "", ""});
      rows.push_back({"ack latency max", ms(lat.max_ms), "", ""});
      rows.push_back({"accepted", rate_text(accepted),
                      "≥ " + per_s(target::serial_rate),
                      verdict(accepted >= target::serial_rate)});
      rows.push_back({"end to end", rate_text(e2e), "", ""});
    } else {
      double k = sc == "mix" ? 1 - target::mix_tolerance : 1;
      double want_accept = target::parallel_accept_rate * k;
      double want_e2e = target::parallel_e2e_rate * k;
      rows.push_back({"ack latency p50", ms(lat.p50_ms), "", ""});
      rows.push_back({"ack latency p99", ms(lat.p99_ms),
                      "≤ " + ms(target::parallel_p99_ms),
                      verdict(lat.p99_ms <= target::parallel_p99_ms)});
      rows.push_back({"ack latency p99.9", ms(lat.p999_ms), "", ""});
      rows.push_back({"ack latency max", ms(lat.max_ms), "", ""});
      rows.push_back({"accepted", rate_text(accepted),
                      "≥ " + per_s(want_accept),
                      verdict(accepted >= want_accept)});
      rows.push_back({"end to end (effects committed)", rate_text(e2e),
                      "≥ " + per_s(want_e2e), verdict(e2e >= want_e2e)});
      rows.push_back(
          {"effects finished after the last ack",
           fixed(t_done - mon->seconds_since_start(main_load.finished), 2)
               + " s",
           "", ""});
      if (sc == "mix") {
        // "Same rates within 20 %" of the latest parallel run with as
        // many senders, when there is one.
        auto par = latest_result(o.results_dir,
                                 "parallel-" + std::to_string(senders));
        if (!par.is_null()) {
          double pa = par.value("accepted_per_s", 0.0);
          double pe = par.value("end_to_end_per_s", 0.0);
          if (pa > 0 && pe > 0) {
            rows.push_back({"accepted vs latest parallel run",
                            fixed(accepted / pa * 100, 0) + " %", "≥ 80 %",
                            verdict(accepted >= 0.8 * pa)});
            rows.push_back({"end to end vs latest parallel run",
                            fixed(e2e / pe * 100, 0) + " %", "≥ 80 %",
                            verdict(e2e >= 0.8 * pe)});
            report["parallel_reference"]
                = {{"accepted_per_s", pa}, {"end_to_end_per_s", pe}};
          }
        }
      }
    }
  } else if (sc == "backlog") {
    plan.deliveries = events;
    double daemon_cpu0 = cpu_seconds(pid), client_cpu0 = own_cpu_seconds();
    main_load = run_load(plan, w);
    absorb(all, main_load);
    const auto& l = main_load.acknowledged;
    double ingest_cpu = cpu_seconds(pid) - daemon_cpu0;
    double client_cpu = own_cpu_seconds() - client_cpu0;
    auto ingest_lat = summarize(main_load.samples);
    double ingest_rate = static_cast<double>(l.events) / main_load.seconds();
    auto before = mon->scrape_now();
    auto mem1 = read_memory(pid);
    uint64_t ingest_peak = std::max(mon->peak_rss_kib(), mem1.hwm);
    mon->stop();
    int code = daemon->stop();
    extra_checks.items.push_back(
        {"paused daemon exited cleanly", "0", std::to_string(code), code == 0});
    std::cerr << "regevent-bench: " << l.events
              << " events journaled; restarting with effects enabled\n";
    auto t0 = bench_clock::now();
    daemon->start(false);
    double startup_s
        = std::chrono::duration<double>(bench_clock::now() - t0).count();
    ep.port = daemon->port();
    pid = daemon->pid();
    mon = std::make_unique<monitor>(ep.host, ep.port, pid,
                                    std::chrono::milliseconds(100));
    double t_done
        = mon->wait_finished(static_cast<double>(l.events), drain_timeout);
    double drain_s
        = t_done < 0
              ? -1
              : std::chrono::duration<double>(mon->started() - t0).count()
                    + t_done;
    double drain_rate
        = t_done < 0 ? 0 : static_cast<double>(l.events) / drain_s;
    extra_checks.items.push_back(
        {"backlog drained (daemon counter) within the drain timeout", "yes",
         t_done < 0 ? "no" : "yes", t_done >= 0});
    double drain_cpu = cpu_seconds(pid);
    auto mem2 = read_memory(pid);
    uint64_t drain_peak = std::max(mon->peak_rss_kib(), mem2.hwm);
    // The tasks were written while draining, with no ingest beside
    // them: the delivery's rate to one target, not bounded by the events'.
    if (receiver) {
      webhook_events = l.pushes + l.pulls_get;
      wait_for_deliveries(*receiver, hooks, webhook_events, *mon, 0, t_done,
                          drain_timeout, rows, report, extra_checks);
    }
    report["ingest"] = {{"accepted_per_s", ingest_rate},
                        {"latency", to_json(ingest_lat)},
                        {"seconds", main_load.seconds()},
                        {"peak_rss_kib", ingest_peak},
                        {"pending_before_restart",
                         value_of(before, "regevent_backlog_events")}};
    report["drain"] = {{"events", l.events},
                       {"startup_seconds", startup_s},
                       {"seconds", drain_s},
                       {"per_s", drain_rate},
                       {"peak_rss_kib", drain_peak}};
    json curve = json::array();
    for (const auto& obs : mon->series())
      curve.push_back(
          {{"t", obs.t}, {"finished", obs.finished}, {"rss_kib", obs.rss_kib}});
    report["drain"]["curve"] = curve;
    peak_rss_kib = std::max(ingest_peak, drain_peak);
    rows.push_back({"events journaled with effects paused",
                    std::to_string(l.events), "", ""});
    rows.push_back(
        {"ingest (paused) accepted", rate_text(ingest_rate), "", ""});
    rows.push_back({"ingest (paused) ack p99", ms(ingest_lat.p99_ms), "", ""});
    rows.push_back(
        {"daemon CPU per event, ingest (paused)",
         fixed(ingest_cpu / static_cast<double>(l.events) * 1e6, 1) + " µs", "",
         ""});
    rows.push_back(
        {"harness CPU per POST",
         fixed(client_cpu / static_cast<double>(l.events + l.duplicates) * 1e6,
               1)
             + " µs",
         "", ""});
    rows.push_back(
        {"daemon CPU per event, drain",
         fixed(drain_cpu / static_cast<double>(l.events) * 1e6, 1) + " µs", "",
         ""});
    report["ingest"]["daemon_cpu_us_per_event"]
        = ingest_cpu / static_cast<double>(l.events) * 1e6;
    report["drain"]["daemon_cpu_us_per_event"]
        = drain_cpu / static_cast<double>(l.events) * 1e6;
    rows.push_back(
        {"restart until listening", fixed(startup_s, 2) + " s", "", ""});
    rows.push_back({"drain time (exec to last event done)",
                    fixed(drain_s, 2) + " s", "", ""});
    rows.push_back({"drain rate", rate_text(drain_rate),
                    "≥ " + per_s(target::backlog_drain_rate),
                    verdict(drain_rate >= target::backlog_drain_rate)});
    rows.push_back({"peak RSS while draining", mib(drain_peak),
                    "≤ " + fixed(target::backlog_rss_mib, 0) + " MiB",
                    verdict(static_cast<double>(drain_peak) / 1024.0
                            <= target::backlog_rss_mib)});
    rows.push_back({"peak RSS while ingesting", mib(ingest_peak),
                    "≤ " + fixed(target::backlog_rss_mib, 0) + " MiB",
                    verdict(static_cast<double>(ingest_peak) / 1024.0
                            <= target::backlog_rss_mib)});
  } else if (sc == "soak") {
    double rate = o.rate;
    if (rate <= 0) {
      // Half the closed-loop parallel rate of this very daemon.
      load_plan probe = plan;
      probe.duration_s = o.probe_s;
      auto p = run_load(probe, w, 0);
      absorb(all, p);
      rate = 0.5 * static_cast<double>(p.acknowledged.events) / p.seconds();
      report["probe"]
          = {{"seconds", p.seconds()},
             {"accepted_per_s",
              static_cast<double>(p.acknowledged.events) / p.seconds()}};
      std::cerr << "regevent-bench: probe accepted " << fixed(2 * rate, 0)
                << " /s; soaking at " << fixed(rate, 0) << " /s for "
                << o.duration_s << " s\n";
    }
    plan.rate = rate;
    plan.duration_s = o.duration_s;
    double daemon_cpu0 = cpu_seconds(pid), client_cpu0 = own_cpu_seconds();
    // Sender numbers past the probe's keep every event id unique.
    main_load = run_load(plan, w, 10'000);
    absorb(all, main_load);
    double t_done = mon->wait_finished(
        base_finished + static_cast<double>(all.acknowledged.events),
        drain_timeout);
    cpu_rows(rows, report, cpu_seconds(pid) - daemon_cpu0,
             own_cpu_seconds() - client_cpu0, main_load.acknowledged);
    extra_checks.items.push_back(
        {"all events finished (daemon counter) within the drain timeout", "yes",
         t_done < 0 ? "no" : "yes", t_done >= 0});
    auto windows = soak_windows(main_load.samples, mon->series(),
                                mon->seconds_since_start(main_load.started),
                                o.duration_s, o.window_s);
    std::vector<double> x, rss, p99;
    std::ostringstream md;
    md << "Soak windows of " << o.window_s
       << " s (latency measured from each delivery's scheduled time, so "
          "that a stall shows as latency rather than as a lower rate):\n\n"
          "| from s | POSTs/s | p50 ms | p99 ms | max ms | RSS MiB |\n"
          "|---|---|---|---|---|---|\n";
    json jw = json::array();
    for (const auto& win : windows) {
      md << "| " << fixed(win.start_s, 0) << " | " << fixed(win.rate, 0)
         << " | " << fixed(win.latency.p50_ms, 3) << " | "
         << fixed(win.latency.p99_ms, 3) << " | "
         << fixed(win.latency.max_ms, 3) << " | " << fixed(win.rss_mib, 1)
         << " |\n";
      jw.push_back({{"start_s", win.start_s},
                    {"rate", win.rate},
                    {"latency", to_json(win.latency)},
                    {"rss_mib", win.rss_mib}});
      if (win.latency.count > 0) {
        x.push_back(win.start_s / 60.0);
        rss.push_back(win.rss_mib);
        p99.push_back(win.latency.p99_ms);
      }
    }
    sections.push_back(md.str());
    double rss_slope = slope(x, rss);
    double p99_slope = slope(x, p99);
    // The first window includes the warm-up; compare the second with the
    // last, and the first third of p99s with the last third.
    double rss_first = rss.size() > 1 ? rss[1] : rss.empty() ? 0 : rss[0];
    double rss_last = rss.empty() ? 0 : rss.back();
    auto third = std::max<size_t>(1, p99.size() / 3);
    auto avg = [](auto b, auto e) {
      double s = 0;
      size_t n = 0;
      for (; b != e; ++b, ++n)
        s += *b;
      return n ? s / static_cast<double>(n) : 0.0;
    };
    double p99_first = avg(p99.begin(), p99.begin() + third);
    double p99_last = avg(p99.end() - third, p99.end());
    bool rss_flat = rss_last <= rss_first * 1.10 + 5;
    bool p99_flat = p99_last <= p99_first * 1.5 + 1;
    auto lat = summarize(main_load.samples);
    report["soak"] = {{"rate", rate},
                      {"duration_s", o.duration_s},
                      {"windows", jw},
                      {"rss_slope_mib_per_min", rss_slope},
                      {"p99_slope_ms_per_min", p99_slope},
                      {"rss_flat", rss_flat},
                      {"p99_flat", p99_flat}};
    report["latency"] = to_json(lat);
    report["accepted_per_s"]
        = static_cast<double>(main_load.acknowledged.events)
          / main_load.seconds();
    rows.push_back({"duration", fixed(o.duration_s, 0) + " s", "600 s (10 min)",
                    o.duration_s >= 600 ? "met" : "shorter run"});
    rows.push_back({"offered rate", rate_text(rate), "", ""});
    rows.push_back({"achieved rate",
                    rate_text(report["accepted_per_s"].get<double>()), "", ""});
    rows.push_back(
        {"ack latency p50 / p99 / max",
         ms(lat.p50_ms) + " / " + ms(lat.p99_ms) + " / " + ms(lat.max_ms), "",
         ""});
    rows.push_back({"RSS 2nd window → last window",
                    fixed(rss_first, 1) + " → " + fixed(rss_last, 1)
                        + " MiB (slope " + fixed(rss_slope, 2) + " MiB/min)",
                    "flat (≤ +10 %)", verdict(rss_flat)});
    rows.push_back({"p99 first third → last third",
                    ms(p99_first) + " → " + ms(p99_last) + " (slope "
                        + fixed(p99_slope, 3) + " ms/min)",
                    "flat (≤ ×1.5)", verdict(p99_flat)});
  }

  // Measures that every scenario reports.
  auto final_metrics = mon->scrape_now();
  auto mem = read_memory(pid);
  peak_rss_kib = std::max({peak_rss_kib, mon->peak_rss_kib(), mem.hwm});
  uint64_t db_file = db.empty() ? 0 : file_bytes(db);
  uint64_t wal_file = db.empty() ? 0 : file_bytes(db + "-wal");
  // What the run added: an empty database is already ~7 MiB.
  if (is_postgresql_url(db_url)) {
    auto bytes = postgresql_bytes(db_url);
    db_file = bytes - std::min(pg_empty_bytes, bytes);
  }
  uint64_t db_bytes = db_file + wal_file;
  mon->stop();
  double per_million = all.acknowledged.events == 0
                           ? 0
                           : static_cast<double>(db_bytes)
                                 / static_cast<double>(all.acknowledged.events)
                                 * 1e6;
  if (pid > 0)
    rows.push_back({"daemon peak RSS (VmHWM)", mib(peak_rss_kib), "", ""});
  if (db_bytes > 0 && db.empty())
    rows.push_back(
        {"PostgreSQL database size per million events (pg_database_size "
         "growth)",
         fixed(per_million / (1 << 20), 0) + " MiB", "", ""});
  else if (db_bytes > 0)
    rows.push_back({"database size (db + wal) per million events",
                    fixed(per_million / (1 << 20), 0) + " MiB (db "
                        + fixed(static_cast<double>(db_file) / (1 << 20), 0)
                        + " MiB + wal "
                        + fixed(static_cast<double>(wal_file) / (1 << 20), 0)
                        + " MiB)",
                    "", ""});
  if (main_load.unavailable + main_load.transport_errors > 0)
    rows.push_back({"503 answers / transport errors (sent again)",
                    std::to_string(all.unavailable) + " / "
                        + std::to_string(all.transport_errors),
                    "0", "**seen**"});
  report["peak_rss_kib"] = peak_rss_kib;
  report["database_bytes"] = db_bytes;
  report["database_file_bytes"] = db_file;
  report["wal_bytes"] = wal_file;
  report["database_bytes_per_million_events"] = per_million;
  report["sent"] = to_json(all.acknowledged);
  report["answers"] = {{"accepted", all.answered_accepted},
                       {"duplicates", all.answered_duplicates},
                       {"ignored", all.answered_ignored},
                       {"unavailable_503", all.unavailable},
                       {"rejected", all.rejected},
                       {"transport_errors", all.transport_errors},
                       {"mismatches", all.answer_mismatches}};
  auto [counters_json, counters_md] = daemon_counters(final_metrics);
  report["daemon_counters"] = counters_json;
  sections.push_back(counters_md);

  // The correctness check: a fast wrong run is a failed run.
  auto check = db_url.empty()
                   ? check_answers(all)
                   : check_database(db_url, w, all, std::chrono::seconds(30));
  for (auto& item : extra_checks.items)
    check.items.push_back(item);
  if (receiver && !db_url.empty())
    check_webhook_tasks(db_url, hooks, webhook_events, rows, report, check);
  if (daemon) {
    int code = daemon->stop();
    check.items.push_back({"daemon exited cleanly on SIGTERM", "0",
                           std::to_string(code), code == 0});
    if (!check.ok())
      std::cerr << "regevent-bench: daemon log tail:\n"
                << daemon->log_tail() << "\n";
  }
  if (!all.first_problem.empty()) {
    report["first_problem"] = all.first_problem;
    std::cerr << "regevent-bench: first problem: " << all.first_problem << "\n";
  }
  // The peer, on the same cluster, after regevent stopped: the same
  // workload (seed, senders, events) against a database of its own.
  std::string peer_title;
  std::string peer_error;
  if (!o.with_peer.empty()) {
    auto regevent_db = pg->name();
    // Out of the way (unless --keep): the peer should not share the
    // cluster's cache and checkpoints with regevent's rows.
    if (!o.keep)
      pg->drop();
    fresh_database peer_db(o.database, "bench_" + w.run_tag + "_peer", o.keep);
    peer_plan pp;
    pp.binary = o.with_peer;
    pp.dir = dir;
    pp.database_url = peer_db.url();
    pp.load = plan;
    pp.load.deliveries = events;
    pp.quiet = std::chrono::milliseconds(
        static_cast<long long>(o.peer_quiet_s * 1000));
    pp.timeout = drain_timeout;
    peer_title = " vs harbor-v1-style peer";
    try {
      auto p = run_peer(pp, w);
      sections.insert(sections.begin(),
                      peer_section(report, rv, check, p, regevent_db,
                                   peer_db.name(), peak_rss_kib));
    } catch (const std::exception& e) {
      // regevent's results stand; the comparison asked for is missing,
      // which fails the run (exit status 1) without hiding them.
      peer_error = e.what();
      report["peer_error"] = peer_error;
      sections.insert(sections.begin(), "**The peer did not run to the end**: "
                                            + peer_error + "\n");
    }
  }
  report["check"] = to_json(check);
  report["load_average_end"] = load_average();
  report["cpu_pressure_end"] = cpu_pressure();
  report["passed"] = check.ok();
  if (ceiling)
    add_ceiling_ratios(report, ceiling->rows_per_s());
  auto title
      = label + " — " + std::to_string(all.acknowledged.events) + " events, "
        + std::to_string(senders) + " sender" + (senders == 1 ? "" : "s")
        + ", workload " + w.kind + (pg ? ", PostgreSQL" : "")
        + (webhooks
               ? ", " + std::to_string(hooks.policies) + " webhook policies ("
                     + std::to_string(hooks.dead) + " dead)"
               : "")
        + peer_title;
  auto text
      = markdown(title, command,
                 environment + " Load average at the end " + load_average()
                     + ", CPU pressure " + cpu_pressure() + ".",
                 rows, check, sections);
  auto [json_path, md_path] = write_results(o.results_dir, label, report, text);
  std::cout << text << "\nResults: " << json_path << "\n         " << md_path
            << "\n"
            << (check.ok() ? "PASSED" : "FAILED") << "\n";
  if (!peer_error.empty()) {
    std::cout << "PEER FAILED: " << peer_error << "\n";
    return 1;
  }
  return check.ok() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"regevent-bench: load, end-to-end rate and correctness of "
               "regeventd"};
  options o;
  app.add_option("-s,--scenario", o.scenario, "what to measure")
      ->required()
      ->check(CLI::IsMember(
          {"serial", "parallel", "mix", "backlog", "soak", "ceiling"}));
  app.add_option("-n,--events", o.events,
                 "POSTs to make (defaults: serial 10000, parallel and mix "
                 "50000, backlog 1000000; soak runs for --duration); "
                 "ceiling: journal rows to insert (default 50000)");
  app.add_option("--senders", o.senders,
                 "keep-alive connections, one request in flight each "
                 "(default 1 for serial, 64 otherwise)");
  app.add_option("--duration", o.duration_s, "soak: seconds")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate,
                 "soak: POSTs per second (default: half the rate a "
                 "closed-loop probe reaches)");
  app.add_option("--probe", o.probe_s, "soak: seconds of the rate probe");
  app.add_option("--window", o.window_s, "soak: seconds per sample window")
      ->check(CLI::PositiveNumber);
  app.add_option("--url", o.url,
                 "drive a running daemon (http://host:port) instead of "
                 "starting one; several, comma-separated, for instances "
                 "sharing one database: senders are spread over them and "
                 "their counters summed");
  app.add_option("--db", o.db,
                 "with --url: its SQLite file or PostgreSQL URL, for the "
                 "correctness check");
  app.add_option("--pid", o.pid, "with --url: its process id, for RSS");
  app.add_option("--token", o.token, "notify bearer token");
  app.add_option("--daemon", o.daemon,
                 "regeventd binary (default: the one built with the bench, "
                 "or $REGEVENTD)");
  app.add_option("--extra-config", o.extra_config,
                 "YAML merged into the generated daemon configuration "
                 "(anything but listen and database.url)");
  app.add_option("--database", o.database,
                 "start regevent on PostgreSQL: an admin URL "
                 "(postgresql://user@host:port/db) of a cluster where the "
                 "harness creates and drops database bench_<run>");
  app.add_option("--with-peer", o.with_peer,
                 "also run the harbor-v1-style peer binary at PATH with the "
                 "same workload on the --database cluster, after regevent, "
                 "and report both side by side");
  app.add_option("--peer-settle", o.peer_quiet_s,
                 "seconds the peer's counts must stay unchanged to count "
                 "as settled")
      ->check(CLI::PositiveNumber);
  app.add_option("--work-dir", o.work_dir,
                 "where the daemon's database goes (default $TMPDIR)");
  app.add_flag("--keep", o.keep, "keep the daemon's directory");
  app.add_option("--results-dir", o.results_dir,
                 "where the JSON and Markdown reports go");
  app.add_option("--workload", o.workload,
                 "pulls or mix (default: mix for the mix scenario)")
      ->check(CLI::IsMember({"pulls", "mix"}));
  app.add_option("--repositories", o.repositories, "distinct repositories")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--zipf", o.zipf, "Zipf exponent of repository popularity");
  app.add_option("--seed", o.seed, "random seed (default: random)");
  app.add_option("--client-threads", o.threads, "client io threads")
      ->check(CLI::Range(1, 64));
  app.add_option("--drain-timeout", o.drain_timeout_s,
                 "seconds to wait for the effects after the load");
  app.add_flag("--with-ceiling", o.with_ceiling,
               "measure the SQLite ceiling first, in the same run and "
               "directory, and report every rate also as a ratio to it");
  app.add_option("--ceiling-events", o.ceiling_events,
                 "journal rows the --with-ceiling measurement inserts")
      ->check(CLI::PositiveNumber);
  app.add_option("--webhook-policies", o.webhook_policies,
                 "create N webhook policies (PUSH_ARTIFACT, PULL_ARTIFACT) "
                 "on the run's project before the load, each with one "
                 "target at a receiver inside the harness; report the "
                 "delivery rate and check every delivery arrived (0: the "
                 "same run and configuration without policies)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--webhook-dead", o.webhook_dead,
                 "of those policies, how many target a dead address "
                 "(connection refused)");
  app.add_option("--receiver-threads", o.receiver_threads,
                 "io threads of the webhook receiver")
      ->check(CLI::Range(1, 16));
  CLI11_PARSE(app, argc, argv);
  if (!o.url.empty() && o.db.empty())
    std::cerr << "regevent-bench: no --db: only the answers are checked, "
                 "not the database\n";
  std::string command;
  for (int i = 0; i < argc; ++i)
    command += (i ? " " : "") + std::string(argv[i]);
  try {
    return run(o, command);
  } catch (const std::exception& e) {
    std::cerr << "regevent-bench: " << e.what() << "\nFAILED\n";
    return 1;
  }
}
