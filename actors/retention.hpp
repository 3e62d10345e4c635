#pragma once

#include "actors/actors.hpp"

#include <memory>

namespace regevent {

class database;
class catalog_store;

struct retention_state {
  static constexpr const char* name = "retention";
  runtime rt;
  std::unique_ptr<database> db;
  std::unique_ptr<catalog_store> store;
  uint64_t purged = 0;

  retention_state();
  ~retention_state();
};

/// Enforces `retention.access_log_days`: every purge interval it deletes
/// expired access-log rows in small batches, one batch per message, so
/// that other writers get the database between batches. Detached.
retention_actor::behavior_type
retention(retention_actor::stateful_pointer<retention_state> self, runtime rt);

} // namespace regevent
