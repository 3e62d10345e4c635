#pragma once

#include "actors/effect.hpp"
#include "actors/filter.hpp"

namespace regevent {

/// The PULL COUNTER effect: +1 per counted pull, aggregated per repository
/// inside a batch.
effect_actor::behavior_type pull_counter(effect_self self,
                                         effect_actor_config cfg);

} // namespace regevent
