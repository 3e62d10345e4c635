#pragma once

#include "config/database_url.hpp"
#include "config/error.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace regevent {

enum class head_policy { count, touch, ignore };
enum class unknown_project_policy { create, skip };
enum class fault_mode { none, fail, raise };

const char* to_string(head_policy x);
const char* to_string(unknown_project_policy x);
const char* to_string(fault_mode x);

/// One effect actor kind in the topology.
struct effect_config {
  bool enabled = true;
  size_t instances = 1;
  size_t batch_size = 0;
  uint32_t batch_delay_ms = 0;
  uint32_t request_timeout_ms = 0;
};

struct retry_policy {
  uint32_t attempts = 0;
  uint32_t base_ms = 0;
  uint32_t max_ms = 0;
  double jitter = 0;
};

struct restart_policy {
  uint32_t max_restarts = 0;
  uint32_t window_s = 0;
};

/// Test-only: makes the named effect (or the journal) fail or throw on
/// `count` commits after the first `skip`. Off unless set in the file or
/// REGEVENT_FAULT_INJECTION.
struct fault_injection {
  std::string effect;
  fault_mode mode = fault_mode::none;
  uint32_t count = 0;
  uint32_t skip = 0;
};

struct config {
  std::string listen_host;
  uint16_t listen_port = 0;

  struct database_section {
    std::string url;
    database_url parsed;
    std::string sqlite_synchronous;
    uint32_t busy_timeout_ms = 0;
    size_t pool_size = 0;
    uint64_t wal_limit_bytes = 0;
  } database;

  struct http_section {
    size_t io_threads = 0;
    size_t body_limit = 0;
    size_t header_limit = 0;
    uint32_t read_timeout_ms = 0;
    uint32_t idle_timeout_ms = 0;
    uint32_t write_timeout_ms = 0;
    size_t max_pipeline = 0;
    size_t max_connections = 0;
  } http;

  /// TLS on the listener; plain HTTP while cert_file is empty.
  struct tls_section {
    /// PEM: the server certificate first, then its intermediates.
    std::string cert_file;
    std::string key_file;
    /// PEM CAs whose client certificates are accepted; when set,
    /// POST /service/notifications needs one (the API keeps its tokens).
    std::string client_ca_file;
    /// "1.2" or "1.3": the oldest protocol version accepted.
    std::string min_version;
  } tls;

  /// A management API token known by its SHA-256 (`auth.api_tokens`
  /// entries `name:role:sha256hex`).
  struct api_token {
    std::string name;
    /// `admin`: every route; otherwise `read`: GET and HEAD only.
    bool admin = false;
    /// The token's SHA-256, 32 bytes.
    std::string sha256;
  };

  struct auth_section {
    std::string notify_token;
    /// The single-token setup: an admin token given whole (usually from
    /// REGEVENT_ADMIN_TOKEN_FILE); it is named `admin`.
    std::string admin_token;
    /// `name:role:sha256hex` entries, role `read` or `admin`.
    std::vector<std::string> api_tokens;
    /// Failed authentications from one client address within
    /// `failure_window_s` past which it is answered 429; 0: no limit.
    uint32_t max_failures = 0;
    uint32_t failure_window_s = 0;
    /// `api_tokens` parsed (by validation).
    std::vector<api_token> tokens;
  } auth;

  struct secrets_section {
    /// Base64 of the 32-byte key that seals secrets stored in the
    /// database (webhook secrets and auth headers).
    std::string key;
  } secrets;

  struct log_section {
    std::string level;
    std::string format;
    /// Empty: stderr (the journal under systemd). A file is reopened on
    /// SIGHUP, so that logrotate can move it away.
    std::string file;
  } log;

  struct ingest_section {
    uint64_t max_backlog = 0;
    uint32_t retry_after_s = 0;
    size_t group_commit_max = 0;
    uint32_t journal_timeout_ms = 0;
  } ingest;

  struct filter_section {
    std::string default_project;
    unknown_project_policy unknown_project = unknown_project_policy::create;
    head_policy head_requests = head_policy::touch;
    std::vector<std::string> internal_user_agents;
    /// Registry accounts (the event's `actor.name`) whose pulls are not
    /// counted: a scanner or replicator that pulls with its own account.
    std::vector<std::string> internal_accounts;
  } filter;

  struct dispatch_section {
    size_t max_dispatchers = 0;
    size_t recovery_dispatchers = 0;
    size_t recovery_batch = 0;
    uint32_t recovery_poll_ms = 0;
    uint32_t claim_lease_ms = 0;
    uint32_t heartbeat_timeout_ms = 0;
  } dispatch;

  struct effects_section {
    /// Keyed by effect name: access_log, repositories, pull_counter,
    /// artifacts.
    std::map<std::string, effect_config> actors;
    retry_policy retry;
    restart_policy restart;
    /// Test-only switch that holds every effect back, so that a backlog can
    /// be built and measured.
    bool paused = false;
  } effects;

  struct retention_section {
    uint32_t access_log_days = 0;
    /// Finished events older than this lose their body and effect marks.
    uint32_t journal_days = 0;
    /// Finished events older than this are forgotten (0: kept forever).
    uint32_t dedup_days = 0;
    uint32_t purge_interval_s = 0;
    uint32_t purge_batch = 0;
  } retention;

  struct webhooks_section {
    /// CIDR networks a webhook target may resolve into although they are
    /// loopback, private, link-local or metadata addresses.
    std::vector<std::string> allow_networks;
    /// `host[:port]` of the registry as clients reach it: the host part of
    /// each payload's resource_url.
    std::string registry_address;
    size_t workers = 0;
    uint32_t max_retries = 0;
    uint32_t retry_base_ms = 0;
    uint32_t retry_max_ms = 0;
    uint32_t timeout_ms = 0;
    size_t per_target_concurrency = 0;
    uint32_t breaker_failures = 0;
    uint32_t breaker_cooldown_ms = 0;
    uint32_t poll_interval_ms = 0;
    uint32_t claim_lease_ms = 0;
    uint32_t log_retention_days = 0;
  } webhooks;

  /// The registry that sends the notifications: replication copies from
  /// it.
  struct source_registry_section {
    /// `http[s]://host[:port]`; empty: replication tasks fail with a
    /// reason until it is set.
    std::string url;
    bool insecure = false;
    std::string ca_file;
    /// A pull credential; empty: anonymous.
    std::string username;
    std::string password;
  } source_registry;

  struct replication_section {
    /// Copies at once (one per destination repository at a time).
    size_t workers = 0;
    uint32_t max_retries = 0;
    uint32_t retry_base_ms = 0;
    uint32_t retry_max_ms = 0;
    uint32_t poll_interval_ms = 0;
    /// A claimed task unrenewed for this long (its worker died) is taken
    /// up again; the worker renews it every third of it.
    uint32_t claim_lease_ms = 0;
    /// Ended executions older than this go, with their tasks.
    uint32_t execution_retention_days = 0;
  } replication;

  /// Scan on push through Harbor's Pluggable Scanner API.
  struct scanning_section {
    /// Scans in flight at once (submitted or being polled).
    size_t workers = 0;
    /// Retries of an adapter that is down or answers 5xx (not a report's
    /// 500, which is the scan's failure) before the scan fails.
    uint32_t max_retries = 0;
    uint32_t retry_base_ms = 0;
    uint32_t retry_max_ms = 0;
    uint32_t poll_interval_ms = 0;
    /// A claimed scan unrenewed for this long is taken up again.
    uint32_t claim_lease_ms = 0;
    /// A scan without a report this long after it was submitted fails.
    uint32_t report_deadline_s = 0;
    /// One request to the adapter, connect to last byte.
    uint32_t timeout_ms = 0;
    /// The adapter's metadata is asked again after this (and after any
    /// error of the adapter).
    uint32_t metadata_cache_s = 0;
    /// The registry's URL as the adapters reach it (`registry.url` of each
    /// scan request); empty: `source_registry.url`.
    std::string registry_url;
  } scanning;

  /// Catalog import and reconcile with `source_registry`.
  struct reconcile_section {
    /// Run once when the daemon starts.
    bool on_start = false;
    /// Run every this many seconds; 0: only when asked.
    uint32_t interval_s = 0;
    size_t concurrency = 0;
    /// Requests per second to the registry; 0: unlimited.
    uint32_t rate = 0;
    uint32_t page_size = 0;
    uint32_t lease_ms = 0;
    uint32_t poll_interval_ms = 0;
  } reconcile;

  uint32_t shutdown_grace_ms = 0;

  fault_injection faults;
};

/// The effect names the daemon knows, in the order their actors start.
const std::vector<std::string>& effect_names();

/// Built-in defaults for every key (the table in config.cpp, from
/// defaults.hpp).
config default_config();

/// Loads `path` (empty: defaults only), applies REGEVENT_* environment
/// overrides and validates. Throws config_error naming the key.
config load_config(const std::string& path);

/// Applies YAML text on top of the defaults (for tests) and validates.
config load_config_from_string(const std::string& yaml);

/// The effective configuration as YAML, with secrets redacted, numbers in
/// their shortest exact form and each key's doc as a comment. For the
/// defaults this is the README's key list.
std::string to_yaml(const config& cfg);

} // namespace regevent
