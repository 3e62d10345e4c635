#include "actors/pull_counter.hpp"

namespace regevent {

effect_actor::behavior_type pull_counter(effect_self self,
                                         effect_actor_config cfg) {
  cfg.effect = effect_kind::pull_counter;
  return effect_behavior(self, std::move(cfg));
}

} // namespace regevent
