#include "actors/webhooks.hpp"

namespace regevent {

effect_actor::behavior_type webhooks(effect_self self,
                                     effect_actor_config cfg) {
  cfg.effect = effect_kind::webhooks;
  return effect_behavior(self, std::move(cfg));
}

effect_actor::behavior_type replication(effect_self self,
                                        effect_actor_config cfg) {
  cfg.effect = effect_kind::replication;
  return effect_behavior(self, std::move(cfg));
}

effect_actor::behavior_type scanning(effect_self self,
                                     effect_actor_config cfg) {
  cfg.effect = effect_kind::scanning;
  return effect_behavior(self, std::move(cfg));
}

} // namespace regevent
