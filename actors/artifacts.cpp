#include "actors/artifacts.hpp"

namespace regevent {

effect_actor::behavior_type artifacts(effect_self self, runtime rt,
                                      std::shared_ptr<fault_budget> faults) {
  return effect_behavior(self, std::move(rt), effect_name::artifacts,
                         std::move(faults));
}

} // namespace regevent
