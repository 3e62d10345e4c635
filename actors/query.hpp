#pragma once

#include "actors/actors.hpp"

#include <memory>

namespace regevent {

struct query_state {
  static constexpr const char* name = "query";
  runtime rt;
  std::unique_ptr<database> db;

  query_state();
  ~query_state();
};

/// Runs management API work on its own database connection. Detached: the
/// work blocks on SQL. A pool of them serves the API.
query_actor::behavior_type
query(query_actor::stateful_pointer<query_state> self, runtime rt);

} // namespace regevent
