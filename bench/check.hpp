#pragma once

#include "bench/load.hpp"
#include "bench/workload.hpp"

#include <string>
#include <vector>

namespace soci {
class session;
}

namespace regevent::bench {

/// One comparison between what the run sent and what the database holds.
struct check_item {
  std::string what;
  std::string expected;
  std::string actual;
  bool ok = false;
};

struct check_result {
  std::vector<check_item> items;
  bool ok() const;
};

/// Opens `url` (`sqlite://FILE` or `postgresql://...`) as the check reads
/// it.
void open_database(soci::session& sql, const std::string& url);

/// Compares the database (`sqlite://FILE` or `postgresql://...`) with the
/// run's ledger: pull counts per repository,
/// one access-log row per kept event, one completion mark per (event,
/// effect), duplicates applied once, nothing pending or dead, and the
/// answers the senders got. Waits up to `settle` for the journal's final
/// states, which are committed shortly after the effects.
check_result
check_database(const std::string& db_url, const workload_options& workload,
               const load_result& load, std::chrono::seconds settle);

/// Only the answers (no database: --url without --db).
check_result check_answers(const load_result& load);

} // namespace regevent::bench
