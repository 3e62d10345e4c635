#include "tests/e2e/registry_helper.hpp"

#include "tests/e2e/pki_helper.hpp"

#include "tests/fixtures/poll.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace regevent::test {

namespace {

using namespace std::chrono_literals;

/// posix_spawn file actions, destroyed with their owner.
struct file_actions {
  posix_spawn_file_actions_t fa;
  file_actions() {
    posix_spawn_file_actions_init(&fa);
  }
  ~file_actions() {
    posix_spawn_file_actions_destroy(&fa);
  }
  file_actions(const file_actions&) = delete;
  file_actions& operator=(const file_actions&) = delete;
};

/// Spawns `argv` with the given file actions, which must leave the child
/// nothing but descriptors 0-2. Returns the PID, or -1.
pid_t spawn(const std::vector<std::string>& argv, file_actions& actions) {
  // Descriptors of the test process (sockets to the daemon, pipes of other
  // children) stay out of the child.
  posix_spawn_file_actions_addclosefrom_np(&actions.fa, 3);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &actions.fa, nullptr, args.data(), environ)
      != 0)
    return -1;
  return pid;
}

/// The notification endpoint of a registry that sends its events.
std::string notifications(const std::string& notify_url,
                          const std::string& secret) {
  return "notifications:\n"
         "  events:\n"
         "    includereferences: true\n"
         "  endpoints:\n"
         "    - name: regevent\n"
         "      disabled: false\n"
         "      url: "
         + notify_url
         + "\n"
           "      headers:\n"
           "        Authorization: [Bearer "
         + secret
         + "]\n"
           "      timeout: 1s\n"
           "      threshold: 3\n"
           "      backoff: 1s\n";
}

/// The `tls:` part of the `http:` section of a registry that serves HTTPS.
std::string http_tls(const registry_tls& tls) {
  if (!tls.enabled())
    return "";
  return "  tls:\n"
         "    certificate: "
         + tls.certificate + "\n    key: " + tls.key + "\n";
}

std::string registry_config(const std::string& storage,
                            const std::string& notify_url,
                            const std::string& secret, const std::string& extra,
                            const registry_tls& tls, uint16_t port) {
  return "version: 0.1\n"
         "log:\n"
         "  level: info\n"
         "  formatter: text\n"
         "  fields:\n"
         "    service: registry\n"
         "storage:\n"
         "  filesystem:\n"
         "    rootdirectory: "
         + storage
         + "\n"
           "  delete:\n"
           "    enabled: true\n"
           "  cache:\n"
           "    blobdescriptor: inmemory\n"
           "  maintenance:\n"
           "    uploadpurging:\n"
           "      enabled: false\n"
           "http:\n"
           "  addr: 127.0.0.1:"
         + std::to_string(port)
         + "\n"
           "  headers:\n"
           "    X-Content-Type-Options: [nosniff]\n"
         + http_tls(tls)
         + (notify_url.empty() ? std::string()
                               : notifications(notify_url, secret))
         + extra;
}

} // namespace

pid_t start_process(const std::vector<std::string>& argv,
                    const std::string& log_path) {
  file_actions actions;
  posix_spawn_file_actions_addopen(&actions.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions.fa, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions.fa, 1, 2);
  return spawn(argv, actions);
}

bool process_ended(pid_t pid, int& exit_code) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid)
    return false;
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return true;
}

void stop_process(pid_t& pid) {
  if (pid <= 0)
    return;
  ::kill(pid, SIGTERM);
  int code = 0;
  if (!poll_until([&] { return process_ended(pid, code); }, 10s)) {
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  pid = -1;
}

python_double::python_double(const temp_dir& dir, const std::string& name,
                             const std::string& script,
                             std::vector<std::string> args) {
  auto port_file = dir.file(name + ".port");
  auto log_path = dir.file(name + ".log");
  args.insert(args.begin(),
              {"python3", std::string(REGEVENT_FIXTURES_DIR) + "/../" + script,
               "--port-file", port_file});
  pid_ = start_process(args, log_path);
  if (pid_ < 0) {
    problem_ = "cannot start python3";
    return;
  }
  poll_until([&] { return !read_file(port_file).empty(); }, 20s);
  auto text = read_file(port_file);
  if (text.empty()) {
    problem_ = "no port within 20 s: " + read_file(log_path);
    return;
  }
  port_ = static_cast<uint16_t>(std::stoi(text));
}

python_double::~python_double() {
  stop_process(pid_);
}

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && !in.eof())
      out.push_back(nlohmann::json::parse(line, nullptr, false));
  return out;
}

command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds deadline) {
  command_result result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.output = "pipe2 failed";
    return result;
  }
  file_actions actions;
  posix_spawn_file_actions_addopen(&actions.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions.fa, fds[1], 2);
  pid_t pid = spawn(argv, actions);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    result.output = "cannot start " + argv.front();
    return result;
  }
  // Read until the child closes its end; poll(2) bounds every wait.
  auto until = std::chrono::steady_clock::now() + deadline;
  bool overran = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      overran = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      overran = true; // timed out, or poll failed: the child is killed
      break;
    }
    char buffer[4096];
    auto got = ::read(fds[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    result.output.append(buffer, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (overran)
    ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (overran) {
    result.exit_code = -1;
    result.output += "\n[killed: no end within "
                     + std::to_string(deadline.count()) + " ms]";
  } else {
    result.exit_code
        = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  return result;
}

registry_process::registry_process(const temp_dir& dir, std::string notify_url,
                                   std::string secret)
    : registry_process(dir, std::move(notify_url), std::move(secret), "") {}

registry_process::registry_process(const temp_dir& dir, std::string notify_url,
                                   std::string secret, std::string extra_config)
    : registry_process(dir, std::move(notify_url), std::move(secret),
                       std::move(extra_config), registry_tls{}) {}

registry_process::registry_process(const temp_dir& dir, std::string notify_url,
                                   std::string secret, std::string extra_config,
                                   registry_tls tls)
    : notify_url_(std::move(notify_url)),
      secret_(std::move(secret)),
      extra_config_(std::move(extra_config)),
      tls_(std::move(tls)),
      config_path_(dir.file("registry.yml")),
      log_path_(dir.file("registry.log")),
      storage_path_(dir.file("registry-storage")) {}

registry_process::~registry_process() {
  stop();
}

std::string registry_process::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string registry_process::ref(const std::string& repository,
                                  const std::string& reference) const {
  bool digest = reference.rfind("sha256:", 0) == 0;
  return address() + "/" + repository + (digest ? "@" : ":") + reference;
}

std::string registry_process::log() const {
  return read_file(log_path_);
}

namespace {

/// The port in the registry's `msg="listening on 127.0.0.1:<port>"` line
/// (logged once its listener is bound) at or after `from`; 0 before.
uint16_t logged_port(const std::string& log, size_t from) {
  const std::string marker = "listening on 127.0.0.1:";
  auto at = log.find(marker, from);
  if (at == std::string::npos)
    return 0;
  unsigned long port = 0;
  for (auto i = at + marker.size();
       i < log.size() && std::isdigit(static_cast<unsigned char>(log[i])); ++i)
    port = port * 10 + static_cast<unsigned long>(log[i] - '0');
  return port > 0 && port <= 65535 ? static_cast<uint16_t>(port) : 0;
}

} // namespace

bool registry_process::answers(std::unique_ptr<http_client>& plain) const {
  if (!tls_.enabled()) {
    if (!plain)
      plain = std::make_unique<http_client>("127.0.0.1", port_, 5s);
    auto status = plain->get("/v2/").status;
    return status == 200 || status == 401;
  }
  // Never plain HTTP against TLS: curl, trusting the registry's CA alone,
  // so that a registry up with a certificate nobody can verify is not up.
  auto probe
      = run_command({"curl", "--silent", "--output", "/dev/null", "--write-out",
                     "%{http_code}", "--max-time", "5", "--cacert",
                     tls_.ca_file, "--noproxy", "*", url() + "/v2/"},
                    10s);
  return probe.output == "200" || probe.output == "401";
}

bool registry_process::start() {
  // Port 0: the registry binds a free port itself and logs it, so no port
  // is chosen here and handed on (another process could take it first).
  // Kept across restarts when asked: the port the last start got.
  write_file(config_path_,
             registry_config(storage_path_, notify_url_, secret_, extra_config_,
                             tls_, keep_port_ ? port_ : 0));
  const auto log_start = log().size(); // the log is kept across restarts
  pid_ = start_process({"docker-registry", "serve", config_path_}, log_path_);
  if (pid_ < 0)
    return false;
  port_ = 0;
  bool exited = false;
  std::unique_ptr<http_client> probe;
  bool up = poll_until(
      [&] {
        int code = 0;
        if (process_ended(pid_, code)) {
          exited = true;
          return true;
        }
        if (port_ == 0) {
          port_ = logged_port(log(), log_start);
          if (port_ == 0)
            return false;
        }
        return answers(probe);
      },
      30s);
  if (exited)
    pid_ = -1;
  if (up && !exited)
    return true;
  stop();
  return false;
}

void registry_process::stop() {
  stop_process(pid_);
}

size_t count_log_lines(const std::string& log,
                       const std::vector<std::string>& parts) {
  size_t n = 0;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (std::all_of(parts.begin(), parts.end(), [&](const std::string& part) {
          return line.find(part) != std::string::npos;
        }))
      ++n;
  return n;
}

size_t count_requests(const std::string& log, const std::string& method,
                      const std::string& path_part) {
  return count_log_lines(log, {"http.request.method=" + method + " ",
                               "http.request.uri=", path_part,
                               "response completed"});
}

skopeo_client::skopeo_client(const temp_dir& dir)
    : dir_(dir), policy_path_(dir.file("skopeo-policy.json")) {
  write_file(policy_path_,
             "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}\n");
}

command_result skopeo_client::run(std::vector<std::string> args) const {
  args.insert(args.begin(), {"skopeo", "--policy", policy_path_});
  return run_command(args, 60s);
}

command_result
skopeo_client::push_layout(std::vector<std::string> extra,
                           const std::string& credentials,
                           const std::string& layout, const std::string& tag,
                           const std::string& dest, std::string* digest) const {
  auto digest_file = dir_.file("skopeo-digest");
  std::remove(digest_file.c_str());
  std::vector<std::string> args{"copy", "--quiet", "--dest-tls-verify=false",
                                "--digestfile", digest_file};
  if (credentials.empty())
    args.push_back("--dest-no-creds");
  else
    args.insert(args.end(), {"--dest-creds", credentials});
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("oci:" + layout + ":" + tag);
  args.push_back("docker://" + dest);
  auto result = run(args);
  if (digest)
    *digest = read_file(digest_file);
  return result;
}

command_result skopeo_client::push(const oci_image& image,
                                   const std::string& dest, bool docker_v2s2,
                                   std::string* digest,
                                   const std::string& credentials) const {
  std::vector<std::string> extra;
  if (docker_v2s2)
    extra = {"--format", "v2s2"};
  return push_layout(extra, credentials, image.dir, image.tag, dest, digest);
}

command_result skopeo_client::push(const oci_index& index,
                                   const std::string& dest,
                                   std::string* digest) const {
  return push_layout({"--all"}, "", index.dir, index.tag, dest, digest);
}

command_result skopeo_client::pull(const std::string& source) const {
  auto out = dir_.file("pulled-" + std::to_string(++pulls_));
  return run({"copy", "--quiet", "--src-no-creds", "--src-tls-verify=false",
              "docker://" + source, "dir:" + out});
}

command_result skopeo_client::copy(const std::string& source,
                                   const std::string& dest) const {
  return run({"copy", "--quiet", "--src-no-creds", "--dest-no-creds",
              "--src-tls-verify=false", "--dest-tls-verify=false",
              "docker://" + source, "docker://" + dest});
}

command_result
skopeo_client::inspect_raw(const std::string& reference,
                           const std::string& credentials) const {
  std::vector<std::string> args{"inspect", "--raw", "--tls-verify=false"};
  if (credentials.empty())
    args.push_back("--no-creds");
  else
    args.insert(args.end(), {"--creds", credentials});
  args.push_back("docker://" + reference);
  return run(args);
}

command_result skopeo_client::remove(const std::string& reference) const {
  return run(
      {"delete", "--no-creds", "--tls-verify=false", "docker://" + reference});
}

http_answer get_manifest(http_client& registry, const std::string& repository,
                         const std::string& reference,
                         const std::string& user_agent) {
  // http_client sets `User-Agent: regevent-test` first; Beast's set()
  // replaces a field of the same name, so this one is the only one sent.
  return registry.request(
      "GET", "/v2/" + repository + "/manifests/" + reference, {},
      {{"Accept", manifest_accept}, {"User-Agent", user_agent}});
}

unsigned
head_manifest(const registry_process& registry, const std::string& repository,
              const std::string& reference, const std::string& user_agent) {
  auto answer = registry.client().raw(
      "HEAD /v2/" + repository + "/manifests/" + reference
      + " HTTP/1.1\r\nHost: " + registry.address()
      + "\r\nUser-Agent: " + user_agent + "\r\nAccept: " + manifest_accept
      + "\r\nConnection: close\r\n\r\n");
  // "HTTP/1.1 200 OK\r\n..."
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12)
    return 0;
  return static_cast<unsigned>(std::stoul(answer.substr(9, 3)));
}

registry_tls make_registry_tls(const temp_dir& dir) {
  auto ca = make_test_ca(dir, "registry");
  auto issued = issue_certificate(dir, ca, "registry", certificate_use::server);
  return {issued.certificate, issued.key, ca.certificate};
}

std::string htpasswd_section(const temp_dir& dir, const std::string& user,
                             const std::string& password) {
  auto made = run_command({"htpasswd", "-Bbn", user, password});
  if (!made.ok())
    throw std::runtime_error("htpasswd failed: " + made.output);
  auto path = dir.file("htpasswd");
  write_file(path, made.output);
  return "auth:\n  htpasswd:\n    realm: regevent-test\n    path: " + path
         + "\n";
}

} // namespace regevent::test
