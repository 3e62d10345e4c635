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

/// Pull counts summed over the run's repositories, as the check found
/// them: what a side-by-side report puts beside another daemon's.
struct pull_tally {
  uint64_t expected = 0;
  uint64_t counted = 0;
  /// Per repository, acknowledged pulls not counted, and pulls counted
  /// beyond those acknowledged, summed.
  uint64_t lost = 0;
  uint64_t extra = 0;
  uint64_t wrong_repositories = 0;
  /// The first repository with a wrong count, and its numbers.
  std::string first_wrong;
  uint64_t access_log_rows = 0;
};

struct check_result {
  std::vector<check_item> items;
  pull_tally tally;
  bool ok() const;
};

/// The one number `query` returns with its parameter bound to `param`
/// (NULL reads as 0).
long long scalar(soci::session& sql, const std::string& query,
                 const std::string& param);

/// Compares, repository by repository, the pulls acknowledged in `l` with
/// the counts `query` reads: (repository name, count) rows of the
/// repositories whose names are LIKE its parameter `:p`.
pull_tally tally_pulls(soci::session& sql, const std::string& query,
                       const workload_options& w, const ledger& l);

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
