#pragma once

#include "actors/actors.hpp"
#include "actors/artifact_details_port.hpp"
#include "actors/store_connection.hpp"
#include "actors/write_path.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace regevent {

class metrics;
class artifact_details_store;

/// What the artifact details worker needs of the configuration (its
/// limits are defaults::artifact_details).
struct artifact_details_config {
  config::database_section database;
  std::shared_ptr<artifact_details_port> port;
  std::shared_ptr<metrics> stats;
  /// How long a look or a record may wait for the journal to take it
  /// (SQLite, where the journal is the one writer).
  std::chrono::milliseconds journal_timeout{0};
  std::chrono::milliseconds poll_interval{0};
  size_t batch_size = 0;
  uint32_t max_attempts = 0;

  static artifact_details_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct artifact_details_state {
  static constexpr const char* name = "artifact_details";

  artifact_details_config cfg;
  /// On SQLite the records are jobs of the journal, the one writer; on
  /// PostgreSQL they run on the worker's own connection.
  write_path<artifact_details_store> writes;
  /// The look for due artifacts, a read that walks the artifacts (about
  /// 0.4 s for 200 000 on this machine, SQLite) on a connection of its
  /// own: as a journal job it would hold up every commit that long.
  store_connection<artifact_details_store> reads;
  /// Outcomes not yet recorded (kept across a failed write).
  std::vector<artifact_details_record> outcomes;
  bool stopping = false;

  artifact_details_state();
  ~artifact_details_state();
};

/// Fills what a notification does not say about an artifact (Harbor's
/// media_type, artifact_type, extra_attrs, annotations, references and
/// size): looks for live artifacts without details, reads a batch of them
/// from the source registry through the port (a few at once), and records
/// each outcome: done, or failed with a doubling backoff (a day for a
/// manifest that is gone or unreadable) until the attempts run out. A
/// full batch is followed by the next at once. Detached: the reads and
/// its SQL block.
artifact_details_actor::behavior_type artifact_details_worker(
    artifact_details_actor::stateful_pointer<artifact_details_state> self,
    artifact_details_config cfg);

} // namespace regevent
