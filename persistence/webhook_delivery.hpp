#pragma once

/// Webhook deliveries as the workers send them and the management API shows
/// them (Harbor's "executions"). Plain records, no SQL.

#include "persistence/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

/// States of a delivery task.
namespace webhook_status {
constexpr const char* pending = "pending";
constexpr const char* success = "success";
constexpr const char* failed = "failed";
} // namespace webhook_status

/// What a REPLICATION delivery says of its execution (Harbor's
/// `event_data.replication`), read when it is sent.
struct webhook_replication {
  int64_t execution_id = 0;
  /// Harbor's job status: "Success" or "Error".
  std::string job_status;
  /// "EVENT_BASED" or "MANUAL".
  std::string trigger_type;
  timestamp_us execution_time = 0;
  bool override_mode = true;
  std::string src_namespace;
  std::string dest_registry_name;
  std::string dest_registry_type;
  std::string dest_endpoint;
  std::string dest_namespace;
  /// `repository:tag` of each task of the project, by outcome.
  std::vector<std::string> succeeded;
  std::vector<std::pair<std::string, std::string>> failed;
};

/// A claimed delivery with everything its request needs. Secrets are open
/// here: this record never leaves the delivery worker.
struct webhook_delivery {
  int64_t task_id = 0;
  /// Stable per (event, policy, target): re-deliveries carry it unchanged.
  std::string webhook_id;
  int64_t policy_id = 0;
  int64_t position = 0;
  std::string event_type;
  std::string project;
  int64_t project_id = 0;
  bool project_public = false;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string operator_name;
  timestamp_us occur_at = 0;
  timestamp_us repository_created = 0;
  /// Attempts made before this one.
  int64_t attempts = 0;
  /// Attempts made before the last manual retry: the retry budget counts
  /// from here.
  int64_t retry_base = 0;
  /// The claim's lease: outcomes are recorded only while the task is still
  /// held by it (a claim that expired may have been taken again).
  timestamp_us lease = 0;
  std::string address;
  std::string payload_format;
  std::string auth_header;
  std::string secret;
  bool skip_cert_verify = false;
  std::string ca_file;
  /// Set for a REPLICATION delivery.
  std::optional<webhook_replication> replication;
  /// A SCANNING_* delivery: Harbor's `scan_overview` of the scan, as JSON
  /// text, read from the scan when the delivery goes out.
  std::string scan_overview;
  /// Not empty: why this delivery cannot be sent (its policy was deleted or
  /// disabled, its target disabled, a secret no longer opens). It fails
  /// without an attempt.
  std::string unusable;
};

/// What became of one claimed delivery.
struct webhook_outcome_record {
  int64_t task_id = 0;
  /// The lease of the claim this outcome belongs to.
  timestamp_us lease = 0;
  /// False when the delivery was put off without an attempt (its target's
  /// circuit is open): no attempt row, the attempt count unchanged.
  bool attempted = true;
  /// 1-based number of this attempt.
  int64_t attempt = 0;
  timestamp_us started_at = 0;
  /// The HTTP status; 0 when there was no answer.
  int64_t status_code = 0;
  std::string error;
  int64_t latency_us = 0;
  /// The task's new state (webhook_status) and, when pending, when to try
  /// again.
  std::string status;
  timestamp_us next_attempt_at = 0;
  /// Not empty: disable the task's target for this reason (410 Gone).
  std::string disable_target;
  int64_t policy_id = 0;
  int64_t position = 0;
};

struct webhook_attempt {
  int64_t attempt = 0;
  timestamp_us started_at = 0;
  int64_t status_code = 0;
  std::string error;
  int64_t latency_us = 0;
};

/// One delivery task as the delivery log shows it.
struct webhook_execution {
  int64_t id = 0;
  int64_t policy_id = 0;
  std::string webhook_id;
  std::string event_type;
  /// The target's address at the time the log is read.
  std::string address;
  std::string status;
  int64_t attempts = 0;
  int64_t last_status_code = 0;
  std::string last_error;
  int64_t latency_us = 0;
  timestamp_us next_attempt_at = 0;
  timestamp_us created_at = 0;
  timestamp_us updated_at = 0;
  /// Every attempt, oldest first (one execution only; empty in a list).
  std::vector<webhook_attempt> attempt_log;
};

/// A page of a policy's delivery log, newest first.
struct webhook_execution_query {
  std::string project;
  int64_t policy_id = 0;
  int64_t page = 1;
  int64_t page_size = 10;
};

struct webhook_execution_page {
  std::vector<webhook_execution> items;
  int64_t total = 0;
};

/// One execution addressed by project, policy and id.
struct webhook_execution_ref {
  std::string project;
  int64_t policy_id = 0;
  int64_t id = 0;
};

} // namespace regevent
