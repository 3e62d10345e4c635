#pragma once

/// Registries and replication policies as the management API reads and
/// writes them (Harbor v2.0's Registry and ReplicationPolicy shapes).
/// Plain records, no SQL.

#include "persistence/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace regevent {

/// How regevent signs in to a registry. `access_secret` is write-only: a
/// record read back carries it empty and says only whether it is set.
struct registry_credential {
  /// "basic" (the only type Harbor's docker-registry adapter uses), or
  /// empty for anonymous access.
  std::string type;
  std::string access_key;
  std::string access_secret;
  /// Read back: whether a secret is stored. Written: whether the request
  /// gave one; an update that leaves it out keeps the stored secret while
  /// the URL stays the same.
  bool has_access_secret = false;
};

struct registry_spec {
  std::string name;
  std::string description;
  /// "docker-registry": a Registry HTTP API v2 server.
  std::string type = "docker-registry";
  std::string url;
  /// Skip verifying the registry's certificate.
  bool insecure = false;
  /// A PEM file of CA certificates trusted for this registry besides the
  /// system store; empty: the system store.
  std::string ca_file;
  registry_credential credential;
};

struct registry_record : registry_spec {
  int64_t id = 0;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
};

/// A policy filter, Harbor's `{type, value}`: "name" matches the whole
/// repository name, "tag" each tag, both with doublestar patterns.
struct replication_filter {
  std::string type;
  std::string value;
};

struct replication_policy_spec {
  std::string name;
  std::string description;
  bool enabled = true;
  int64_t dest_registry_id = 0;
  /// Where copies land; empty keeps the source's namespace.
  std::string dest_namespace;
  /// Harbor's flattening: -1 replaces all but the last component of the
  /// repository name with `dest_namespace`, 0 none (prefixes it), N the
  /// first N.
  int64_t dest_namespace_replace_count = -1;
  std::vector<replication_filter> filters;
  /// "event_based" (on push and delete) or "manual".
  std::string trigger_type = "event_based";
  /// Whether an existing, different tag on the destination is replaced.
  bool override_tags = true;
  /// Whether deletes are replicated too.
  bool deletion = false;
  /// KiB/s per copy; 0 is unlimited.
  int64_t speed_kib = 0;
};

struct replication_policy : replication_policy_spec {
  int64_t id = 0;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
};

struct registry_list {
  std::vector<registry_record> items;
};

/// A registry to replace, with what replaces it.
struct registry_update {
  int64_t id = 0;
  registry_spec spec;
};

struct replication_policy_list {
  std::vector<replication_policy> items;
};

struct replication_policy_update {
  int64_t id = 0;
  replication_policy_spec spec;
};

/// Harbor's execution and task states.
namespace replication_status {
constexpr const char* pending = "Pending";
constexpr const char* in_progress = "InProgress";
constexpr const char* succeed = "Succeed";
constexpr const char* failed = "Failed";
/// Ended by an operator's stop before it finished.
constexpr const char* stopped = "Stopped";
} // namespace replication_status

/// What a task does at the destination.
namespace replication_operation {
constexpr const char* copy = "copy";
constexpr const char* deletion = "deletion";
} // namespace replication_operation

/// A claimed task with everything its copy needs. The destination's secret
/// is open here: this record never leaves the replication worker.
struct replication_job {
  int64_t task_id = 0;
  int64_t execution_id = 0;
  int64_t policy_id = 0;
  std::string operation;
  std::string src_repository;
  /// A tag, or a digest for an untagged artifact.
  std::string src_reference;
  std::string digest;
  std::string dst_repository;
  /// Empty: by digest only.
  std::string dst_reference;
  bool override_tags = true;
  int64_t speed_kib = 0;
  /// The destination as stored, its credential's secret opened.
  registry_record destination;
  int64_t attempts = 0;
  int64_t retry_base = 0;
  /// The claim's lease, and its token: outcomes and renewals hold only
  /// under it.
  timestamp_us lease = 0;
  /// Not empty: why this task cannot run (its policy or registry was
  /// deleted, its secret does not open). It fails without an attempt.
  std::string unusable;
};

/// What became of a claimed task.
struct replication_outcome_record {
  int64_t task_id = 0;
  int64_t execution_id = 0;
  timestamp_us lease = 0;
  /// replication_status: Succeed, Failed, or Pending for a retry at
  /// `next_attempt_at`.
  std::string status;
  timestamp_us next_attempt_at = 0;
  /// False for a task given back unfinished (shutdown): no attempt counted.
  bool attempted = true;
  std::string digest;
  int64_t bytes_copied = 0;
  std::string error;
  std::string skipped;
  timestamp_us started_at = 0;
};

/// A manual run whose tasks are still to be listed from the source.
struct replication_listing {
  int64_t execution_id = 0;
  replication_policy policy;
  timestamp_us lease = 0;
};

/// One artifact a listing found, with where it goes.
struct replication_listed {
  std::string src_repository;
  std::string tag;
};

struct replication_execution {
  int64_t id = 0;
  int64_t policy_id = 0;
  /// "event_based" or "manual".
  std::string trigger;
  std::string status;
  std::string status_text;
  timestamp_us start_time = 0;
  timestamp_us end_time = 0;
  int64_t total = 0;
  int64_t failed = 0;
  int64_t succeed = 0;
  int64_t stopped = 0;
  int64_t in_progress = 0;
};

struct replication_task {
  int64_t id = 0;
  int64_t execution_id = 0;
  int64_t policy_id = 0;
  std::string operation;
  std::string src_resource;
  std::string dst_resource;
  std::string status;
  int64_t attempts = 0;
  int64_t bytes_copied = 0;
  std::string error;
  std::string skipped;
  timestamp_us start_time = 0;
  timestamp_us end_time = 0;
  timestamp_us next_attempt_at = 0;
};

struct replication_execution_query {
  /// 0: every policy.
  int64_t policy_id = 0;
  int64_t page = 1;
  int64_t page_size = 10;
};

struct replication_execution_page {
  std::vector<replication_execution> items;
  int64_t total = 0;
};

struct replication_task_list {
  std::vector<replication_task> items;
};

/// Names one execution (its tasks, its re-run).
struct replication_execution_id {
  int64_t id = 0;
};

/// A manual run of a policy.
struct replication_execution_start {
  int64_t policy_id = 0;
};

/// Where a policy puts a repository: Harbor's replaceNamespace. Empty
/// `dest_namespace` keeps the name; `replace_count` -1 keeps only the last
/// component under the namespace, 0 prefixes the whole name, N replaces the
/// first N components. Nothing when the name has fewer than N components
/// before its last (Harbor refuses such a task too).
std::optional<std::string>
destination_repository(const std::string& repository,
                       const std::string& dest_namespace,
                       int64_t replace_count);

/// Whether a policy's filters select an artifact: every name filter
/// matches the whole repository name, every tag filter the tag (an empty
/// tag, an untagged artifact, matches no tag filter).
bool policy_selects(const std::vector<replication_filter>& filters,
                    const std::string& repository, const std::string& tag);

} // namespace regevent
