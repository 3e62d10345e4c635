#pragma once

#include "actors/actors.hpp"

#include <memory>

namespace regevent {

class database;
class catalog_store;

struct query_state {
  static constexpr const char* name = "query";
  runtime rt;
  std::unique_ptr<database> db;
  std::unique_ptr<catalog_store> store;

  query_state();
  ~query_state();
};

/// Runs management API work on its own database connection. Detached: the
/// work blocks on SQL. A pool of them serves the API.
query_actor::behavior_type
query(query_actor::stateful_pointer<query_state> self, runtime rt);

} // namespace regevent
