#include "persistence/journal_store.hpp"

#include "persistence/database.hpp"

#include "persistence/multi_row.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace regevent {

namespace {

constexpr const char* journal_insert_head
    = "INSERT INTO events (id, received_at, event_time, action, repository, "
      "tag, digest, media_type, size, method, user_agent, actor, "
      "client_addr, source_addr, raw, claimed_by, claim_expires)";
constexpr const char* journal_insert_tail = "ON CONFLICT (id) DO NOTHING";

} // namespace

const char* journal_insert_sql() {
  static const std::string one_row
      = std::string(journal_insert_head)
        + " VALUES (:id, :received, :time, :action, :repository, :tag, "
          ":digest, :media_type, :size, :method, :user_agent, :actor, "
          ":client_addr, :source_addr, :raw, :claimed_by, :claim_expires) "
        + journal_insert_tail;
  return one_row.c_str();
}

struct journal_store::impl {
  explicit impl(database& db)
      : db(db),
        sql(db.session()),
        insert(sql, journal_insert_head,
               {column_type::text, column_type::integer, column_type::integer,
                column_type::text, column_type::text, column_type::text,
                column_type::text, column_type::text, column_type::integer,
                column_type::text, column_type::text, column_type::text,
                column_type::text, column_type::text, column_type::text,
                column_type::text, column_type::integer},
               journal_insert_tail, "id, seq",
               {column_type::text, column_type::integer}) {
    update = (sql.prepare << "UPDATE events SET status = :status, "
                             "reason = :reason, finished_at = :now, "
                             "claimed_by = '' WHERE id = :id AND status = "
                             "'pending'",
              soci::use(upd.status), soci::use(upd.reason), soci::use(now),
              soci::use(upd.event_id));
  }

  database& db;
  soci::session& sql;
  /// Appends report back the ids they inserted, with their seq.
  multi_row_insert insert;
  std::vector<std::string> inserted_ids;
  std::vector<long long> inserted_seqs;
  // Bound variables of the prepared statements.
  long long now = 0;
  status_update upd;
  soci::statement update{sql};
};

journal_store::journal_store(database& db)
    : impl_(std::make_unique<impl>(db)) {}

journal_store::~journal_store() = default;

void journal_store::append(const std::vector<event_record>& events,
                           const std::string& claim_owner,
                           timestamp_us claim_expires, std::vector<bool>& fresh,
                           std::vector<long long>* seqs) {
  auto& d = *impl_;
  fresh.assign(events.size(), false);
  if (seqs)
    seqs->assign(events.size(), 0);
  long long expires = claim_owner.empty() ? 0 : claim_expires;
  for (const auto& e : events)
    d.insert.text(e.id)
        .integer(e.received)
        .integer(e.time)
        .text(e.action)
        .text(e.repository)
        .text(e.tag)
        .text(e.digest)
        .text(e.media_type)
        .integer(e.size)
        .text(e.method)
        .text(e.user_agent)
        .text(e.actor)
        .text(e.client_addr)
        .text(e.source_addr)
        .text(e.raw)
        .text(claim_owner)
        .integer(expires);
  d.inserted_ids.clear();
  d.inserted_seqs.clear();
  d.insert.execute(&d.inserted_ids, &d.inserted_seqs);
  // The first delivery of an id in the batch is the one journaled.
  std::unordered_map<std::string, long long> inserted;
  for (size_t i = 0; i < d.inserted_ids.size(); ++i)
    inserted.emplace(std::move(d.inserted_ids[i]), d.inserted_seqs[i]);
  for (size_t i = 0; i < events.size() && !inserted.empty(); ++i) {
    auto it = inserted.find(events[i].id);
    if (it == inserted.end())
      continue;
    fresh[i] = true;
    if (seqs)
      (*seqs)[i] = it->second;
    inserted.erase(it);
  }
}

journal_store::status_counts
journal_store::update_status(const std::vector<status_update>& updates,
                             timestamp_us now) {
  auto& d = *impl_;
  d.now = now;
  status_counts moved{};
  for (const auto& u : updates) {
    d.upd = u;
    d.update.execute(true);
    if (d.update.get_affected_rows() > 0)
      for (size_t i = 0; i < moved.size(); ++i)
        if (u.status == event_status_names[i])
          ++moved[i];
  }
  return moved;
}

journal_store::status_counts journal_store::count_by_status() {
  status_counts counts{};
  soci::rowset<soci::row> rs
      = (impl_->sql.prepare << "SELECT status, COUNT(*) FROM events "
                               "GROUP BY status");
  for (const auto& r : rs) {
    auto s = text_at(r, 0);
    for (size_t i = 0; i < counts.size(); ++i)
      if (s == event_status_names[i])
        counts[i] = int_at(r, 1);
  }
  return counts;
}

std::optional<replay_result>
journal_store::replay_dead_letter(long long id, timestamp_us now) {
  auto& sql = impl_->sql;
  std::string event_id;
  soci::indicator ind = soci::i_null;
  sql << "SELECT event_id FROM dead_letters WHERE id = :i", soci::use(id),
      soci::into(event_id, ind);
  if (!sql.got_data() || ind == soci::i_null)
    return std::nullopt;
  long long at = now;
  sql << "UPDATE dead_letters SET replayed_at = :t WHERE id = :i",
      soci::use(at), soci::use(id);
  soci::statement st = (sql.prepare << "UPDATE events SET status = "
                                       "'pending', reason = '', claimed_by = "
                                       "'', claim_expires = 0 WHERE id = :e "
                                       "AND status = 'dead'",
                        soci::use(event_id));
  st.execute(true);
  return replay_result{id, event_id, st.get_affected_rows() > 0};
}

void journal_store::add_dead_letter(const dead_letter& x, timestamp_us now) {
  long long t = now;
  int attempts = static_cast<int>(x.attempts);
  impl_->sql << "INSERT INTO dead_letters (event_id, effect, error, attempts, "
                "created_at) VALUES (:e, :f, :err, :a, :t)",
      soci::use(x.event_id), soci::use(x.effect), soci::use(x.error),
      soci::use(attempts), soci::use(t);
}

uint64_t journal_store::count_pending() {
  long long n = 0;
  long long claimed = 0;
  impl_->sql << "SELECT COUNT(*) FROM events WHERE status = 'pending' AND "
                "claimed_by = ''",
      soci::into(n);
  impl_->sql << "SELECT COUNT(*) FROM events WHERE status = 'pending' AND "
                "claimed_by <> ''",
      soci::into(claimed);
  n += claimed;
  return static_cast<uint64_t>(n);
}

namespace {

/// Claims the rows of `candidates` (a SELECT of seq), answering the claimed
/// rows with their seq. One statement for both backends (both support
/// UPDATE ... RETURNING); only PostgreSQL has row locks to skip, SQLite has
/// a single writer.
template<class... Uses>
void claim_where(database& db, const std::string& candidates,
                 std::vector<std::pair<long long, event_record>>& rows,
                 Uses&&... uses) {
  const std::string query
      = "UPDATE events SET claimed_by = :owner, claim_expires = :expires "
        "WHERE seq IN ("
        + candidates + (db.is_sqlite() ? "" : " FOR UPDATE SKIP LOCKED")
        + ") RETURNING id, received_at, event_time, action, repository, tag, "
          "digest, media_type, size, method, user_agent, actor, client_addr, "
          "source_addr, seq";
  soci::rowset<soci::row> rs
      = (db.session().prepare << query, ..., std::forward<Uses>(uses));
  for (const auto& r : rs) {
    event_record x;
    x.id = text_at(r, 0);
    x.received = int_at(r, 1);
    x.time = int_at(r, 2);
    x.action = text_at(r, 3);
    x.repository = text_at(r, 4);
    x.tag = text_at(r, 5);
    x.digest = text_at(r, 6);
    x.media_type = text_at(r, 7);
    x.size = int_at(r, 8);
    x.method = text_at(r, 9);
    x.user_agent = text_at(r, 10);
    x.actor = text_at(r, 11);
    x.client_addr = text_at(r, 12);
    x.source_addr = text_at(r, 13);
    x.seq = int_at(r, 14);
    rows.emplace_back(x.seq, std::move(x));
  }
}

} // namespace

// The WHERE terms match the partial indexes' (migration 4) word for word,
// so that each query reads only the rows it can claim.
const char* const journal_store::unclaimed_candidates
    = "SELECT seq FROM events WHERE status = 'pending' AND claimed_by = '' "
      "ORDER BY seq LIMIT :n";
const char* const journal_store::stale_candidates
    = "SELECT seq FROM events WHERE status = 'pending' AND claimed_by <> '' "
      "AND (claim_expires < :now OR claimed_by NOT IN (SELECT id FROM "
      "instances WHERE heartbeat_at >= :alive)) ORDER BY seq LIMIT :n";

std::vector<event_record>
journal_store::claim(const std::string& owner, timestamp_us now,
                     timestamp_us expires, timestamp_us alive_since,
                     size_t limit, claim_scope scope) {
  auto& db = impl_->db;
  long long n = static_cast<long long>(limit), t = now, e = expires,
            alive = alive_since;
  std::vector<std::pair<long long, event_record>> rows;
  claim_where(db, unclaimed_candidates, rows, soci::use(owner), soci::use(e),
              soci::use(n));
  if (scope == claim_scope::unclaimed_and_stale && rows.size() < limit) {
    long long left = n - static_cast<long long>(rows.size());
    claim_where(db, stale_candidates, rows, soci::use(owner), soci::use(e),
                soci::use(t), soci::use(alive), soci::use(left));
  }
  // RETURNING gives no order guarantee.
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<event_record> result;
  result.reserve(rows.size());
  for (auto& r : rows)
    result.push_back(std::move(r.second));
  return result;
}

void journal_store::heartbeat(const std::string& owner, timestamp_us now) {
  long long t = now;
  impl_->sql << "INSERT INTO instances (id, started_at, heartbeat_at) VALUES "
                "(:i, :s, :h) ON CONFLICT (id) DO UPDATE SET heartbeat_at = "
                "excluded.heartbeat_at",
      soci::use(owner), soci::use(t), soci::use(t);
}

void journal_store::forget_instance(const std::string& owner) {
  impl_->sql << "DELETE FROM instances WHERE id = :i", soci::use(owner);
}

uint64_t journal_store::release(const std::string& owner) {
  soci::statement st
      = (impl_->sql.prepare << "UPDATE events SET claimed_by = '', "
                               "claim_expires = 0 WHERE claimed_by = :o AND "
                               "status = 'pending' AND claimed_by <> ''",
         soci::use(owner));
  st.execute(true);
  return static_cast<uint64_t>(st.get_affected_rows());
}

namespace {

/// The last seq of the contiguous rows after `cursor` (at most `limit`)
/// received before `cutoff`, and whether the walk met a row at or after
/// the cutoff or the end of the table. Walks the primary key: no index of
/// its own to maintain on the ingest path.
std::pair<long long, bool> range_before(soci::session& sql, long long cursor,
                                        long long cutoff, long long limit) {
  soci::rowset<soci::row> rs
      = (sql.prepare << "SELECT seq, received_at FROM events WHERE seq > :c "
                        "ORDER BY seq LIMIT :n",
         soci::use(cursor), soci::use(limit));
  long long last = cursor;
  long long seen = 0;
  for (const auto& r : rs) {
    if (int_at(r, 1) >= cutoff)
      return {last, true};
    last = int_at(r, 0);
    ++seen;
  }
  return {last, seen < limit};
}

constexpr const char* finished_in_range
    = "seq > :lo AND seq <= :hi AND status IN ('done', 'ignored')";

} // namespace

journal_store::retention_step
journal_store::step_over_finished(long long cursor, timestamp_us cutoff,
                                  long long limit, bool forget) {
  auto& sql = impl_->sql;
  auto [hi, done] = range_before(sql, cursor, cutoff, limit);
  if (hi == cursor)
    return {cursor, 0, done};
  // Compaction skips rows a step before compacted (`raw <> ''`: after a
  // restart the walk starts again from the first row); forgetting takes
  // every finished row, compacted or not.
  const std::string rows
      = std::string(finished_in_range) + (forget ? "" : " AND raw <> ''");
  sql << "DELETE FROM effect_marks WHERE event_seq IN (SELECT seq FROM "
         "events WHERE "
             + rows + ")",
      soci::use(cursor, "lo"), soci::use(hi, "hi");
  status_counts removed{};
  if (forget) {
    // What goes, by status, for the writer's counts (same transaction).
    soci::rowset<soci::row> rs
        = (sql.prepare << "SELECT status, COUNT(*) FROM events WHERE " + rows
                              + " GROUP BY status",
           soci::use(cursor, "lo"), soci::use(hi, "hi"));
    for (const auto& r : rs) {
      auto s = text_at(r, 0);
      for (size_t i = 0; i < removed.size(); ++i)
        if (s == event_status_names[i])
          removed[i] = int_at(r, 1);
    }
  }
  soci::statement st
      = (sql.prepare << (forget ? "DELETE FROM events WHERE "
                                : "UPDATE events SET raw = '' WHERE ")
                            + rows,
         soci::use(cursor, "lo"), soci::use(hi, "hi"));
  st.execute(true);
  return {hi, st.get_affected_rows(), done, removed};
}

journal_store::retention_step
journal_store::compact_finished(long long cursor, timestamp_us cutoff,
                                long long limit) {
  return step_over_finished(cursor, cutoff, limit, false);
}

journal_store::retention_step
journal_store::forget_finished(long long cursor, timestamp_us cutoff,
                               long long limit) {
  return step_over_finished(cursor, cutoff, limit, true);
}

uint64_t journal_store::release_all() {
  soci::statement st
      = (impl_->sql.prepare << "UPDATE events SET claimed_by = '', "
                               "claim_expires = 0 WHERE status = 'pending' "
                               "AND claimed_by <> ''");
  st.execute(true);
  return static_cast<uint64_t>(st.get_affected_rows());
}

} // namespace regevent
