#include "bench/peer.hpp"

#include "bench/daemon.hpp"

#include "tests/fixtures/temp_dir.hpp"

#include <soci/soci.h>

#include <arpa/inet.h>
#include <csignal>
#include <iostream>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace regevent::bench {

namespace {

/// A port that was free a moment ago: the peer takes `-listen host:port`
/// and never says which port `:0` got, so the harness binds port 0 itself,
/// reads the port and releases it. Another process may take it in
/// between; `start` then tries another.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
            && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok
      = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

/// lib/pq wants TLS unless told otherwise; the harness's clusters have
/// none (scripts/pg_cluster.sh), and regevent's libpq connection does not
/// insist either.
std::string lib_pq_dsn(const std::string& url) {
  if (url.find("sslmode=") != std::string::npos)
    return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&")
         + "sslmode=disable";
}

/// What the peer's database holds for this run: the two numbers whose
/// changes say whether its fire-and-forget writes are still landing.
struct peer_counts {
  long long pulls = 0;
  long long access_log = 0;
  bool operator==(const peer_counts& o) const {
    return pulls == o.pulls && access_log == o.access_log;
  }
};

peer_counts read_counts(soci::session& sql, const std::string& repos) {
  return {scalar(sql,
                 "SELECT COALESCE(SUM(pull_count), 0) FROM repository "
                 "WHERE name LIKE :p",
                 repos),
          scalar(sql, "SELECT COUNT(*) FROM access_log WHERE repo_name LIKE :p",
                 repos)};
}

/// The rows a pull needs to count: Harbor's handler only UPDATEs
/// `repository` (created by a push it was notified of) and sets the
/// `pull_time` of the `artifact` rows its registry proxy wrote on push.
/// A fresh run's pulls are all of version 1 (`v1`).
void seed(soci::session& sql, const workload_options& w) {
  long long project_id = scalar(
      sql, "SELECT project_id FROM project WHERE name = :n", w.project);
  if (project_id == 0)
    throw std::runtime_error("the peer did not create project " + w.project);
  std::vector<std::string> names, digests;
  std::vector<long long> projects;
  for (uint32_t i = 0; i < w.repositories; ++i) {
    names.push_back(repository_name(w, i));
    digests.push_back(manifest_digest(w, i, 1));
    projects.push_back(project_id);
  }
  soci::transaction tx(sql);
  sql << "INSERT INTO repository (name, project_id, description, pull_count, "
         "star_count) VALUES (:n, :p, '', 0, 0)",
      soci::use(names), soci::use(projects);
  sql << "INSERT INTO artifact (project_id, repo, tag, digest, push_time) "
         "VALUES (:p, :n, 'v1', :d, CURRENT_TIMESTAMP)",
      soci::use(projects), soci::use(names), soci::use(digests);
  tx.commit();
  sql << "ANALYZE repository";
  sql << "ANALYZE artifact";
}

void add(check_result& r, std::string what, uint64_t expected,
         uint64_t actual) {
  r.items.push_back({std::move(what), std::to_string(expected),
                     std::to_string(actual), expected == actual});
}

} // namespace

peer_process::peer_process(std::string binary, std::string log_path)
    : binary_(std::move(binary)), log_path_(std::move(log_path)) {}

peer_process::~peer_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

void peer_process::start(const std::string& dsn, const std::string& projects) {
  auto pq = lib_pq_dsn(dsn);
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    auto listen = "127.0.0.1:" + std::to_string(port_);
    pid_ = spawn_logged(
        {binary_, "-listen", listen, "-dsn", pq, "-projects", projects},
        log_path_);
    auto state = wait_started(
        pid_, [&] { return accepts_connections(port_); },
        std::chrono::seconds(60));
    bool exited = state == start_state::exited;
    bool up = state == start_state::up;
    if (up && !exited)
      return;
    if (!exited)
      stop(std::chrono::seconds(5));
    pid_ = -1;
    // Someone took the port between the probe and the peer's bind.
    if (exited && log_lines_with("address already in use") > 0)
      continue;
    throw std::runtime_error("the peer did not start (" + binary_ + "); log:\n"
                             + log_tail());
  }
  throw std::runtime_error("the peer found no free port; log:\n" + log_tail());
}

int peer_process::stop(std::chrono::seconds deadline) {
  if (pid_ <= 0)
    return 0;
  int result = stop_process(pid_, deadline);
  pid_ = -1;
  return result;
}

uint64_t peer_process::log_lines_with(const std::string& needle) const {
  std::istringstream in(test::read_file(log_path_));
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos)
      ++n;
  return n;
}

std::string peer_process::log_tail(size_t lines) const {
  return file_tail(log_path_, lines);
}

peer_result run_peer(const peer_plan& plan, const workload_options& w) {
  peer_result r;
  peer_process peer(plan.binary, plan.dir + "/peer.log");
  std::cerr << "regevent-bench: peer " << plan.binary << " on "
            << plan.database_url << "\n";
  peer.start(plan.database_url, w.project);
  soci::session sql;
  open_database(sql, plan.database_url);
  seed(sql, w);

  load_plan load = plan.load;
  load.host = "127.0.0.1";
  load.port = peer.port();
  load.also.clear();
  load.token.clear();
  load.regevent_answers = false;
  double cpu0 = cpu_seconds(peer.pid());
  r.load = run_load(load, w);
  const auto& l = r.load.acknowledged;

  // Its writes are goroutines nobody waits for: the database, not the
  // answers, says when it is done. Settled: both counts unchanged for
  // `quiet`; the end-to-end time runs to the first poll that saw them.
  const std::string repos = w.project + "/%";
  auto until = bench_clock::now() + plan.timeout;
  auto last = read_counts(sql, repos);
  auto changed_at = bench_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = bench_clock::now();
    auto c = read_counts(sql, repos);
    if (!(c == last)) {
      last = c;
      changed_at = now;
    } else if (now - changed_at >= plan.quiet) {
      r.settled = true;
      break;
    }
    if (now >= until)
      break;
  }
  r.settle_s
      = std::chrono::duration<double>(changed_at - r.load.started).count();
  r.cpu_us_per_event = l.events == 0
                           ? 0
                           : (cpu_seconds(peer.pid()) - cpu0)
                                 / static_cast<double>(l.events) * 1e6;
  auto mem = read_memory(peer.pid());
  r.peak_rss_kib = mem.hwm;
  r.latency = summarize(r.load.samples);
  r.ack_per_s = static_cast<double>(l.events) / r.load.seconds();
  r.access_log_rows = static_cast<uint64_t>(last.access_log);
  r.expected_access_log = l.events;
  r.end_to_end_per_s = r.settle_s > 0
                           ? static_cast<double>(r.access_log_rows) / r.settle_s
                           : 0;

  auto t = tally_pulls(
      sql, "SELECT name, pull_count FROM repository WHERE name LIKE :p", w, l);
  r.expected_pulls = t.expected;
  r.counted_pulls = t.counted;
  r.lost_pulls = t.lost;
  r.extra_pulls = t.extra;
  r.wrong_repositories = t.wrong_repositories;
  const auto& first_wrong = t.first_wrong;
  uint64_t pulled_repositories = 0;
  for (auto n : l.pull_counts)
    pulled_repositories += n > 0 ? 1 : 0;
  auto pulled_artifacts = scalar(sql,
                                 "SELECT COUNT(*) FROM artifact WHERE repo "
                                 "LIKE :p AND pull_time IS NOT NULL",
                                 repos);
  r.error_lines = peer.log_lines_with("[ERROR]");
  if (r.error_lines > 0)
    std::cerr << "regevent-bench: peer log tail:\n" << peer.log_tail(5) << "\n";
  r.exit_status = peer.stop();

  auto& c = r.check;
  add(c, "POSTs answered 2xx", l.events + l.duplicates,
      r.load.answered_accepted + r.load.answered_duplicates);
  add(c, "POSTs answered otherwise (500: a panic)", 0, r.load.rejected);
  c.items.push_back({"database settled (counts unchanged for "
                         + std::to_string(plan.quiet.count()) + " ms)",
                     "yes", r.settled ? "yes" : "no (timeout)", r.settled});
  add(c, "access_log rows", r.expected_access_log, r.access_log_rows);
  add(c, "counted pulls (repository.pull_count, all repositories)",
      r.expected_pulls, r.counted_pulls);
  add(c, "pulls lost (acknowledged, never counted)", 0, r.lost_pulls);
  add(c, "pulls counted more than once (re-sent or doubled)", 0, r.extra_pulls);
  c.items.push_back(
      {"repositories with a wrong pull count", "0",
       std::to_string(r.wrong_repositories)
           + (first_wrong.empty() ? "" : " (" + first_wrong + ")"),
       r.wrong_repositories == 0});
  // Pulls by tag of a fresh `pulls` run name v1, the seeded artifact.
  if (w.kind == "pulls")
    add(c, "artifacts with a pull_time (repositories pulled)",
        pulled_repositories, static_cast<uint64_t>(pulled_artifacts));
  add(c, "[ERROR] lines in the peer's log (writes it dropped)", 0,
      r.error_lines);
  return r;
}

nlohmann::json to_json(const peer_result& r) {
  return {{"sent", to_json(r.load.acknowledged)},
          {"load_seconds", r.load.seconds()},
          {"latency", to_json(r.latency)},
          {"ack_per_s", r.ack_per_s},
          {"settled", r.settled},
          {"settle_seconds", r.settle_s},
          {"end_to_end_per_s", r.end_to_end_per_s},
          {"expected_pulls", r.expected_pulls},
          {"counted_pulls", r.counted_pulls},
          {"lost_pulls", r.lost_pulls},
          {"extra_pulls", r.extra_pulls},
          {"wrong_repositories", r.wrong_repositories},
          {"expected_access_log", r.expected_access_log},
          {"access_log_rows", r.access_log_rows},
          {"error_lines", r.error_lines},
          {"cpu_us_per_event", r.cpu_us_per_event},
          {"peak_rss_kib", r.peak_rss_kib},
          {"exit_status", r.exit_status},
          {"rejected", r.load.rejected},
          {"transport_errors", r.load.transport_errors},
          {"check", to_json(r.check)}};
}

} // namespace regevent::bench
