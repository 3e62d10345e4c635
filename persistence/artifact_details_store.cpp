#include "persistence/artifact_details_store.hpp"

#include "config/defaults.hpp"
#include "persistence/database.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

namespace regevent {

artifact_details_store::artifact_details_store(database& db) : db_(db) {}

std::vector<artifact_details_job>
artifact_details_store::due(timestamp_us now, size_t limit,
                            uint32_t max_attempts) {
  std::vector<artifact_details_job> out;
  if (limit == 0)
    return out;
  long long at = now, n = static_cast<long long>(limit),
            cap = static_cast<long long>(max_attempts);
  soci::rowset<soci::row> rows
      = (db_.session().prepare
             << "SELECT a.repository, a.digest, a.media_type, "
                "COALESCE(d.attempts, 0) FROM artifacts a LEFT JOIN "
                "artifact_details d ON d.repository = a.repository AND "
                "d.digest = a.digest WHERE a.alive_at > a.deleted_at AND "
                "(d.status IS NULL OR (d.status = 'failed' AND "
                "d.next_attempt_at <= :now AND d.attempts < :cap)) ORDER BY "
                "a.id DESC LIMIT :n",
         soci::use(at), soci::use(cap), soci::use(n));
  for (const auto& r : rows) {
    artifact_details_job j;
    j.repository = text_at(r, 0);
    j.digest = text_at(r, 1);
    j.media_type = text_at(r, 2);
    j.attempts = int_at(r, 3);
    out.push_back(std::move(j));
  }
  return out;
}

void artifact_details_store::record(
    const std::vector<artifact_details_record>& outcomes, timestamp_us now) {
  if (outcomes.empty())
    return;
  auto& sql = db_.session();
  write_transaction tx(db_);
  artifact_details_record x;
  long long size = 0, next = 0, at = now;
  std::string error;
  soci::statement done
      = (sql.prepare
             << "INSERT INTO artifact_details (repository, digest, status, "
                "config_media_type, artifact_type, extra_attrs, annotations, "
                "refs, size, attempts, next_attempt_at, error, fetched_at) "
                "VALUES (:r, :d, 'done', :cm, :at, :ea, :an, :rf, :sz, 0, 0, "
                "'', :f) ON CONFLICT (repository, digest) DO UPDATE SET "
                "status = 'done', config_media_type = excluded."
                "config_media_type, artifact_type = excluded.artifact_type, "
                "extra_attrs = excluded.extra_attrs, annotations = "
                "excluded.annotations, refs = excluded.refs, size = "
                "excluded.size, next_attempt_at = 0, error = '', fetched_at "
                "= excluded.fetched_at",
         soci::use(x.repository), soci::use(x.digest),
         soci::use(x.config_media_type), soci::use(x.artifact_type),
         soci::use(x.extra_attrs), soci::use(x.annotations), soci::use(x.refs),
         soci::use(size), soci::use(at));
  soci::statement failed
      = (sql.prepare
             << "INSERT INTO artifact_details (repository, digest, status, "
                "attempts, next_attempt_at, error, fetched_at) VALUES (:r, "
                ":d, 'failed', 1, :n, :e, :f) ON CONFLICT (repository, "
                "digest) DO UPDATE SET status = 'failed', attempts = "
                "artifact_details.attempts + 1, next_attempt_at = "
                "excluded.next_attempt_at, error = excluded.error, "
                "fetched_at = excluded.fetched_at WHERE "
                "artifact_details.status <> 'done'",
         soci::use(x.repository), soci::use(x.digest), soci::use(next),
         soci::use(error), soci::use(at));
  for (const auto& o : outcomes) {
    x = o;
    if (o.outcome == artifact_details_outcome::done) {
      size = o.size;
      done.execute(true);
    } else {
      next = o.next_attempt_at;
      error = stored_text(o.error, defaults::artifact_details::error_limit);
      failed.execute(true);
    }
  }
  tx.commit();
}

} // namespace regevent
