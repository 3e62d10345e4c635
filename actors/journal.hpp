#pragma once

#include "actors/actors.hpp"
#include "actors/faults.hpp"
#include "actors/store_connection.hpp"
#include "config/defaults.hpp"

#include <caf/actor_addr.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <array>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

struct writer_stores;
class metrics;
class health;

/// What the journal needs of the configuration.
struct journal_config {
  config::database_section database;
  /// Buffered events that make the journal commit without waiting for the
  /// requests queued behind them.
  size_t group_commit_max = 0;
  /// How long a claim made at append time holds.
  std::chrono::milliseconds claim_lease{0};
  uint64_t wal_limit_bytes = 0;
  /// This instance, owner of the claims it makes.
  std::string instance_id;
  /// What the repositories effect does for a project it does not know,
  /// when its batches commit here.
  unknown_project_policy unknown_project = unknown_project_policy::create;
  std::chrono::milliseconds tick{defaults::journal::tick_ms};
  uint32_t recount_every_ticks = defaults::journal::recount_every_ticks;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health> status;
  /// Test only: commits that fail (see faults.hpp).
  std::shared_ptr<fault_budget> faults;

  static journal_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

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
  struct pending_effects {
    effect_batch batch;
    caf::typed_response_promise<effect_outcome> promise;
  };
  struct pending_job {
    std::shared_ptr<writer_job> job;
    caf::typed_response_promise<bool> promise;
  };

  journal_state();
  ~journal_state();

  journal_config cfg;
  store_connection<writer_stores> conn;
  std::vector<pending_append> appends;
  size_t buffered_events = 0;
  std::vector<status_update> finishes;
  std::vector<pending_dead> deads;
  std::vector<pending_effects> effects;
  std::vector<pending_job> jobs;
  bool flush_scheduled = false;
  uint64_t ticks = 0;
  /// Events journaled and not finished; the journal owns this count.
  int64_t backlog = 0;
  /// On SQLite, where this is the only writer: the finished events by
  /// status (indexed as `event_status_names`; [0] unused, see backlog),
  /// counted once at start and then by the transitions the journal makes,
  /// so that nobody reads the whole table again. Unset on PostgreSQL
  /// (other instances write too; recovery counts there) and until the
  /// first count succeeded.
  std::optional<std::array<long long, 4>> finished;
  /// Whether the last commit or probe reached the database.
  bool database_ok = true;
  /// Who is told the backlog, and what they were told last.
  std::map<caf::actor_addr, backlog_listener> listeners;
  std::pair<uint64_t, bool> told{UINT64_MAX, false};
};

/// The journal: the single writer of the `events` table, and on SQLite of
/// every effect (the effect actors send it their batches). Requests that
/// arrive while a commit runs queue in the mailbox; a `flush` the actor
/// sends itself sits behind them, so that they all share the next commit
/// (group commit): appends, final states, dead letters and effect batches
/// of many dispatchers in one transaction. Runs detached: every call into
/// the database blocks.
journal_actor::behavior_type
journal(journal_actor::stateful_pointer<journal_state> self,
        journal_config cfg);

} // namespace regevent
