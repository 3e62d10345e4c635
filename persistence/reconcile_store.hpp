#pragma once

#include "config/config.hpp"
#include "persistence/reconcile.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regevent {

class database;

/// Reconcile runs (one unfinished at a time across instances, held by a
/// lease) and what applying a walk of the source registry changes in the
/// catalog. Every change is a last-writer-wins register stamped with the
/// time the registry was read, as the artifact store stamps events with
/// theirs, so that a reconcile and live events give the same rows in any
/// order, and a reconcile applied twice changes nothing the second time.
class reconcile_store {
public:
  explicit reconcile_store(database& db);

  /// Queues a run asked for through the API: the new run, or nothing when
  /// one is unfinished (then `unfinished` is it).
  std::optional<reconcile_run> request(const std::string& trigger,
                                       timestamp_us now,
                                       reconcile_run& unfinished);

  /// Takes the run this instance should do now: a pending one; else, when
  /// `start_trigger` is not empty (the instance just started, or its
  /// schedule came due and no run began after `due_before`), a new one.
  /// A running run whose lease expired (its instance died) is failed
  /// first. Nothing when there is no such run or another instance holds
  /// one.
  std::optional<reconcile_run> claim(const std::string& instance,
                                     timestamp_us now, timestamp_us lease_until,
                                     const std::string& start_trigger,
                                     timestamp_us due_before);

  /// Extends the lease and writes the progress; false when the lease is
  /// no longer this instance's (the run must stop).
  bool renew(long long id, const std::string& instance,
             timestamp_us lease_until, const reconcile_counts& counts);

  /// Ends a run this instance holds.
  void finish(long long id, const std::string& instance, bool ok,
              const std::string& error, const reconcile_counts& counts,
              timestamp_us now);

  /// The newest runs, newest first.
  std::vector<reconcile_run> runs(long long limit);

  /// What regevent shows of `repository` now.
  repository_state live_state(const std::string& repository);

  /// Every repository regevent knows, in name order.
  std::vector<std::string> repositories();

  /// Extends the lease of a run this instance holds, inside the caller's
  /// transaction: false when it is no longer this instance's (another
  /// failed it as expired), and what the transaction would write must not
  /// be committed.
  bool hold(long long run_id, const std::string& instance,
            timestamp_us lease_until);

  /// Applies one repository's observation in one transaction (the caller
  /// opens it) and writes the audit rows of what it changed, as
  /// `regevent:reconcile` with `reconcile-<run_id>` as their event id:
  /// every row seen is stamped with the read, every row gone deleted as of
  /// it (unless an event saw it later), and the changes counted are what
  /// regevent shows after against before.
  reconcile_counts apply(const reconcile_observation& o,
                         unknown_project_policy policy, long long run_id);

private:
  /// The unfinished run (the unique index allows one at most).
  std::optional<reconcile_run> unfinished_run();

  database& db_;
};

} // namespace regevent
