#pragma once

#include "actors/actors.hpp"
#include "actors/effect.hpp"
#include "actors/restart_budget.hpp"

#include <caf/actor_addr.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

class metrics;
class health;

/// What the effect supervisor needs of the configuration: the enabled
/// effects in start order, each with its instances' configuration.
struct supervisor_config {
  struct pool {
    effect_actor_config actor;
    size_t instances = 0;
  };
  std::vector<pool> pools;
  restart_policy restart;
  /// How an effect actor is started: spawn_effect, or a test double.
  std::function<effect_actor(caf::actor_system&, const effect_actor_config&)>
      spawn = [](caf::actor_system& sys, const effect_actor_config& c) {
        return spawn_effect(sys, c);
      };
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health> status;

  static supervisor_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct supervisor_state {
  static constexpr const char* name = "supervisor";

  supervisor_config cfg;
  effect_pools current;
  /// Which (pool, index) an actor address stands for.
  std::map<caf::actor_addr, std::pair<size_t, size_t>> slots;
  /// Per pool.
  std::vector<restart_budget> budgets;
  bool stopping = false;
};

/// Spawns the effect actors of the configured topology, monitors them and
/// restarts a dead one with the same configuration while the restart
/// budget (max restarts within a window) allows; past it, the daemon turns
/// not-ready and says why. On an exit message it stops its effects and
/// quits once every one of them is down (they flush first).
supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config cfg);

} // namespace regevent
