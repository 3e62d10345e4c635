#pragma once

#include "actors/effect.hpp"
#include "actors/filter.hpp"

namespace regevent {

/// The REPOSITORY REGISTRY effect: creates a repository on its first push
/// and its project when unknown (`unknown_project: create`); answers
/// whether a project exists (for `unknown_project: skip`).
effect_actor::behavior_type repositories(effect_self self,
                                         effect_actor_config cfg);

} // namespace regevent
