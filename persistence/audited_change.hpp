#pragma once

#include "persistence/catalog.hpp"
#include "persistence/database.hpp"

namespace regevent {

/// A management API change and its audit row in one write transaction: no
/// change without its row, no row without its change. The stores' own
/// transactions opened meanwhile nest in it (database::begin_write).
class audited_change {
public:
  explicit audited_change(database& db);

  /// Writes the audit row of `change` at `now` and commits both. When a
  /// store's part rolled back (it refused or changed nothing), rolls back
  /// instead and writes nothing; answers whether it committed.
  bool commit(const api_change& change, timestamp_us now);
  /// A refused change: keeps what the store committed of its own accord
  /// (housekeeping such as failing an expired run), as it would alone,
  /// and writes no row.
  void commit_unaudited();

private:
  database& db_;
  write_transaction tx_;
};

} // namespace regevent
