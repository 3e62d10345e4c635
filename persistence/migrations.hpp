#pragma once

#include "persistence/database.hpp"

#include <stdexcept>

namespace regevent {

/// The schema versions before and after a migration run (equal when there
/// was nothing to do; 0 is an empty database).
struct migration_summary {
  int from = 0;
  int to = 0;
};

/// A database migrated by a newer regeventd than this one.
class schema_too_new : public std::runtime_error {
public:
  schema_too_new(int found, int known);
  int found;
  int known;
};

/// `migrate`, saying what it did: applies every migration not yet recorded
/// in `schema_migrations`. Throws `schema_too_new`, changing nothing, when
/// the database holds a version above `schema_version()`.
migration_summary migrate_schema(database& db);

} // namespace regevent
