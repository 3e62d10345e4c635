#pragma once

#include "actors/effect.hpp"

namespace regevent {

/// The WEBHOOKS effect: writes one delivery task per (policy, target)
/// subscribed to the event, in the transaction of the event's completion
/// mark (a transactional outbox). The webhook delivery actor sends them.
effect_actor::behavior_type webhooks(effect_self self, effect_actor_config cfg);

/// The REPLICATION effect: writes one execution and task per event-based
/// policy that selects a tagged push (or a delete, for policies with
/// `deletion`), in the transaction of the event's completion mark. The
/// replication workers copy them.
effect_actor::behavior_type replication(effect_self self,
                                        effect_actor_config cfg);

/// The SCANNING effect: writes one scan task per manifest push into a
/// project with auto-scan, in the transaction of the event's completion
/// mark. The scan workers ask the scanner adapter.
effect_actor::behavior_type scanning(effect_self self, effect_actor_config cfg);

} // namespace regevent
