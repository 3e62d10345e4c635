#pragma once

#include "actors/actors.hpp"
#include "config/defaults.hpp"
#include "persistence/database.hpp"

#include <caf/typed_response_promise.hpp>

#include <memory>
#include <vector>

namespace regevent {

class database;
class journal_store;

struct journal_state {
  static constexpr const char* name = "journal";

  struct pending_append {
    std::vector<event_record> events;
    bool claim;
    caf::typed_response_promise<std::vector<event_record>> promise;
  };
  struct pending_dead {
    dead_letter letter;
    caf::typed_response_promise<bool> promise;
  };

  runtime rt;
  std::unique_ptr<database> db;
  std::unique_ptr<journal_store> store;
  std::vector<pending_append> appends;
  size_t buffered_events = 0;
  std::vector<status_update> finishes;
  std::vector<pending_dead> deads;
  bool flush_scheduled = false;
  uint64_t ticks = 0;
  reconnect_backoff reconnect{defaults::database::reconnect_initial_ms,
                              defaults::database::reconnect_max_ms};

  journal_state();
  ~journal_state();
};

/// The journal: the single writer of the `events` table. Requests that
/// arrive while a commit runs queue in the mailbox; a `flush` the actor
/// sends itself sits behind them, so that they all share the next commit
/// (group commit). Runs detached: every call into the database blocks.
journal_actor::behavior_type
journal(journal_actor::stateful_pointer<journal_state> self, runtime rt);

} // namespace regevent
