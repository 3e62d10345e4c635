#include "actors/pull_counter.hpp"

namespace regevent {

effect_actor::behavior_type pull_counter(effect_self self, runtime rt,
                                         std::shared_ptr<fault_budget> faults) {
  return effect_behavior(self, std::move(rt), effect_name::pull_counter,
                         std::move(faults));
}

} // namespace regevent
