#pragma once

/// The plain records of a reconcile: what a walk of the source registry
/// observed of one repository, what applying it changed, and the runs the
/// API shows. No SOCI, no CAF.

#include "persistence/event.hpp"

#include <string>
#include <vector>

namespace regevent {

/// Who asked for a run.
namespace reconcile_trigger {
constexpr const char* manual = "manual";
constexpr const char* start = "start";
constexpr const char* schedule = "schedule";
} // namespace reconcile_trigger

/// A run's states: `pending` until an instance takes it, `running` while
/// that instance holds its lease, then `succeeded` or `failed`.
namespace reconcile_status {
constexpr const char* pending = "pending";
constexpr const char* running = "running";
constexpr const char* succeeded = "succeeded";
constexpr const char* failed = "failed";
} // namespace reconcile_status

/// The audit log's username for what a reconcile changed. A colon cannot
/// be in a registry user's name (htpasswd separates with it), so no real
/// user is confused with it.
constexpr const char* reconcile_username = "regevent:reconcile";

/// What a run changed and walked so far.
struct reconcile_counts {
  long long repositories_total = 0;
  long long repositories_walked = 0;
  long long repositories_created = 0;
  /// Artifacts and tags the registry has and regevent lacked.
  long long created = 0;
  /// Artifacts and tags regevent had and the registry no longer has.
  long long deleted = 0;
  /// Tags regevent had pointing to another digest than the registry's.
  long long corrected = 0;
  /// Repositories whose walk failed.
  long long errors = 0;

  reconcile_counts& operator+=(const reconcile_counts& o) {
    repositories_total += o.repositories_total;
    repositories_walked += o.repositories_walked;
    repositories_created += o.repositories_created;
    created += o.created;
    deleted += o.deleted;
    corrected += o.corrected;
    errors += o.errors;
    return *this;
  }
};

struct reconcile_run {
  long long id = 0;
  std::string trigger;
  std::string status;
  /// The instance that holds (or held) the run.
  std::string instance;
  timestamp_us created_at = 0;
  timestamp_us started_at = 0;
  timestamp_us finished_at = 0;
  reconcile_counts counts;
  /// Why it failed; empty otherwise.
  std::string error;
};

/// The newest runs, newest first.
struct reconcile_run_list {
  std::vector<reconcile_run> runs;
};

/// A request for a run through the API.
struct reconcile_request {
  std::string trigger = reconcile_trigger::manual;
};

/// A manifest the registry holds.
struct observed_artifact {
  std::string digest;
  std::string media_type;
  long long size = 0;
};

struct observed_tag {
  std::string name;
  std::string digest;
};

/// What regevent shows of a repository: its live tags and artifacts.
struct repository_state {
  std::vector<observed_tag> tags;
  std::vector<std::string> digests;
};

/// One repository as the registry showed it at `observed_at` (when its
/// walk started: whatever changed after that is newer than the
/// observation and wins over it).
struct reconcile_observation {
  std::string repository;
  std::string project;
  /// In the registry's catalog; false: the registry has no such
  /// repository any more, and whatever regevent shows of it is gone.
  bool listed = true;
  timestamp_us observed_at = 0;
  std::vector<observed_tag> tags;
  /// Every manifest seen: those the tags name, an index's children, and
  /// the untagged ones regevent knew that the registry still holds.
  std::vector<observed_artifact> artifacts;
  /// Digests regevent showed that the registry answered 404 for.
  std::vector<std::string> absent;
};

} // namespace regevent
