#pragma once

#include "bench/report.hpp"
#include "bench/workload.hpp"

#include "config/config.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace regevent::bench {

/// Rows per transaction of the ceiling, as issue 9 fixes it: every commit
/// as full as a busy group commit, so the ceiling is the insert rate the
/// journal could reach if nothing but SQLite cost anything.
constexpr size_t ceiling_batch_rows = 1'024;

/// Sender number of the ceiling's event ids, apart from the load's senders
/// (0..senders, and 10 000 and up in soak), so that an id never says two
/// things even when files are compared.
constexpr uint32_t ceiling_sender = 0xce11;

/// What the SQLite ceiling inserts, and where.
struct ceiling_plan {
  /// The daemon's database settings (`sqlite_synchronous`, busy timeout),
  /// aimed at the ceiling's own file in the run's directory.
  config::database_section database;
  uint64_t rows = 0;
  /// Shapes the rows: the generator the senders use, so that every column,
  /// `raw` included, is what the journal would store for this run.
  workload_options workload;
  /// The lease the journal gives the events it claims for its instance.
  uint32_t claim_lease_ms = 0;
};

/// The ceiling's plan from the configuration the daemon would run with:
/// the same database settings, with the URL replaced by `file`.
ceiling_plan make_ceiling_plan(const config& daemon_config,
                               const std::string& file, uint64_t rows,
                               const workload_options& workload);

/// What the ceiling measured.
struct ceiling_result {
  std::string path;
  /// Rows the INSERTs reported added.
  uint64_t rows = 0;
  /// Rows in `events` afterwards, counted by a fresh query.
  uint64_t rows_in_file = 0;
  uint64_t commits = 0;
  /// Time inside transactions (BEGIN IMMEDIATE to COMMIT), summed: the
  /// rows are built and parsed outside it.
  double seconds = 0;
  /// The COMMIT statement alone: the WAL write and any checkpoint.
  latency_summary commit;
  /// A whole transaction of `ceiling_batch_rows` inserts.
  latency_summary transaction;
  /// Mean sizes of the envelope bodies generated and of the `raw` column
  /// the daemon's parser cut from them.
  double body_bytes = 0;
  double raw_bytes = 0;
  /// `synchronous` as configured, and as SQLite reports it on the
  /// connection.
  std::string synchronous;
  std::string synchronous_in_effect;
  std::string journal_mode;
  uint64_t database_file_bytes = 0;
  uint64_t wal_bytes = 0;

  double rows_per_s() const {
    return seconds > 0 ? static_cast<double>(rows) / seconds : 0;
  }
};

/// Opens `plan.database` as the daemon opens its own (WAL, the configured
/// `synchronous`), applies the daemon's migrations, and inserts
/// `plan.rows` journal rows with the journal's own INSERT statement through
/// the raw SQLite API, `ceiling_batch_rows` per transaction. Throws on any
/// SQLite error.
ceiling_result run_ceiling(const ceiling_plan& plan);

nlohmann::json to_json(const ceiling_result& c);

} // namespace regevent::bench
