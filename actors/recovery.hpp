#pragma once

#include "actors/actors.hpp"

#include <caf/actor_addr.hpp>

#include <map>
#include <memory>

namespace regevent {

class database;
class journal_store;

struct recovery_state {
  static constexpr const char* name = "recovery";

  runtime rt;
  journal_actor journal;
  supervisor_actor supervisor;
  std::unique_ptr<database> db;
  std::unique_ptr<journal_store> store;
  uint64_t active = 0;
  /// Live dispatchers, stopped with this actor at shutdown.
  std::map<caf::actor_addr, dispatcher_actor> dispatchers;
  /// Whether the journal may hold unclaimed work.
  bool more = true;
  bool stopping = false;

  recovery_state();
  ~recovery_state();
};

/// Finds journaled events that are not finished (left by a crash, by a full
/// dispatcher pool, or by a dead instance whose claims expired), claims
/// them in bounded batches and hands each batch to a dispatcher. Runs
/// detached: claiming blocks on the database.
recovery_actor::behavior_type
recovery(recovery_actor::stateful_pointer<recovery_state> self, runtime rt,
         journal_actor journal, supervisor_actor supervisor);

} // namespace regevent
