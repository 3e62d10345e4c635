#include "bench/daemon.hpp"

#include "tests/fixtures/http_client.hpp"
#include "tests/fixtures/poll.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace regevent::bench {

managed_daemon::managed_daemon(std::string binary, std::string dir,
                               std::string extra_yaml, std::string database_url)
    : binary_(std::move(binary)),
      dir_(std::move(dir)),
      extra_yaml_(std::move(extra_yaml)),
      db_path_(database_url.empty() ? dir_ + "/regevent.db" : std::string{}),
      db_url_(database_url.empty() ? "sqlite://" + db_path_
                                   : std::move(database_url)),
      config_path_(dir_ + "/regevent.yml"),
      log_path_(dir_ + "/regeventd.log"),
      port_file_(dir_ + "/regeventd.port") {
  // Fails at once on an extra configuration the harness cannot merge.
  (void)config_for(false);
}

managed_daemon::~managed_daemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

std::string managed_daemon::config_for(bool effects_paused) const {
  // The extra configuration is merged as YAML, not appended as text: YAML
  // forbids a key twice, so an appended `database:` or `effects:` section
  // (pool size, batch delays) would clash with the harness's own.
  YAML::Node root;
  try {
    root = extra_yaml_.empty() ? YAML::Node(YAML::NodeType::Map)
                               : YAML::Load(extra_yaml_);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(std::string("--extra-config: ") + e.what());
  }
  if (root.IsNull())
    root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap())
    throw std::runtime_error("--extra-config: not a YAML mapping");
  auto section = [&root](const char* name) {
    auto node = root[name];
    if (node.IsNull() || !node.IsDefined())
      root[name] = YAML::Node(YAML::NodeType::Map);
    if (!root[name].IsMap())
      throw std::runtime_error(std::string("--extra-config: `") + name
                               + "` is not a mapping");
    return root[name];
  };
  // The harness must know the database to check it and the port to
  // drive it: those two are its own, the rest may be overridden.
  if (root["listen"])
    throw std::runtime_error("--extra-config: `listen` is the harness's "
                             "(127.0.0.1:0, read back from --port-file)");
  auto database = section("database");
  if (database["url"])
    throw std::runtime_error("--extra-config: `database.url` is the "
                             "harness's: give --database instead");
  YAML::Node out(YAML::NodeType::Map);
  out["listen"] = "127.0.0.1:0";
  database["url"] = db_url_;
  // Log at warn unless told otherwise: an info line per request would
  // measure spdlog, and the registry never reads our log.
  auto log = section("log");
  if (!log["level"])
    log["level"] = "warn";
  section("effects")["paused"] = effects_paused;
  for (const auto& kv : root)
    out[kv.first] = kv.second;
  YAML::Emitter emitter;
  emitter << out;
  return std::string(emitter.c_str()) + "\n";
}

void managed_daemon::start(bool effects_paused) {
  config_text_ = config_for(effects_paused);
  test::write_file(config_path_, config_text_);
  std::remove(port_file_.c_str());
  pid_ = spawn_logged(
      {binary_, "--config", config_path_, "--port-file", port_file_},
      log_path_);
  auto state = wait_started(
      pid_, [&] { return !test::read_file(port_file_).empty(); },
      std::chrono::seconds(120));
  bool exited = state == start_state::exited;
  bool up = state == start_state::up;
  if (exited || !up) {
    if (!exited)
      stop(std::chrono::seconds(5));
    pid_ = -1;
    throw std::runtime_error("regeventd did not start (" + binary_ + "); log:\n"
                             + log_tail());
  }
  port_ = static_cast<uint16_t>(std::stoi(test::read_file(port_file_)));
}

int managed_daemon::stop(std::chrono::seconds deadline) {
  if (pid_ <= 0)
    return 0;
  int result = stop_process(pid_, deadline);
  pid_ = -1;
  return result;
}

std::string managed_daemon::log_tail(size_t lines) const {
  return file_tail(log_path_, lines);
}

pid_t spawn_logged(const std::vector<std::string>& argv,
                   const std::string& log_path) {
  std::vector<const char*> args;
  for (const auto& a : argv)
    args.push_back(a.c_str());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(args[0], const_cast<char* const*>(args.data()));
    _exit(127);
  }
  return pid;
}

start_state wait_started(pid_t pid, const std::function<bool()>& ready,
                         std::chrono::seconds deadline) {
  bool exited = false;
  bool up = test::poll_until(
      [&] {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          exited = true;
          return true;
        }
        return ready();
      },
      deadline);
  return exited ? start_state::exited
         : up   ? start_state::up
                : start_state::timeout;
}

int stop_process(pid_t pid, std::chrono::seconds deadline) {
  ::kill(pid, SIGTERM);
  int result = -1;
  bool done = test::poll_until(
      [&] {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) != pid)
          return false;
        result = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        return true;
      },
      deadline);
  if (!done) {
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    result = -1;
  }
  return result;
}

std::string file_tail(const std::string& path, size_t lines) {
  auto text = test::read_file(path);
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return text.substr(pos);
}

memory_kib read_memory(pid_t pid) {
  memory_kib m;
  if (pid <= 0)
    return m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      m.rss = std::strtoull(line.c_str() + 6, nullptr, 10);
    else if (line.rfind("VmHWM:", 0) == 0)
      m.hwm = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return m;
}

double cpu_seconds(pid_t pid) {
  if (pid <= 0)
    return 0;
  auto text = test::read_file("/proc/" + std::to_string(pid) + "/stat");
  // The command name may hold spaces: fields count from the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream in(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    else if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

metric_map parse_metrics(const std::string& text) {
  metric_map out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos)
      continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

namespace {

double value_of(const metric_map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0.0 : it->second;
}

} // namespace

double finished_events(const metric_map& m) {
  return value_of(m, "regevent_events_done_total")
         + value_of(m, "regevent_events_filtered_total")
         + value_of(m, "regevent_events_dead_total");
}

monitor::monitor(std::string host, uint16_t port, pid_t pid,
                 std::chrono::milliseconds every,
                 std::vector<std::pair<std::string, uint16_t>> also)
    : host_(std::move(host)),
      port_(port),
      also_(std::move(also)),
      pid_(pid),
      every_(every),
      started_(bench_clock::now()) {
  thread_ = std::thread([this] { loop(); });
}

monitor::~monitor() {
  stop();
}

void monitor::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

observation monitor::poll(metric_map* out) {
  // A fresh client per poll: connecting costs nothing next to a scrape and
  // keeps two threads from sharing one connection. Every instance's
  // samples are summed; one that does not answer makes the poll count as
  // unanswered rather than as a smaller number.
  bool answered = true;
  metric_map m;
  auto scrape = [&](const std::string& host, uint16_t port) {
    test::http_client client(host, port);
    auto answer = client.get("/metrics");
    if (answer.status != 200) {
      answered = false;
      return;
    }
    for (const auto& [key, value] : parse_metrics(answer.body))
      m[key] += value;
  };
  scrape(host_, port_);
  for (const auto& [host, port] : also_)
    scrape(host, port);
  observation o;
  o.t = seconds_since_start(bench_clock::now());
  if (answered) {
    o.accepted = value_of(m, "regevent_events_total{outcome=\"accepted\"}");
    o.finished = finished_events(m);
    o.backlog = value_of(m, "regevent_backlog_events");
    if (out)
      *out = std::move(m);
  }
  o.rss_kib = read_memory(pid_).rss;
  std::lock_guard<std::mutex> guard(mtx_);
  series_.push_back(o);
  peak_rss_kib_ = std::max(peak_rss_kib_, o.rss_kib);
  return o;
}

void monitor::loop() {
  while (!stop_) {
    poll(nullptr);
    auto until = bench_clock::now() + every_;
    while (!stop_ && bench_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

metric_map monitor::scrape_now() {
  metric_map m;
  poll(&m);
  return m;
}

double monitor::wait_finished(double target, std::chrono::seconds timeout) {
  auto until = bench_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      for (const auto& o : series_)
        if (o.finished >= target)
          return o.t;
    }
    if (bench_clock::now() >= until)
      return -1;
    // Between the background samples, poll faster for a sharp end time.
    auto o = poll(nullptr);
    if (o.finished >= target)
      return o.t;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<observation> monitor::series() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return series_;
}

uint64_t monitor::peak_rss_kib() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return peak_rss_kib_;
}

} // namespace regevent::bench
