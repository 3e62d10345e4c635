#include "actors/access_log.hpp"

namespace regevent {

effect_actor::behavior_type access_log(effect_self self,
                                       effect_actor_config cfg) {
  cfg.effect = effect_kind::access_log;
  return effect_behavior(self, std::move(cfg));
}

} // namespace regevent
