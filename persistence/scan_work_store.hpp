#pragma once

#include "persistence/scan.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

class database;
class secret_box;

/// The scanner `project` scans with: its own while that is registered,
/// else the default; nothing when neither exists. Reads in the open
/// session.
std::optional<std::string> project_scanner_uuid(database& db,
                                                const std::string& project);

/// Writes a pending scan task in the open transaction and returns its
/// report id. `event_seq` 0 is a manual scan; a push's task is written
/// once however often its event is applied. Empty when nothing was
/// written: the event's task exists, or a scan of the digest by that
/// scanner is queued or running.
std::string queue_scan_task(database& db, int64_t event_seq,
                            const std::string& trigger,
                            const std::string& project,
                            const std::string& repository,
                            const std::string& digest, const std::string& tag,
                            const std::string& media_type,
                            const std::string& scanner_uuid, timestamp_us now);

/// The overview of scan task `task`; nullopt when it is gone. Reads in the
/// open session.
std::optional<scan_overview_row> scan_overview_of(database& db, int64_t task);

/// The SQL of scanning: claiming due scan tasks for the scan workers,
/// renewing and recording them (with the SCANNING_* webhook deliveries of
/// a scan's end, in the same transaction), manual scans, and what the
/// management API shows of the reports. Statements throw soci errors.
class scan_work_store {
public:
  scan_work_store(database& db, const secret_box& secrets);

  /// Takes up to `limit` due tasks, oldest first, and leases them until
  /// `lease_until`; a task the adapter already accepted comes back with
  /// its request id, to be polled rather than asked again. Instances
  /// sharing PostgreSQL never take the same one.
  std::vector<scan_job> claim(timestamp_us now, size_t limit,
                              timestamp_us lease_until);

  /// Moves each held claim's lease (task id, lease) to `lease_until`;
  /// returns the ids still held.
  std::vector<int64_t>
  renew(const std::vector<std::pair<int64_t, timestamp_us>>& held,
        timestamp_us lease_until);

  /// Writes outcomes, each only under its claim's lease. An end keeps the
  /// report, drops the older ended scans of the same artifact and scanner
  /// and queues the SCANNING_COMPLETED or SCANNING_FAILED deliveries.
  void record(const std::vector<scan_outcome_record>& outcomes,
              timestamp_us now);

  /// Tasks not ended (the queue depth).
  int64_t unfinished();

  /// Queues a manual scan of an artifact by its project's scanner, unless
  /// one of it by that scanner is queued or running.
  scan_request_result request_scan(const artifact_reference& artifact,
                                   timestamp_us now);

  /// The latest scan of each of `digests` by `project`'s scanner.
  std::vector<scan_overview_row>
  overviews(const std::string& project, const std::vector<std::string>& digests);

  /// The latest successful report of an artifact by its project's
  /// scanner; nullopt when the artifact is unknown, an empty one when it
  /// has none.
  std::optional<scan_report_doc> report(const artifact_reference& artifact);

  /// A scan's log (what happened, or why it failed or was skipped);
  /// nullopt when the artifact has no scan with that report id.
  std::optional<scan_log> log(const scan_log_query& q);

private:
  /// The digest and media type of a live artifact, by digest or tag.
  std::optional<std::pair<std::string, std::string>>
  resolve(const artifact_reference& artifact);
  void end(const scan_outcome_record& o, timestamp_us now);
  void queue_webhooks(int64_t task, const std::string& status,
                      timestamp_us now);

  database& db_;
  const secret_box& secrets_;
};

} // namespace regevent
