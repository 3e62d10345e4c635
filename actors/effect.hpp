#pragma once

#include "actors/actors.hpp"
#include "config/defaults.hpp"
#include "persistence/database.hpp"

#include <caf/typed_response_promise.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

class database;
class effect_store;

/// Test-only fault injection shared by all incarnations of one effect, so
/// that "fail the next N commits" survives the restarts it causes.
struct fault_budget {
  fault_mode mode = fault_mode::none;
  std::atomic<uint32_t> remaining{0};
};

struct effect_state {
  static constexpr const char* name = "effect";

  struct request {
    planned_event event;
    caf::typed_response_promise<bool> promise;
  };

  runtime rt;
  std::string effect;
  effect_config settings;
  std::shared_ptr<fault_budget> faults;
  std::unique_ptr<database> db;
  std::unique_ptr<effect_store> store;
  std::vector<request> buffer;
  bool flush_scheduled = false;
  reconnect_backoff reconnect{defaults::database::reconnect_initial_ms,
                              defaults::database::reconnect_max_ms};

  effect_state();
  ~effect_state();
};

using effect_self = effect_actor::stateful_pointer<effect_state>;

/// The batching machinery every effect shares: buffer requests up to the
/// configured batch size or delay, commit them and their completion marks
/// in one transaction, then answer each. Runs detached (blocking SQL).
effect_actor::behavior_type
effect_behavior(effect_self self, runtime rt, std::string effect,
                std::shared_ptr<fault_budget> faults);

/// Spawns the effect actor of the given name (detached).
effect_actor spawn_effect(caf::actor_system& sys, const runtime& rt,
                          const std::string& effect,
                          std::shared_ptr<fault_budget> faults);

} // namespace regevent
