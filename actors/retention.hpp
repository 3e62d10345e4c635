#pragma once

#include "actors/actors.hpp"
#include "actors/store_connection.hpp"
#include "config/defaults.hpp"

#include <chrono>

namespace regevent {

class catalog_store;

/// What the retention actor needs of the configuration.
struct retention_config {
  config::database_section database;
  /// 0 keeps access logs forever (the actor then never purges).
  uint32_t access_log_days = 0;
  std::chrono::seconds interval{0};
  /// Rows per delete.
  uint32_t batch = 0;
  std::chrono::milliseconds batch_pause{defaults::retention::batch_pause_ms};
  std::chrono::milliseconds first_round_delay{
      defaults::retention::first_round_delay_ms};

  static retention_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct retention_state {
  static constexpr const char* name = "retention";
  retention_config cfg;
  store_connection<catalog_store> conn;
  uint64_t purged = 0;

  retention_state();
  ~retention_state();
};

/// Enforces `retention.access_log_days`: every purge interval it deletes
/// expired access-log rows in small batches, one batch per message, so
/// that other writers get the database between batches. Detached.
retention_actor::behavior_type
retention(retention_actor::stateful_pointer<retention_state> self,
          retention_config cfg);

} // namespace regevent
