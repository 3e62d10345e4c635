#pragma once

#include "actors/actors.hpp"
#include "actors/effect.hpp"

#include <caf/actor_addr.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>

namespace regevent {

struct supervisor_state {
  static constexpr const char* name = "supervisor";

  runtime rt;
  effect_pools current;
  /// Which (effect, index) an actor address stands for.
  std::map<caf::actor_addr, std::pair<std::string, size_t>> slots;
  /// Restart times per effect, for the restart budget.
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>>
      restarts;
  std::map<std::string, std::shared_ptr<fault_budget>> faults;
  bool stopping = false;
};

/// Spawns the effect actors of the configured topology, monitors them and
/// restarts a dead one with the same configuration while the restart
/// budget (max restarts within a window) allows; past it, the daemon turns
/// not-ready and says why.
supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           runtime rt);

} // namespace regevent
