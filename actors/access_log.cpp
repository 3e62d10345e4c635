#include "actors/access_log.hpp"

namespace regevent {

effect_actor::behavior_type access_log(effect_self self, runtime rt,
                                       std::shared_ptr<fault_budget> faults) {
  return effect_behavior(self, std::move(rt), effect_name::access_log,
                         std::move(faults));
}

} // namespace regevent
