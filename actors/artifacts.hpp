#pragma once

#include "actors/effect.hpp"
#include "actors/filter.hpp"

namespace regevent {

/// The ARTIFACT TIMESTAMPS effect: artifacts by (repository, digest) with
/// media type, size, push and pull time; tags moved on push; deletes leave
/// tombstones so that any arrival order gives the same rows.
effect_actor::behavior_type artifacts(effect_self self,
                                      effect_actor_config cfg);

} // namespace regevent
