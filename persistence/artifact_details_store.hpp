#pragma once

#include "persistence/artifact_details.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace regevent {

class database;

/// The `artifact_details` rows: which live artifacts still want their
/// details read, and what a read found. No lease: on PostgreSQL two
/// instances may read one artifact at once, and both write the same row
/// (the registry holds one manifest per digest), so a duplicate read costs
/// a few requests and nothing else.
class artifact_details_store {
public:
  explicit artifact_details_store(database& db);

  /// Up to `limit` live artifacts (`alive_at > deleted_at`) without a row,
  /// or whose row failed, is due at `now` and has fewer than
  /// `max_attempts` attempts; the newest first, so that a push is
  /// described promptly while a backlog is worked through.
  std::vector<artifact_details_job> due(timestamp_us now, size_t limit,
                                        uint32_t max_attempts);

  /// Writes each read's outcome in one transaction: `done` replaces the
  /// row with the details (`fetched_at` = `now`, the attempts so far
  /// kept); `retry` and `failed` make the row `failed` with one more
  /// attempt, the error and the next attempt's time, and never touch a
  /// row already `done` (another instance's read won).
  void record(const std::vector<artifact_details_record>& outcomes,
              timestamp_us now);

private:
  database& db_;
};

} // namespace regevent
