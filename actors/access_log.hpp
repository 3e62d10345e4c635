#pragma once

#include "actors/effect.hpp"
#include "actors/filter.hpp"

namespace regevent {

/// The ACCESS LOG effect: one audit row per kept push, pull and delete
/// (username `anonymous` for anonymous access).
effect_actor::behavior_type access_log(effect_self self,
                                       effect_actor_config cfg);

} // namespace regevent
