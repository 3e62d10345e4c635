#pragma once

#include "actors/actors.hpp"
#include "actors/faults.hpp"
#include "actors/store_connection.hpp"
#include "config/effects.hpp"

#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

class effect_store;
class metrics;

/// What one effect actor needs of the configuration.
struct effect_actor_config {
  effect_kind effect = effect_kind::access_log;
  config::database_section database;
  /// What the repositories effect does for a project it does not know.
  unknown_project_policy unknown_project = unknown_project_policy::create;
  /// Requests that make the actor commit at once.
  size_t batch_size = 0;
  /// How long a request may wait for others to share its commit.
  std::chrono::milliseconds batch_delay{0};
  std::shared_ptr<metrics> stats;
  /// Test only: commits that fail (see faults.hpp).
  std::shared_ptr<fault_budget> faults;
  /// SQLite: the single writer that commits this effect's batches (the
  /// root actor sets it to the journal). Unset: the actor commits on its
  /// own connection (PostgreSQL's parallel writers).
  journal_actor writer;
  /// How long a batch may wait for the writer's commit.
  std::chrono::milliseconds writer_timeout{0};

  static effect_actor_config from(const runtime& rt, effect_kind effect);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct effect_state {
  static constexpr const char* name = "effect";

  struct request {
    planned_event event;
    caf::typed_response_promise<bool> promise;
  };

  effect_actor_config cfg;
  store_connection<effect_store> conn;
  std::vector<request> buffer;
  bool flush_scheduled = false;

  effect_state();
  ~effect_state();
};

using effect_self = effect_actor::stateful_pointer<effect_state>;

/// The batching machinery every effect shares: buffer requests up to the
/// configured batch size or delay, commit them and their completion marks
/// in one transaction, then answer each. With a writer the transaction is
/// the writer's group commit and the actor never blocks; without, the
/// actor's own (blocking SQL).
effect_actor::behavior_type effect_behavior(effect_self self,
                                            effect_actor_config cfg);

/// Spawns the effect actor of `cfg.effect`: on the cooperative scheduler
/// with a writer, detached without.
effect_actor spawn_effect(caf::actor_system& sys, effect_actor_config cfg);

} // namespace regevent
