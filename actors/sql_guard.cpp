#include "actors/sql_guard.hpp"

#include "persistence/database.hpp"

namespace regevent {

ec classify_sql_failure(database* db, const std::exception& e) noexcept {
  if (is_transient_conflict(e))
    return ec::database_conflict;
  if (db == nullptr || !still_connected(*db))
    return ec::database_unavailable;
  return ec::database_error;
}

} // namespace regevent
