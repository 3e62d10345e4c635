#include "bench/check.hpp"

#include "config/database_url.hpp"
#include "persistence/rows.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <map>
#include <thread>

namespace regevent::bench {

namespace {

void add(check_result& r, std::string what, uint64_t expected,
         uint64_t actual) {
  r.items.push_back({std::move(what), std::to_string(expected),
                     std::to_string(actual), expected == actual});
}

void add_answer_checks(check_result& r, const load_result& load) {
  const auto& l = load.acknowledged;
  add(r, "deliveries answered with another error than 503", 0, load.rejected);
  add(r, "answers that contradict what was sent", 0, load.answer_mismatches);
  // Retries after a transport error may turn an "accepted" into a
  // "duplicate"; the sum is exact either way.
  add(r, "answered accepted + duplicates", l.events + l.duplicates,
      load.answered_accepted + load.answered_duplicates);
  add(r, "answered ignored", 0, load.answered_ignored);
}

} // namespace

bool check_result::ok() const {
  for (const auto& i : items)
    if (!i.ok)
      return false;
  return !items.empty();
}

check_result check_answers(const load_result& load) {
  check_result r;
  add_answer_checks(r, load);
  return r;
}

long long scalar(soci::session& sql, const std::string& query,
                 const std::string& param) {
  long long value = 0;
  soci::indicator ind = soci::i_ok;
  sql << query, soci::use(param), soci::into(value, ind);
  return ind == soci::i_null ? 0 : value;
}

pull_tally tally_pulls(soci::session& sql, const std::string& query,
                       const workload_options& w, const ledger& l) {
  const std::string repos = w.project + "/%";
  std::map<std::string, uint64_t> counted;
  {
    soci::rowset<soci::row> rs = (sql.prepare << query, soci::use(repos));
    for (const auto& row : rs)
      counted[text_at(row, 0)] = static_cast<uint64_t>(int_at(row, 1));
  }
  pull_tally t;
  for (size_t i = 0; i < l.pull_counts.size(); ++i) {
    auto name = repository_name(w, static_cast<uint32_t>(i));
    auto it = counted.find(name);
    uint64_t actual = it == counted.end() ? 0 : it->second;
    uint64_t expected = l.pull_counts[i];
    t.expected += expected;
    t.counted += actual;
    if (actual < expected)
      t.lost += expected - actual;
    else
      t.extra += actual - expected;
    if (actual != expected) {
      if (t.first_wrong.empty())
        t.first_wrong = name + ": expected " + std::to_string(expected)
                        + ", got " + std::to_string(actual);
      ++t.wrong_repositories;
    }
  }
  return t;
}

/// The run's effect marks. A daemon from before schema step 6 (a build of
/// older code, measured side by side) keeps them by event id.
long long count_marks(soci::session& sql, const std::string& ids) {
  long long keyed_by_seq = 0;
  sql << "SELECT COUNT(*) FROM schema_migrations WHERE version = 6",
      soci::into(keyed_by_seq);
  if (keyed_by_seq == 0)
    return scalar(
        sql, "SELECT COUNT(*) FROM event_effects WHERE event_id LIKE :p", ids);
  return scalar(sql,
                "SELECT COUNT(*) FROM effect_marks m JOIN events e ON e.seq "
                "= m.event_seq WHERE e.id LIKE :p",
                ids);
}

void open_database(soci::session& sql, const std::string& url) {
  auto parsed = parse_database_url(url);
  if (parsed.backend == database_url::backend_kind::postgresql)
    sql.open(soci::postgresql, parsed.connection_string);
  else
    sql.open(soci::sqlite3, "db=\"" + parsed.path + "\" timeout=30");
}

check_result check_database(const std::string& db_url,
                            const workload_options& w, const load_result& load,
                            std::chrono::seconds settle) {
  check_result r;
  add_answer_checks(r, load);
  const auto& l = load.acknowledged;
  soci::session sql;
  open_database(sql, db_url);
  const std::string ids = w.run_tag + "-%";
  const std::string repos = w.project + "/%";
  // The dispatcher counts an event done when its effects answered; the
  // journal commits the `done` state right after. Wait for it briefly.
  auto until = bench_clock::now() + settle;
  long long pending = 0;
  for (;;) {
    pending = scalar(sql,
                     "SELECT COUNT(*) FROM events WHERE id LIKE :p AND "
                     "status = 'pending'",
                     ids);
    if (pending == 0 || bench_clock::now() >= until)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  add(r, "journaled events (distinct ids)", l.events,
      scalar(sql, "SELECT COUNT(*) FROM events WHERE id LIKE :p", ids));
  add(r, "events still pending", 0, pending);
  add(r, "events done", l.events,
      scalar(sql,
             "SELECT COUNT(*) FROM events WHERE id LIKE :p AND "
             "status = 'done'",
             ids));
  add(r, "events dead or ignored", 0,
      scalar(sql,
             "SELECT COUNT(*) FROM events WHERE id LIKE :p AND "
             "status IN ('dead', 'ignored')",
             ids));
  auto access_log_rows = scalar(
      sql, "SELECT COUNT(*) FROM access_logs WHERE event_id LIKE :p", ids);
  add(r, "access-log rows", l.events, access_log_rows);
  add(r, "access-log rows (distinct events)", l.events,
      scalar(sql,
             "SELECT COUNT(DISTINCT event_id) FROM access_logs WHERE "
             "event_id LIKE :p",
             ids));
  add(r, "effect completion marks", l.effect_marks, count_marks(sql, ids));
  add(r, "dead letters", 0,
      scalar(sql, "SELECT COUNT(*) FROM dead_letters WHERE event_id LIKE :p",
             ids));
  r.tally = tally_pulls(sql,
                        "SELECT repository, pull_count FROM pull_counts "
                        "WHERE repository LIKE :p",
                        w, l);
  r.tally.access_log_rows = static_cast<uint64_t>(access_log_rows);
  const auto& t = r.tally;
  add(r, "counted pulls (GET, all repositories)", t.expected, t.counted);
  r.items.push_back(
      {"repositories with a wrong pull count", "0",
       std::to_string(t.wrong_repositories)
           + (t.first_wrong.empty() ? "" : " (" + t.first_wrong + ")"),
       t.wrong_repositories == 0});
  uint64_t seen = 0;
  for (bool p : l.seen)
    seen += p ? 1 : 0;
  if (seen > 0)
    add(r, "repositories made visible by events", seen,
        scalar(sql, "SELECT COUNT(*) FROM repositories WHERE name LIKE :p",
               repos));
  return r;
}

} // namespace regevent::bench
