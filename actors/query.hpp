#pragma once

#include "actors/actors.hpp"
#include "actors/store_connection.hpp"

#include <memory>

namespace regevent {

class secret_box;
struct management_stores;

/// What a query actor needs of the configuration.
struct query_config {
  config::database_section database;
  /// Seals secrets before they are stored (`secrets.key`); shared by the
  /// pool.
  std::shared_ptr<const secret_box> secrets;

  static query_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct query_state {
  static constexpr const char* name = "query";
  store_connection<management_stores> conn;

  query_state();
  ~query_state();
};

/// Runs management API work on its own database connection. Detached: the
/// work blocks on SQL. A pool of them serves the API.
query_actor::behavior_type
query(query_actor::stateful_pointer<query_state> self, query_config cfg);

} // namespace regevent
