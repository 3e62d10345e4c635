#pragma once

#include "actors/actors.hpp"
#include "config/effects.hpp"

#include <chrono>
#include <memory>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace regevent {

class metrics;

/// What a dispatcher needs of the configuration; shared by every
/// dispatcher of a daemon.
struct dispatcher_config {
  config::filter_section filter;
  retry_policy retry;
  /// How long a request to the journal or the supervisor may take.
  std::chrono::milliseconds journal_timeout{0};
  /// Per effect name: how long one apply request may take.
  std::map<std::string, std::chrono::milliseconds> request_timeouts;
  std::shared_ptr<metrics> stats;

  static std::shared_ptr<const dispatcher_config> from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

/// The retry state of one (event, effect) request: state, not sleep.
struct effect_item {
  size_t event = 0;
  effect_kind effect = effect_kind::access_log;
  uint32_t attempt = 0;
  /// Failures caused by a database outage or a conflict between writers;
  /// they do not use up attempts.
  uint32_t outages = 0;
  uint32_t next_delay_ms = 0;
  bool resolved = false;
};

struct dispatcher_state {
  static constexpr const char* name = "dispatcher";

  std::shared_ptr<const dispatcher_config> cfg;
  journal_actor journal;
  supervisor_actor supervisor;
  effect_pools pools;
  std::vector<planned_event> kept;
  std::vector<std::vector<effect_kind>> plans;
  std::vector<effect_item> items;
  /// Per kept event: requests not yet resolved, and whether one went dead.
  std::vector<uint32_t> open;
  std::vector<bool> dead;
  size_t unresolved = 0;
  std::vector<status_update> updates;
};

/// Routes one batch: classifies each event, sends each effect of each kept
/// event to the effect actor that serves it, retries failures with
/// exponential backoff and jitter, dead-letters what exhausts its attempts,
/// reports final states to the journal, then quits.
dispatcher_actor::behavior_type
dispatcher(dispatcher_actor::stateful_pointer<dispatcher_state> self,
           std::shared_ptr<const dispatcher_config> cfg, journal_actor journal,
           supervisor_actor supervisor, std::vector<event_record> batch);

/// The backoff before attempt `attempt + 1`: base * 2^attempt, capped,
/// spread by +/- jitter. `unit` in [0, 1) is the random draw.
uint32_t backoff_ms(const retry_policy& policy, uint32_t attempt, double unit);

} // namespace regevent
