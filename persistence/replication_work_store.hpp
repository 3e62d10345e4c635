#pragma once

#include "persistence/replication.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace regevent {

class database;
class secret_box;

/// Writes one task of `execution` in the open transaction: `operation` of
/// `repository`'s `reference` (a tag, or a digest) to where `policy` puts
/// it. A repository the policy cannot rename fails at once, with Harbor's
/// reason.
void add_replication_task(database& db, int64_t execution,
                          const replication_policy& policy,
                          const std::string& operation,
                          const std::string& repository,
                          const std::string& reference,
                          const std::string& digest, timestamp_us now);

/// Ends execution `id` in the open transaction when no task of it is
/// unfinished: Failed when one failed, else Succeed.
void settle_replication_execution(database& db, int64_t id, timestamp_us now);

/// What a request about an execution found or did.
enum class replication_lookup {
  ok,
  no_policy,
  /// A manual run of a disabled policy.
  disabled,
  no_execution,
  /// A re-run of an execution that has neither failed nor been stopped
  /// (still running, or succeeded).
  not_failed,
};

/// The SQL of replication's work: claiming due tasks for the copy workers
/// (only the oldest unfinished task of a destination repository, so that
/// its tags land in order), renewing and recording them, listing manual
/// runs, and the executions and tasks the management API shows.
/// Statements throw soci errors.
class replication_work_store {
public:
  replication_work_store(database& db, const secret_box& secrets);

  /// Takes up to `limit` due tasks, oldest first, and leases them until
  /// `lease_until`: unrenewed by then (the worker died), a task is due
  /// again and resumes from the blobs already copied. Instances sharing
  /// PostgreSQL never take the same one, nor two of one repository.
  std::vector<replication_job> claim(timestamp_us now, size_t limit,
                                     timestamp_us lease_until);

  /// Moves each held claim's lease (task id, lease) to `lease_until`;
  /// returns the ids still held (a lease that expired may have been taken
  /// by another instance).
  std::vector<int64_t>
  renew(const std::vector<std::pair<int64_t, timestamp_us>>& held,
        timestamp_us lease_until);

  /// Records outcomes in one transaction, each only under its lease, and
  /// ends the executions whose last task finished.
  void record(const std::vector<replication_outcome_record>& outcomes,
              timestamp_us now);

  /// A manual run due to be listed, leased until `lease_until`.
  std::optional<replication_listing> claim_listing(timestamp_us now,
                                                   timestamp_us lease_until);
  /// Writes a listing's tasks (or its failure) under its lease.
  void record_listing(const replication_listing& listing,
                      const std::vector<replication_listed>& found,
                      const std::string& error, timestamp_us now);

  /// Unfinished tasks (due or leased), for the queue gauge.
  int64_t unfinished();

  /// Stops a running execution: it and its unfinished tasks end Stopped
  /// (a copy in flight is cancelled when its worker next renews); one
  /// already ended is left as it is. `out`: the execution now.
  replication_lookup stop(int64_t execution_id, timestamp_us now,
                          replication_execution& out);

  /// A copy of a task stopped in flight has ended: its lease (`lease`, as
  /// claimed or last renewed) no longer holds the repository, and a re-run
  /// that waited for it is due now.
  void release_stopped(int64_t task_id, timestamp_us lease, timestamp_us now);

  /// Deletes up to `limit` executions that ended before `before`, with
  /// their tasks; returns how many.
  size_t purge_finished(timestamp_us before, size_t limit);

  replication_execution_page
  executions(const replication_execution_query& q);
  std::optional<replication_execution> execution(int64_t id);
  std::optional<replication_task_list> tasks(int64_t execution_id);
  /// Starts a manual run of a policy over the source's repositories that
  /// its filters select (the workers list them).
  replication_lookup start_manual(int64_t policy_id, timestamp_us now,
                                  replication_execution& out);
  /// Makes a failed or stopped execution's failed and stopped tasks due
  /// with a fresh retry budget: now, or for a task stopped in flight once
  /// its copy has let go (release_stopped) or its lease expired.
  replication_lookup retry(int64_t execution_id, timestamp_us now,
                           replication_execution& out);

private:
  /// Execution `id` as it is now into `out`; no_execution when it is gone.
  replication_lookup answered(int64_t id, replication_execution& out);
  std::optional<replication_execution> load(int64_t id);

  database& db_;
  const secret_box& secrets_;
};

} // namespace regevent
