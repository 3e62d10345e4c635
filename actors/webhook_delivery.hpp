#pragma once

#include "actors/actors.hpp"
#include "actors/outbound.hpp"
#include "actors/write_path.hpp"
#include "persistence/webhook_delivery.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace regevent {

class metrics;
class secret_box;
class webhook_delivery_store;

/// What the webhook delivery actor needs of the configuration.
struct webhook_delivery_config {
  config::database_section database;
  std::string secrets_key;
  config::webhooks_section webhooks;
  std::shared_ptr<outbound_port> outbound;
  std::shared_ptr<metrics> stats;
  /// How long a claim or a record may wait for the journal to take it
  /// (SQLite, where the journal is the one writer).
  std::chrono::milliseconds journal_timeout{0};

  static webhook_delivery_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct webhook_delivery_state {
  static constexpr const char* name = "webhook_delivery";

  /// Answers handed over by the client's threads; the first one of a
  /// batch wakes the actor.
  struct inbox {
    std::mutex mtx;
    std::vector<std::pair<uint64_t, outbound_reply>> replies;
  };

  /// One target's share of the workers and its circuit.
  struct target {
    size_t in_flight = 0;
    uint32_t failures = 0;
    std::chrono::steady_clock::time_point open_until{};
    /// Claimed deliveries waiting for one of its slots.
    std::vector<webhook_delivery> waiting;
  };

  struct flight;

  webhook_delivery_config cfg;
  std::unique_ptr<secret_box> secrets;
  write_path<webhook_delivery_store> writes;
  /// Where the next claim's walk over the targets starts (round robin).
  size_t next_target = 0;
  std::shared_ptr<inbox> replies;
  std::map<uint64_t, std::unique_ptr<flight>> flights;
  std::map<std::string, target> targets;
  /// Outcomes not yet recorded (kept across a failed write).
  std::vector<webhook_outcome_record> outcomes;
  /// Targets with deliveries pending at the last count (queue gauges).
  std::set<std::string> queued;
  uint64_t next_flight = 0;
  size_t held = 0;
  std::chrono::steady_clock::time_point next_housekeeping{};
  bool stopping = false;

  webhook_delivery_state();
  ~webhook_delivery_state();
};

/// Sends webhook deliveries: claims due tasks from the database (never
/// from memory), posts them through the outbound port, records each
/// attempt and decides retries (exponential backoff with jitter), 410s
/// (the target is disabled) and failures. Per target at most
/// `per_target_concurrency` in flight and a circuit breaker, so that a dead
/// or slow target holds neither the workers nor other targets back.
/// Detached: its SQL blocks.
webhook_delivery_actor::behavior_type deliver_webhooks(
    webhook_delivery_actor::stateful_pointer<webhook_delivery_state> self,
    webhook_delivery_config cfg);

} // namespace regevent
