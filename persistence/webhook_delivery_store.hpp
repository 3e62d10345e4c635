#pragma once

#include "persistence/webhook_delivery.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

class database;
class secret_box;

/// The (policy id, target position) of every usable target of an enabled
/// policy of `project` subscribed to `event_type`, in order: whom an
/// outbox writing a REPLICATION or SCANNING_* delivery sends it to. Reads
/// in the open session.
std::vector<std::pair<int64_t, int64_t>>
subscribed_targets(database& db, const std::string& project,
                   const std::string& event_type);

/// What a request about one execution found.
enum class webhook_lookup {
  ok,
  no_project,
  no_policy,
  no_execution,
  /// A retry of a delivery being sent or waiting for its next try.
  busy
};

/// The SQL of webhook deliveries: claiming due tasks for the workers,
/// recording what each attempt got, the delivery log and its retention.
/// Statements throw soci errors.
class webhook_delivery_store {
public:
  webhook_delivery_store(database& db, const secret_box& secrets);

  /// How many more deliveries a target (policy id, position) can take now.
  using room_of = std::function<size_t(int64_t policy, int64_t position)>;

  /// Takes up to `limit` due deliveries, oldest due first and no more of
  /// one target than `room` says, and moves them to `lease_until`: if
  /// nothing is recorded for one by then (the worker died), it is due
  /// again. Instances sharing PostgreSQL never take the same one. The walk
  /// over the targets starts at `next_target` and moves it on by one, so
  /// that a small claim is shared out (the caller keeps it: the store may
  /// be made anew for each call).
  std::vector<webhook_delivery> claim(timestamp_us now, size_t limit,
                                      const room_of& room,
                                      timestamp_us lease_until,
                                      size_t& next_target);

  /// Records outcomes in one transaction: the attempts, the tasks' new
  /// states, targets disabled by a 410.
  void record(const std::vector<webhook_outcome_record>& outcomes,
              timestamp_us now);

  /// Pending deliveries per (policy, position), for the queue-depth metric.
  std::vector<std::pair<std::string, int64_t>> pending_by_target();

  /// Deletes up to `limit` finished deliveries last updated before
  /// `before`, with their attempts. Returns how many.
  size_t purge_finished(timestamp_us before, size_t limit);

  /// The delivery log of a policy, newest first.
  webhook_lookup executions(const webhook_execution_query& q,
                            webhook_execution_page& out);
  /// One execution with every attempt.
  webhook_lookup execution(const webhook_execution_ref& ref,
                           webhook_execution& out);
  /// Makes a finished (or pending) execution due now with a fresh retry
  /// budget; its webhook_id stays, so that a receiver still recognizes it.
  webhook_lookup retry(const webhook_execution_ref& ref, timestamp_us now,
                       webhook_execution& out);
  /// Queues a test delivery to every target of a policy (webhook ids
  /// `test_...`, logged like the others). `out` holds the first.
  webhook_lookup queue_test(const std::string& project, int64_t policy_id,
                            timestamp_us now, webhook_execution& out);

private:
  /// What a REPLICATION delivery reports of `execution` for `project`;
  /// nothing when the execution is gone.
  std::optional<webhook_replication> replication_summary(
      int64_t execution, const std::string& project);
  webhook_lookup find_policy(const std::string& project, int64_t policy_id);
  bool load(int64_t id, webhook_execution& out);

  database& db_;
  const secret_box& secrets_;
};

} // namespace regevent
