#include "persistence/scan_work_store.hpp"

#include "persistence/catalog.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/rows.hpp"
#include "persistence/scanner_store.hpp"
#include "persistence/webhook_delivery_store.hpp"

#include <soci/soci.h>

#include <stdexcept>

namespace regevent {

namespace {

constexpr const char* unfinished_states = "('Pending', 'Running')";

/// The columns an overview reads, in overview_of's order.
constexpr const char* overview_columns
    = "t.digest, t.report_id, t.report_mime, t.status, t.severity, t.total, "
      "t.fixable, t.summary, t.start_time, t.end_time, t.scanner_name, "
      "t.scanner_vendor, t.scanner_version";

scan_overview_row overview_of(const soci::row& r) {
  scan_overview_row x;
  x.digest = text_at(r, 0);
  x.report_id = text_at(r, 1);
  x.report_mime = text_at(r, 2);
  // Not yet asked: keyed as the report regevent asks for first.
  if (x.report_mime.empty())
    x.report_mime = scan_report_type::harbor_v1;
  x.status = text_at(r, 3);
  x.summary.severity = text_at(r, 4);
  x.summary.total = int_at(r, 5);
  x.summary.fixable = int_at(r, 6);
  x.summary.by_severity = severity_counts(text_at(r, 7));
  x.start_time = int_at(r, 8);
  x.end_time = int_at(r, 9);
  x.scanner_name = text_at(r, 10);
  x.scanner_vendor = text_at(r, 11);
  x.scanner_version = text_at(r, 12);
  return x;
}

} // namespace

std::optional<scan_overview_row> scan_overview_of(database& db, int64_t task) {
  long long id = task;
  soci::row r;
  auto& sql = db.session();
  sql << std::string("SELECT ") + overview_columns
             + " FROM scan_tasks t WHERE t.id = :i",
      soci::use(id), soci::into(r);
  if (!sql.got_data())
    return std::nullopt;
  return overview_of(r);
}

scan_work_store::scan_work_store(database& db, const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

std::vector<scan_job> scan_work_store::claim(timestamp_us now, size_t limit,
                                             timestamp_us lease_until) {
  std::vector<scan_job> out;
  if (limit == 0)
    return out;
  auto& sql = db_.session();
  long long at = now, until = lease_until, n = static_cast<long long>(limit);
  std::vector<long long> due;
  {
    soci::rowset<soci::row> rows
        = (sql.prepare << std::string("SELECT id FROM scan_tasks WHERE status "
                                      "IN ")
                              + unfinished_states
                              + " AND next_attempt_at <= :n AND lease_until "
                                "< :n2 ORDER BY next_attempt_at, id LIMIT :k",
           soci::use(at), soci::use(at), soci::use(n));
    for (const auto& r : rows)
      due.push_back(int_at(r, 0));
  }
  if (due.empty())
    return out;
  write_transaction tx(db_);
  long long candidate = 0;
  // Taken only if still free: another instance may have claimed it since.
  soci::statement take
      = (sql.prepare << std::string("UPDATE scan_tasks SET lease_until = :l, "
                                    "start_time = CASE WHEN start_time = 0 "
                                    "THEN :s ELSE start_time END WHERE id = "
                                    ":i AND status IN ")
                            + unfinished_states + " AND lease_until < :n",
         soci::use(until), soci::use(at), soci::use(candidate), soci::use(at));
  std::vector<long long> ids;
  for (auto id : due) {
    candidate = id;
    take.execute(true);
    if (take.get_affected_rows() == 1)
      ids.push_back(id);
  }
  soci::row r;
  long long id = 0;
  soci::statement details
      = (sql.prepare << "SELECT project, repository, digest, tag, media_type, "
                        "report_id, scanner_uuid, request_id, report_mime, "
                        "submitted_at, attempts FROM scan_tasks WHERE id = :i",
         soci::use(id), soci::into(r));
  scanner_store scanners(db_, secrets_);
  for (auto task : ids) {
    id = task;
    details.execute(true);
    scan_job j;
    j.task_id = task;
    j.lease = until;
    j.project = text_at(r, 0);
    j.repository = text_at(r, 1);
    j.digest = text_at(r, 2);
    j.tag = text_at(r, 3);
    j.media_type = text_at(r, 4);
    j.report_id = text_at(r, 5);
    auto uuid = text_at(r, 6);
    j.request_id = text_at(r, 7);
    j.report_mime = text_at(r, 8);
    j.submitted_at = int_at(r, 9);
    j.attempts = int_at(r, 10);
    try {
      auto scanner = scanners.with_credential(uuid);
      if (!scanner)
        j.unusable = "scanner " + uuid + " was deleted";
      else if (scanner->disabled)
        j.unusable = "scanner " + scanner->name + " is disabled";
      else
        j.scanner = std::move(*scanner);
    } catch (const std::runtime_error& e) {
      // Sealed under another key: no attempt can succeed until it is back.
      j.unusable = e.what();
    }
    out.push_back(std::move(j));
  }
  tx.commit();
  return out;
}

std::vector<int64_t> scan_work_store::renew(
    const std::vector<std::pair<int64_t, timestamp_us>>& held,
    timestamp_us lease_until) {
  std::vector<int64_t> out;
  if (held.empty())
    return out;
  auto& sql = db_.session();
  long long until = lease_until, task = 0, lease = 0;
  write_transaction tx(db_);
  soci::statement move
      = (sql.prepare << std::string("UPDATE scan_tasks SET lease_until = :l "
                                    "WHERE id = :i AND lease_until = :k AND "
                                    "status IN ")
                            + unfinished_states,
         soci::use(until), soci::use(task), soci::use(lease));
  for (const auto& [id, at] : held) {
    task = id;
    lease = at;
    move.execute(true);
    if (move.get_affected_rows() == 1)
      out.push_back(id);
  }
  tx.commit();
  return out;
}

void scan_work_store::record(const std::vector<scan_outcome_record>& outcomes,
                             timestamp_us now) {
  if (outcomes.empty())
    return;
  auto& sql = db_.session();
  write_transaction tx(db_);
  long long task = 0, lease = 0, next = 0, at = now, tries = 0;
  std::string status, request, mime, error;
  // Each update holds only under the claim's lease: a claim that expired
  // may have been taken again, and its newer state must not be overwritten.
  soci::statement accepted
      = (sql.prepare << "UPDATE scan_tasks SET status = 'Running', "
                        "request_id = :r, report_mime = :m, submitted_at = "
                        ":s WHERE id = :t AND lease_until = :l AND status IN "
                        "('Pending', 'Running')",
         soci::use(request), soci::use(mime), soci::use(at), soci::use(task),
         soci::use(lease));
  // A retry gives the claim back: the task is due again at `next`.
  soci::statement retry
      = (sql.prepare << "UPDATE scan_tasks SET status = :s, request_id = :r, "
                        "report_mime = CASE WHEN :m = '' THEN report_mime "
                        "ELSE :m2 END, submitted_at = CASE WHEN :r2 = '' "
                        "THEN 0 WHEN submitted_at = 0 THEN :now ELSE "
                        "submitted_at END, attempts = attempts + :a, "
                        "next_attempt_at = :n, lease_until = 0, error = :e "
                        "WHERE id = :t AND lease_until = :l AND status IN "
                        "('Pending', 'Running')",
         soci::use(status), soci::use(request), soci::use(mime),
         soci::use(mime), soci::use(request), soci::use(at), soci::use(tries), soci::use(next), soci::use(error), soci::use(task),
         soci::use(lease));
  for (const auto& o : outcomes) {
    task = o.task_id;
    lease = o.lease;
    request = o.request_id;
    mime = o.report_mime;
    if (o.attempted && o.status == scan_status::running) {
      accepted.execute(true);
    } else if (!o.attempted || o.status == scan_status::pending) {
      status = o.request_id.empty() ? scan_status::pending
                                    : scan_status::running;
      tries = o.attempted ? 1 : 0;
      next = o.next_attempt_at;
      error = stored_text(o.error);
      retry.execute(true);
    } else {
      end(o, now);
    }
  }
  tx.commit();
}

void scan_work_store::end(const scan_outcome_record& o, timestamp_us now) {
  auto& sql = db_.session();
  long long task = o.task_id, lease = o.lease, at = now;
  long long total = o.summary.total, fixable = o.summary.fixable;
  auto counts = severity_counts_text(o.summary.by_severity);
  auto error = stored_text(o.error);
  soci::statement done
      = (sql.prepare << "UPDATE scan_tasks SET status = :s, report_mime = "
                        "CASE WHEN :m = '' THEN report_mime ELSE :m2 END, "
                        "attempts = attempts + 1, lease_until = 0, end_time = "
                        ":e, error = :x, severity = :v, total = :n, fixable = "
                        ":f, summary = :c, scanner_name = :sn, scanner_vendor "
                        "= :sv, scanner_version = :sr WHERE id = :t AND "
                        "lease_until = :l AND status IN ('Pending', "
                        "'Running')",
         soci::use(o.status), soci::use(o.report_mime),
         soci::use(o.report_mime), soci::use(at), soci::use(error),
         soci::use(o.summary.severity), soci::use(total), soci::use(fixable),
         soci::use(counts), soci::use(o.scanner_name),
         soci::use(o.scanner_vendor), soci::use(o.scanner_version),
         soci::use(task), soci::use(lease));
  done.execute(true);
  if (done.get_affected_rows() != 1)
    return;
  if (o.status == scan_status::success)
    sql << "INSERT INTO scan_reports (task_id, report) VALUES (:t, :r)",
        soci::use(task), soci::use(o.report);
  // This scan is the artifact's report now: the older ended ones of the
  // same scanner go, unless a delivery names one (it reads the scan when
  // it is sent, and a failed one may be retried by hand until the
  // delivery log's retention removes it).
  std::string digest, scanner;
  sql << "SELECT digest, scanner_uuid FROM scan_tasks WHERE id = :t",
      soci::use(task), soci::into(digest), soci::into(scanner);
  const std::string older
      = "SELECT o.id FROM scan_tasks o WHERE o.digest = :d AND "
        "o.scanner_uuid = :s AND o.id < :t AND o.end_time > 0 AND NOT EXISTS "
        "(SELECT 1 FROM webhook_tasks w WHERE w.scan_task = o.id AND "
        "w.scan_task > 0)";
  sql << "DELETE FROM scan_reports WHERE task_id IN (" + older + ")",
      soci::use(digest), soci::use(scanner), soci::use(task);
  sql << "DELETE FROM scan_tasks WHERE id IN (" + older + ")",
      soci::use(digest), soci::use(scanner), soci::use(task);
  // An artifact the scanner cannot read is no scan event.
  if (o.status != scan_status::unsupported)
    queue_webhooks(task, o.status, now);
}

void scan_work_store::queue_webhooks(int64_t task, const std::string& status,
                                     timestamp_us now) {
  auto& sql = db_.session();
  long long x = task, at = now;
  std::string project, repository, tag, digest, trigger;
  sql << "SELECT project, repository, tag, digest, trigger_type FROM "
         "scan_tasks WHERE id = :t",
      soci::use(x), soci::into(project), soci::into(repository),
      soci::into(tag), soci::into(digest), soci::into(trigger);
  std::string type = status == scan_status::success ? "SCANNING_COMPLETED"
                                                    : "SCANNING_FAILED";
  auto targets = subscribed_targets(db_, project, type);
  // Harbor's operator of a scan on push.
  std::string op = trigger == "event" ? "auto" : "manual";
  for (const auto& [policy, position] : targets) {
    // Stable per scan and target: a receiver drops a second delivery.
    auto id = "msg_scan_" + std::to_string(task) + "_" + std::to_string(policy)
              + "_" + std::to_string(position);
    long long p = policy, q = position;
    sql << "INSERT INTO webhook_tasks (webhook_id, event_seq, policy_id, "
           "target_position, event_type, project, repository, tag, digest, "
           "operator, occur_at, next_attempt_at, created_at, updated_at, "
           "scan_task) VALUES (:w, 0, :p, :q, :t, :j, :r, :g, :d, :o, :a, "
           ":n, :c, :u, :x) ON CONFLICT (webhook_id) DO NOTHING",
        soci::use(id), soci::use(p), soci::use(q), soci::use(type),
        soci::use(project), soci::use(repository), soci::use(tag),
        soci::use(digest), soci::use(op), soci::use(at), soci::use(at),
        soci::use(at), soci::use(at), soci::use(x);
  }
}

int64_t scan_work_store::unfinished() {
  long long n = 0;
  db_.session() << std::string("SELECT COUNT(*) FROM scan_tasks WHERE status "
                               "IN ")
                       + unfinished_states,
      soci::into(n);
  return n;
}

std::optional<std::pair<std::string, std::string>>
scan_work_store::resolve(const artifact_reference& artifact) {
  auto& sql = db_.session();
  auto found = live_digest(db_, artifact.repository, artifact.reference);
  if (!found)
    return std::nullopt;
  std::string digest = *found, media_type;
  soci::indicator ind = soci::i_null;
  sql << "SELECT media_type FROM artifacts WHERE repository = :r AND digest "
         "= :d AND alive_at > deleted_at",
      soci::use(artifact.repository), soci::use(digest),
      soci::into(media_type, ind);
  if (ind != soci::i_ok)
    return std::nullopt;
  return std::make_pair(digest, media_type);
}

scan_request_result
scan_work_store::request_scan(const artifact_reference& artifact,
                              timestamp_us now) {
  scan_request_result out;
  write_transaction tx(db_);
  auto found = resolve(artifact);
  if (!found) {
    out.outcome = scan_request_outcome::no_artifact;
    return out;
  }
  auto project = project_of_repository(artifact.repository);
  auto scanner = project_scanner_uuid(db_, project);
  if (!scanner) {
    out.outcome = scan_request_outcome::no_scanner;
    return out;
  }
  auto& sql = db_.session();
  std::string running;
  soci::indicator ind = soci::i_null;
  sql << std::string("SELECT report_id FROM scan_tasks WHERE digest = :d AND "
                     "scanner_uuid = :s AND status IN ")
             + unfinished_states + " ORDER BY id LIMIT 1",
      soci::use(found->first), soci::use(*scanner), soci::into(running, ind);
  if (ind == soci::i_ok) {
    out.outcome = scan_request_outcome::already_running;
    out.report_id = running;
    return out;
  }
  std::string tag = is_digest_reference(artifact.reference) ? std::string()
                                                  : artifact.reference;
  out.report_id = queue_scan_task(db_, 0, "manual", project,
                                  artifact.repository, found->first, tag,
                                  found->second, *scanner, now);
  tx.commit();
  if (out.report_id.empty())
    // Another instance queued one since the read above.
    out.outcome = scan_request_outcome::already_running;
  return out;
}

std::vector<scan_overview_row>
scan_work_store::overviews(const std::string& project,
                           const std::vector<std::string>& digests) {
  std::vector<scan_overview_row> out;
  if (digests.empty())
    return out;
  auto scanner = project_scanner_uuid(db_, project);
  if (!scanner)
    return out;
  auto& sql = db_.session();
  std::string digest;
  soci::row r;
  // The newest scan: a running rescan shows as running, as in Harbor.
  soci::statement latest
      = (sql.prepare << std::string("SELECT ") + overview_columns
                            + " FROM scan_tasks t WHERE t.digest = :d AND "
                              "t.scanner_uuid = :s ORDER BY t.id DESC LIMIT 1",
         soci::use(digest), soci::use(*scanner), soci::into(r));
  for (const auto& d : digests) {
    digest = d;
    latest.execute(true);
    if (sql.got_data())
      out.push_back(overview_of(r));
  }
  return out;
}

std::optional<scan_report_doc>
scan_work_store::report(const artifact_reference& artifact) {
  auto found = resolve(artifact);
  if (!found)
    return std::nullopt;
  scan_report_doc out;
  auto scanner = project_scanner_uuid(
      db_, project_of_repository(artifact.repository));
  if (!scanner)
    return out;
  auto& sql = db_.session();
  soci::indicator ind = soci::i_null;
  sql << "SELECT t.report_mime, r.report FROM scan_tasks t JOIN scan_reports "
         "r ON r.task_id = t.id WHERE t.digest = :d AND t.scanner_uuid = :s "
         "AND t.status = 'Success' ORDER BY t.id DESC LIMIT 1",
      soci::use(found->first), soci::use(*scanner), soci::into(out.report_mime),
      soci::into(out.report, ind);
  if (ind != soci::i_ok)
    return scan_report_doc{};
  return out;
}

std::optional<scan_log> scan_work_store::log(const scan_log_query& q) {
  auto found = resolve(q.artifact);
  if (!found)
    return std::nullopt;
  auto& sql = db_.session();
  std::string status, error, request, trigger;
  long long created = 0, started = 0, ended = 0, attempts = 0, total = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT status, error, request_id, trigger_type, create_time, "
         "start_time, end_time, attempts, total FROM scan_tasks WHERE "
         "digest = :d AND report_id = :i",
      soci::use(found->first), soci::use(q.report_id), soci::into(status, ind),
      soci::into(error), soci::into(request), soci::into(trigger),
      soci::into(created), soci::into(started), soci::into(ended),
      soci::into(attempts), soci::into(total);
  if (ind != soci::i_ok)
    return std::nullopt;
  scan_log out;
  auto line = [&out](timestamp_us t, const std::string& text) {
    out.text += format_rfc3339(t) + " " + text + "\n";
  };
  line(created, "scan of " + q.artifact.repository + "@" + found->first
                    + " queued (" + trigger + ")");
  if (started > 0)
    line(started, "first attempt");
  if (!request.empty())
    line(started, "accepted by the adapter as scan request " + request);
  if (!error.empty())
    line(ended > 0 ? ended : started,
         (ended > 0 ? "" : "last attempt failed, retrying: ") + error);
  if (ended > 0)
    line(ended, status + " after " + std::to_string(attempts) + " attempt(s)"
                    + (status == scan_status::success
                           ? ", " + std::to_string(total)
                                 + " vulnerabilities"
                           : std::string()));
  else
    line(now_us(), "status " + status);
  return out;
}

} // namespace regevent
