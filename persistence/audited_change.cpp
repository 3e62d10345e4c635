#include "persistence/audited_change.hpp"

#include <soci/soci.h>

namespace regevent {

audited_change::audited_change(database& db) : db_(db), tx_(db) {}

bool audited_change::commit(const api_change& change, timestamp_us now) {
  // Rolled back by the destructor: what the store left is not a change.
  if (db_.nested_rollback())
    return false;
  long long at = now;
  // event_id stays empty: an API change is no registry event.
  db_.session() << "INSERT INTO access_logs (event_id, username, project, "
                   "repository, operation, op_time, resource_type, resource) "
                   "VALUES ('', :u, :p, '', :o, :t, :rt, :r)",
      soci::use(change.username), soci::use(change.project),
      soci::use(change.operation), soci::use(at),
      soci::use(change.resource_type), soci::use(change.resource);
  tx_.commit();
  return true;
}

void audited_change::commit_unaudited() {
  if (!db_.nested_rollback())
    tx_.commit();
}

} // namespace regevent
