#pragma once

#include "config/config.hpp"
#include "config/effects.hpp"
#include "persistence/event.hpp"

#include <memory>
#include <string>
#include <vector>

namespace regevent {

class database;

/// The SQL of one effect. `apply` runs inside the caller's transaction and
/// writes each event's (event_id, effect) completion mark next to the
/// change, so that an effect is applied exactly once however often its
/// event is delivered, recovered or retried.
class effect_store {
public:
  effect_store(database& db, effect_kind effect);
  virtual ~effect_store();

  /// `applied[i]` is false where the mark already existed (skipped).
  void apply(const std::vector<const effect_input*>& batch,
             std::vector<bool>& applied);

  /// Whether a project exists; only the repositories store knows.
  virtual bool project_exists(const std::string& project);

protected:
  /// Applies the events not applied before, all in the open transaction.
  virtual void apply_fresh(const std::vector<const effect_input*>& fresh) = 0;

  database& db_;
  const std::string effect_;

private:
  struct marks;
  std::unique_ptr<marks> marks_;
};

/// Creates the store of an effect; `unknown_project` is what the
/// repositories store does for a project it does not know.
std::unique_ptr<effect_store>
make_effect_store(effect_kind effect, database& db,
                  unknown_project_policy unknown_project);

/// The same by name; throws std::invalid_argument for an unknown name.
std::unique_ptr<effect_store>
make_effect_store(const std::string& effect, database& db, const config& cfg);

std::unique_ptr<effect_store> make_access_log_store(database& db);
std::unique_ptr<effect_store>
make_repository_store(database& db, unknown_project_policy policy);
std::unique_ptr<effect_store> make_pull_count_store(database& db);
std::unique_ptr<effect_store> make_artifact_store(database& db);
/// The outbox of webhook deliveries (webhook_tasks).
std::unique_ptr<effect_store> make_webhook_task_store(database& db);
/// The outbox of replication (replication_executions, replication_tasks).
std::unique_ptr<effect_store> make_replication_task_store(database& db);
/// The outbox of scanning (scan_tasks).
std::unique_ptr<effect_store> make_scan_task_store(database& db);

} // namespace regevent
