#include "actors/repositories.hpp"

namespace regevent {

effect_actor::behavior_type repositories(effect_self self,
                                         effect_actor_config cfg) {
  cfg.effect = effect_kind::repositories;
  return effect_behavior(self, std::move(cfg));
}

} // namespace regevent
