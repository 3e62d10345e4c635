#include "bench/ceiling.hpp"

#include "bench/daemon.hpp"
#include "bench/load.hpp"

#include "http/envelope.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

namespace regevent::bench {

namespace {

// SOCI declares SQLite's API inside this namespace.
namespace lite = sqlite_api;

/// The journal's INSERT, prepared on the raw connection, its parameters
/// looked up by name: should the statement gain or rename a parameter, the
/// ceiling fails loudly instead of inserting NULLs.
class insert_statement {
public:
  explicit insert_statement(lite::sqlite3* db) : db_(db) {
    if (lite::sqlite3_prepare_v2(db, journal_insert_sql(), -1, &stmt_, nullptr)
        != SQLITE_OK)
      throw std::runtime_error(std::string("ceiling cannot prepare the "
                                           "journal's INSERT: ")
                               + lite::sqlite3_errmsg(db));
    if (lite::sqlite3_bind_parameter_count(stmt_) != parameter_count)
      throw std::runtime_error(
          "the journal's INSERT has "
          + std::to_string(lite::sqlite3_bind_parameter_count(stmt_))
          + " parameters; the ceiling binds "
          + std::to_string(parameter_count));
  }
  ~insert_statement() {
    lite::sqlite3_finalize(stmt_);
  }
  insert_statement(const insert_statement&) = delete;
  insert_statement& operator=(const insert_statement&) = delete;

  /// Inserts one row; returns whether it was added (the journal's `fresh`).
  bool insert(const event_record& e, const std::string& owner,
              long long expires) {
    text(":id", e.id);
    integer(":received", e.received);
    integer(":time", e.time);
    text(":action", e.action);
    text(":repository", e.repository);
    text(":tag", e.tag);
    text(":digest", e.digest);
    text(":media_type", e.media_type);
    integer(":size", e.size);
    text(":method", e.method);
    text(":user_agent", e.user_agent);
    text(":actor", e.actor);
    text(":client_addr", e.client_addr);
    text(":source_addr", e.source_addr);
    text(":raw", e.raw);
    text(":claimed_by", owner);
    integer(":claim_expires", expires);
    auto rc = lite::sqlite3_step(stmt_);
    lite::sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("ceiling failed to insert: ")
                               + lite::sqlite3_errmsg(db_));
    return lite::sqlite3_changes(db_) == 1;
  }

private:
  static constexpr int parameter_count = 17;

  int index(const char* name) {
    auto i = lite::sqlite3_bind_parameter_index(stmt_, name);
    if (i == 0)
      throw std::runtime_error(std::string("the journal's INSERT has no ")
                               + name);
    return i;
  }
  // The strings outlive the step: SQLite need not copy them.
  void text(const char* name, const std::string& v) {
    lite::sqlite3_bind_text(stmt_, index(name), v.data(),
                            static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void integer(const char* name, long long v) {
    lite::sqlite3_bind_int64(stmt_, index(name), v);
  }

  lite::sqlite3* db_;
  lite::sqlite3_stmt* stmt_ = nullptr;
};

/// The next `n` rows as the journal would get them: envelopes from the
/// run's generator, cut into records by the daemon's own parser.
std::vector<event_record> next_rows(generator& gen, size_t n,
                                    ceiling_result& sizes) {
  std::vector<event_record> rows;
  rows.reserve(n);
  std::string error;
  for (size_t i = 0; i < n; ++i) {
    auto d = gen.next();
    auto env = parse_envelope(d.body, now_us(), error);
    if (!env || env->events.size() != 1)
      throw std::runtime_error("the daemon's parser rejects a generated "
                               "envelope: "
                               + error);
    sizes.body_bytes += static_cast<double>(d.body.size());
    sizes.raw_bytes += static_cast<double>(env->events[0].raw.size());
    rows.push_back(std::move(env->events[0]));
  }
  return rows;
}

double seconds_between(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string pragma_text(soci::session& sql, const std::string& name) {
  std::string value;
  sql << ("PRAGMA " + name), soci::into(value);
  return value;
}

} // namespace

ceiling_plan make_ceiling_plan(const config& daemon_config,
                               const std::string& file, uint64_t rows,
                               const workload_options& workload) {
  ceiling_plan p;
  p.database = daemon_config.database;
  p.database.url = "sqlite://" + file;
  p.database.parsed = parse_database_url(p.database.url);
  p.rows = rows;
  p.workload = workload;
  p.claim_lease_ms = daemon_config.dispatch.claim_lease_ms;
  return p;
}

ceiling_result run_ceiling(const ceiling_plan& plan) {
  ceiling_result r;
  r.path = plan.database.parsed.path;
  r.synchronous = plan.database.sqlite_synchronous;
  // The daemon's own connection: WAL, `synchronous`, busy handler,
  // journal_size_limit; and its own schema, indexes included.
  database db(plan.database);
  migrate(db);
  auto* handle
      = static_cast<soci::sqlite3_session_backend*>(db.session().get_backend())
            ->conn_;
  insert_statement insert(handle);
  generator gen(plan.workload, ceiling_sender);
  // Claimed for the instance, as the journal claims the events it
  // dispatches at once: a UUID like the daemon's instance id, shaped apart
  // from the event ids.
  const std::string owner
      = "00000000-0000-4000-8000-" + plan.workload.run_tag + "ce11";
  std::vector<float> commit_us, transaction_us;
  for (uint64_t done = 0; done < plan.rows;) {
    auto n = static_cast<size_t>(
        std::min<uint64_t>(ceiling_batch_rows, plan.rows - done));
    auto rows = next_rows(gen, n, r);
    auto expires
        = now_us() + static_cast<long long>(plan.claim_lease_ms) * 1000;
    auto begin = bench_clock::now();
    write_transaction tx(db);
    for (const auto& row : rows)
      if (insert.insert(row, owner, expires))
        ++r.rows;
    auto committing = bench_clock::now();
    tx.commit();
    auto end = bench_clock::now();
    commit_us.push_back(
        static_cast<float>(seconds_between(committing, end) * 1e6));
    transaction_us.push_back(
        static_cast<float>(seconds_between(begin, end) * 1e6));
    r.seconds += seconds_between(begin, end);
    ++r.commits;
    done += n;
  }
  if (plan.rows > 0) {
    r.body_bytes /= static_cast<double>(plan.rows);
    r.raw_bytes /= static_cast<double>(plan.rows);
  }
  r.commit = summarize(std::move(commit_us));
  r.transaction = summarize(std::move(transaction_us));
  long long count = 0;
  db.session() << "SELECT COUNT(*) FROM events", soci::into(count);
  r.rows_in_file = static_cast<uint64_t>(count);
  r.journal_mode = pragma_text(db.session(), "journal_mode");
  // SQLite answers with the level's number: 0 off, 1 normal, 2 full,
  // 3 extra.
  static const char* levels[] = {"off", "normal", "full", "extra"};
  auto level = pragma_text(db.session(), "synchronous");
  if (level.size() == 1 && level[0] >= '0' && level[0] <= '3')
    level = levels[level[0] - '0'];
  r.synchronous_in_effect = level;
  r.database_file_bytes = file_bytes(r.path);
  r.wal_bytes = file_bytes(r.path + "-wal");
  return r;
}

nlohmann::json to_json(const ceiling_result& c) {
  return {{"path", c.path},
          {"rows", c.rows},
          {"rows_in_file", c.rows_in_file},
          {"batch_rows", ceiling_batch_rows},
          {"commits", c.commits},
          {"seconds", c.seconds},
          {"rows_per_s", c.rows_per_s()},
          {"commit_latency", to_json(c.commit)},
          {"transaction_latency", to_json(c.transaction)},
          {"body_bytes_avg", c.body_bytes},
          {"raw_bytes_avg", c.raw_bytes},
          {"synchronous", c.synchronous},
          {"synchronous_in_effect", c.synchronous_in_effect},
          {"journal_mode", c.journal_mode},
          {"database_file_bytes", c.database_file_bytes},
          {"wal_bytes", c.wal_bytes}};
}

} // namespace regevent::bench
