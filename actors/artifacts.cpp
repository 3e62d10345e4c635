#include "actors/artifacts.hpp"

namespace regevent {

effect_actor::behavior_type artifacts(effect_self self,
                                      effect_actor_config cfg) {
  cfg.effect = effect_kind::artifacts;
  return effect_behavior(self, std::move(cfg));
}

} // namespace regevent
