#pragma once

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/fixtures/http_client.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace regevent::test {

/// What a finished child process left.
struct command_result {
  /// The exit status; -signal when a signal ended it; -1 when it could not
  /// be started or overran its deadline (and was killed).
  int exit_code = -1;
  /// Its standard output and standard error, interleaved.
  std::string output;
  bool ok() const {
    return exit_code == 0;
  }
};

/// Runs `argv` (argv[0] looked up in PATH) with posix_spawn, capturing its
/// output; kills it by its PID when it overruns `deadline`.
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds deadline
                           = std::chrono::seconds(60));

/// Starts `argv` (argv[0] looked up in PATH) with standard input from
/// /dev/null and standard output and error appended to `log_path`. Returns
/// its PID, or -1.
pid_t start_process(const std::vector<std::string>& argv,
                    const std::string& log_path);

/// Whether `pid` has ended (reaped, its exit code or -signal in
/// `exit_code`), without waiting.
bool process_ended(pid_t pid, int& exit_code);

/// SIGTERM to `pid`, then SIGKILL if it has not exited within a few
/// seconds; reaps it and sets `pid` to -1. Nothing for a `pid` <= 0.
void stop_process(pid_t& pid);

/// A test double written in Python (`tests/fixtures/<script>`) as a child
/// process on 127.0.0.1: it binds port 0 and writes the port to the file
/// named by `--port-file`, which is added to `args`. Its output goes to
/// `<name>.log` in `dir`. Ended (SIGTERM, then SIGKILL) when destroyed.
class python_double {
public:
  python_double(const temp_dir& dir, const std::string& name,
                const std::string& script, std::vector<std::string> args);
  ~python_double();
  python_double(const python_double&) = delete;
  python_double& operator=(const python_double&) = delete;

  /// 0 when it did not come up (see `problem()`).
  uint16_t port() const {
    return port_;
  }
  const std::string& problem() const {
    return problem_;
  }
  /// `http://127.0.0.1:<port>` + path.
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

private:
  std::string problem_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

/// The records a Python double appends to its log, one JSON object a line,
/// in order. A last line without its newline is still being written and is
/// left out.
std::vector<nlohmann::json> read_json_lines(const std::string& path);

/// The files of a registry that serves HTTPS: its certificate and key
/// (PEM), and the CA certificate that signed it, which a client must trust
/// (the registry's readiness probe does).
struct registry_tls {
  std::string certificate;
  std::string key;
  std::string ca_file;
  /// False for the default, empty value: plain HTTP.
  bool enabled() const {
    return !certificate.empty();
  }
};

/// Makes a private CA and a server certificate signed by it for
/// 127.0.0.1 (subjectAltName IP:127.0.0.1, valid one day) in `dir`, with the
/// `openssl` CLI. Known to no system store: only a client given `ca_file`
/// trusts the registry. Throws std::runtime_error when openssl fails.
registry_tls make_registry_tls(const temp_dir& dir);

/// Debian's real `docker-registry serve` (CNCF Distribution 2.8.2) as a
/// child process on loopback port 0 (the port it got is read from its
/// `listening on` log line), with filesystem storage and its
/// log in `dir`, deletes enabled, and one notification endpoint: `notify_url`
/// with `Authorization: Bearer <secret>`, references included, timeout 1s,
/// threshold 3, backoff 1s. An empty `notify_url`: no notifications.
class registry_process {
public:
  registry_process(const temp_dir& dir, std::string notify_url,
                   std::string secret);
  /// The same with `extra_config` appended to the configuration file: a
  /// top-level section such as `auth:` (htpasswd or token).
  registry_process(const temp_dir& dir, std::string notify_url,
                   std::string secret, std::string extra_config);
  /// The same serving HTTPS with `tls` (`http.tls` in its configuration)
  /// when `tls.enabled()`.
  registry_process(const temp_dir& dir, std::string notify_url,
                   std::string secret, std::string extra_config,
                   registry_tls tls);
  ~registry_process();
  registry_process(const registry_process&) = delete;
  registry_process& operator=(const registry_process&) = delete;

  /// Starts the registry, reads its port from its log and waits until
  /// GET /v2/ answers 200 (or 401, with auth configured): over HTTPS with
  /// curl trusting `tls.ca_file` only, for a registry that serves TLS. False
  /// on failure (see log()).
  bool start();

  /// SIGTERM to the registry's PID, then SIGKILL if it has not exited
  /// within a few seconds; reaps it.
  void stop();
  /// Where later starts notify (empty: nowhere), with the same secret: a
  /// registry whose notifications are lost while it runs so.
  void set_notify_url(std::string notify_url) {
    notify_url_ = std::move(notify_url);
  }
  /// Makes every later start listen on the port the last one got, so that
  /// clients configured with its URL reach it after a restart.
  void keep_port_across_restarts() {
    keep_port_ = true;
  }

  bool running() const {
    return pid_ > 0;
  }
  uint16_t port() const {
    return port_;
  }
  /// `127.0.0.1:<port>`.
  std::string address() const;
  /// `http://127.0.0.1:<port>`, or `https://` when it serves TLS.
  std::string url() const {
    return (tls_.enabled() ? "https://" : "http://") + address();
  }
  /// Where the registry keeps its blobs and manifests (filesystem driver).
  const std::string& storage_path() const {
    return storage_path_;
  }
  /// `127.0.0.1:<port>/<repository>:<tag>`, or `...@<digest>` when
  /// `reference` starts with `sha256:`: a skopeo `docker://` reference
  /// without the transport.
  std::string ref(const std::string& repository,
                  const std::string& reference) const;
  std::string log() const;
  /// A plain-HTTP client: not for a registry that serves TLS.
  http_client client() const {
    return http_client("127.0.0.1", port_);
  }

private:
  /// Whether GET /v2/ answers 200 or 401 (up, and asking for the
  /// credentials it was configured with).
  bool answers(std::unique_ptr<http_client>& plain) const;

  std::string notify_url_;
  std::string secret_;
  std::string extra_config_;
  registry_tls tls_;
  std::string config_path_;
  std::string log_path_;
  std::string storage_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool keep_port_ = false;
};

/// How many lines of a registry's log hold every one of `parts`.
size_t count_log_lines(const std::string& log,
                       const std::vector<std::string>& parts);

/// How often the registry's access log shows `method` answered (2xx or
/// 3xx: Distribution logs no other as completed) on a path holding
/// `path_part` (its `http.request.method=... http.request.uri=...`, the
/// URI quoted when it holds a query).
size_t count_requests(const std::string& log, const std::string& method,
                      const std::string& path_part);

/// skopeo 1.9.3 against a registry over plain HTTP or HTTPS without
/// verifying its certificate, with its own signature policy (accept
/// anything) and no credentials unless given. References are the
/// `registry_process::ref` form.
class skopeo_client {
public:
  explicit skopeo_client(const temp_dir& dir);

  /// `skopeo copy oci:<layout>:<tag> docker://<dest>`, as OCI or (with
  /// `docker_v2s2`) converted to a Docker schema 2 manifest. `digest`
  /// receives the digest of the manifest as pushed.
  command_result push(const oci_image& image, const std::string& dest,
                      bool docker_v2s2 = false, std::string* digest = nullptr,
                      const std::string& credentials = "") const;

  /// `skopeo copy --all oci:<layout>:<tag> docker://<dest>`: every image of
  /// the index by digest, then the index by tag. `digest` receives the
  /// index's digest as pushed.
  command_result push(const oci_index& index, const std::string& dest,
                      std::string* digest = nullptr) const;

  /// `skopeo copy docker://<source> dir:<fresh folder>`: one manifest GET.
  command_result pull(const std::string& source) const;

  /// `skopeo copy docker://<source> docker://<dest>` within one registry:
  /// a manifest GET on the source, blob mounts, a manifest PUT.
  command_result copy(const std::string& source, const std::string& dest) const;

  /// `skopeo inspect --raw docker://<reference>`: the manifest as stored.
  /// With `credentials` (`user:password`) for a registry that wants them.
  command_result inspect_raw(const std::string& reference,
                             const std::string& credentials = "") const;

  /// `skopeo delete docker://<reference>`: a manifest GET, then the DELETE
  /// of the manifest by digest (the registry also untags every tag on it).
  command_result remove(const std::string& reference) const;

private:
  command_result run(std::vector<std::string> args) const;
  /// `skopeo copy [extra...] oci:<layout>:<tag> docker://<dest>` without
  /// credentials; `digest` receives the digest of the manifest as pushed.
  command_result push_layout(std::vector<std::string> extra,
                             const std::string& credentials,
                             const std::string& layout, const std::string& tag,
                             const std::string& dest,
                             std::string* digest) const;

  const temp_dir& dir_;
  std::string policy_path_;
  mutable int pulls_ = 0;
};

/// The Accept header of a client that takes OCI and Docker schema 2
/// manifests.
constexpr const char* manifest_accept
    = "application/vnd.oci.image.manifest.v1+json, "
      "application/vnd.docker.distribution.manifest.v2+json";

/// GET /v2/<repository>/manifests/<reference> with `user_agent`: one real
/// pull event from the registry.
http_answer get_manifest(http_client& registry, const std::string& repository,
                         const std::string& reference,
                         const std::string& user_agent = "containerd/1.7");

/// HEAD /v2/<repository>/manifests/<reference>, sent with the test
/// http_client's raw() on a fresh `Connection: close` connection (its
/// request() waits for a body that a HEAD answer never has). Returns the
/// status code, 0 without an answer.
unsigned head_manifest(const registry_process& registry,
                       const std::string& repository,
                       const std::string& reference,
                       const std::string& user_agent = "containerd/1.7");

/// The `auth:` section of a registry whose htpasswd file (written in
/// `dir`) holds `user`:`password` (bcrypt, as Distribution requires).
std::string htpasswd_section(const temp_dir& dir, const std::string& user,
                             const std::string& password);

} // namespace regevent::test
