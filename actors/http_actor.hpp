#pragma once

#include "actors/actors.hpp"

#include <caf/actor_addr.hpp>

#include <chrono>
#include <map>

namespace regevent {

struct http_actor_state {
  static constexpr const char* name = "http";

  runtime rt;
  journal_actor journal;
  recovery_actor recovery;
  supervisor_actor supervisor;
  /// Dispatchers alive, and appends in flight that will spawn one.
  uint64_t active = 0;
  /// Live dispatchers, stopped with this actor at shutdown.
  std::map<caf::actor_addr, dispatcher_actor> dispatchers;
  uint64_t reserved = 0;
  bool stopping = false;
  /// Fresh events of claimed appends, waiting for the next `flush`.
  std::vector<event_record> undispatched;
  bool flush_scheduled = false;
  std::chrono::steady_clock::time_point last_wakeup{};
};

/// The HTTP actor: owns ingest. Applies backpressure, journals each parsed
/// notification (the answer waits for the commit), and spawns one
/// dispatcher per batch while the dispatcher pool has room; past that the
/// batch waits in the journal for the recovery actor.
http_actor::behavior_type
http_actor_impl(http_actor::stateful_pointer<http_actor_state> self, runtime rt,
                journal_actor journal, recovery_actor recovery,
                supervisor_actor supervisor);

} // namespace regevent
