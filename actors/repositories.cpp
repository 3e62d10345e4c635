#include "actors/repositories.hpp"

namespace regevent {

effect_actor::behavior_type repositories(effect_self self, runtime rt,
                                         std::shared_ptr<fault_budget> faults) {
  return effect_behavior(self, std::move(rt), effect_name::repositories,
                         std::move(faults));
}

} // namespace regevent
