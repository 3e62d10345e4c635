#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/rows.hpp"
#include "persistence/scan_work_store.hpp"
#include "persistence/scanner_store.hpp"

#include <soci/soci.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace regevent {

namespace {

/// The outbox of scanning: one scan task for each fresh manifest push into
/// a project with auto-scan that has a scanner (its own, or the default),
/// in the transaction that writes the event's completion mark, so that a
/// push is scanned once and a crash loses no scan. An index is queued too:
/// the worker records why it is not scanned, and its platform manifests,
/// each pushed by digest before it, are scanned on their own pushes.
class scan_task_store : public effect_store {
public:
  explicit scan_task_store(database& db)
      : effect_store(db, effect_kind::scanning) {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    auto now = now_us();
    // Per batch, what each project asks for: pushes come in bursts into
    // few projects.
    std::map<std::string, std::optional<std::string>> scanner_of;
    for (const auto* p : fresh) {
      const auto& e = p->event;
      if (e.action != "push" || e.digest.empty())
        continue;
      auto it = scanner_of.find(p->project);
      if (it == scanner_of.end())
        it = scanner_of.emplace(p->project, auto_scanner(p->project)).first;
      if (!it->second)
        continue;
      queue_scan_task(db_, e.seq, "event", p->project, e.repository, e.digest,
                      e.tag, e.media_type, *it->second, now);
    }
  }

private:
  /// The scanner of a project with auto-scan on; nothing when it is off or
  /// no scanner is registered (Harbor then scans nothing either).
  std::optional<std::string> auto_scanner(const std::string& project) {
    auto& sql = db_.session();
    int auto_scan = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT auto_scan FROM projects WHERE name = :p", soci::use(project),
        soci::into(auto_scan, ind);
    if (ind != soci::i_ok || auto_scan == 0)
      return std::nullopt;
    return project_scanner_uuid(db_, project);
  }
};

} // namespace

std::optional<std::string> project_scanner_uuid(database& db,
                                                const std::string& project) {
  auto& sql = db.session();
  std::string uuid;
  soci::indicator ind = soci::i_null;
  // The project's own choice while it is registered, else the default.
  sql << "SELECT s.uuid FROM project_scanners p JOIN scanners s ON s.uuid = "
         "p.scanner_uuid WHERE p.project = :p",
      soci::use(project), soci::into(uuid, ind);
  if (ind == soci::i_ok && !uuid.empty())
    return uuid;
  ind = soci::i_null;
  sql << "SELECT uuid FROM scanners WHERE is_default = 1",
      soci::into(uuid, ind);
  if (ind == soci::i_ok && !uuid.empty())
    return uuid;
  return std::nullopt;
}

std::string queue_scan_task(database& db, int64_t event_seq,
                            const std::string& trigger,
                            const std::string& project,
                            const std::string& repository,
                            const std::string& digest, const std::string& tag,
                            const std::string& media_type,
                            const std::string& scanner_uuid, timestamp_us now) {
  auto report_id = new_uuid();
  long long seq = event_seq, at = now;
  std::string pending = scan_status::pending;
  // Nothing when the event's task exists (a redelivery), or when a scan of
  // the digest by this scanner is queued or running (the same bytes
  // pushed under several tags at once, a scan by hand racing a push):
  // the unique indexes keep one, on every instance.
  soci::statement insert
      = (db.session().prepare
             << "INSERT INTO scan_tasks (event_seq, trigger_type, project, "
                "repository, digest, tag, media_type, scanner_uuid, "
                "report_id, status, next_attempt_at, create_time) VALUES "
                "(:e, :t, :p, :r, :d, :g, :m, :s, :i, :st, :n, :c) ON "
                "CONFLICT DO NOTHING",
         soci::use(seq), soci::use(trigger), soci::use(project),
         soci::use(repository), soci::use(digest), soci::use(tag),
         soci::use(media_type), soci::use(scanner_uuid), soci::use(report_id),
         soci::use(pending), soci::use(at), soci::use(at));
  insert.execute(true);
  return insert.get_affected_rows() == 1 ? report_id : std::string();
}

std::unique_ptr<effect_store> make_scan_task_store(database& db) {
  return std::make_unique<scan_task_store>(db);
}

} // namespace regevent
