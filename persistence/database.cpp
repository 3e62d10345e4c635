#include "persistence/database.hpp"

#include "config/defaults.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace regevent {

namespace {

/// SQLite's default busy handler sleeps in steps of up to 100 ms, which
/// leaves the database idle while writers queue. Waiting in short, growing
/// steps keeps one writer after the other moving.
int short_busy_wait(void* timeout_ms, int attempt) {
  auto limit = *static_cast<uint32_t*>(timeout_ms);
  namespace d = defaults::database;
  auto step_us = std::min<uint32_t>(
      d::busy_wait_first_us << std::min(attempt, 5), d::busy_wait_max_us);
  static thread_local std::chrono::steady_clock::time_point started;
  if (attempt == 0)
    started = std::chrono::steady_clock::now();
  if (std::chrono::steady_clock::now() - started
      > std::chrono::milliseconds(limit))
    return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(step_us));
  return 1;
}

} // namespace

database::database(const config::database_section& settings)
    : settings_(settings),
      backend_(settings.parsed.backend == database_url::backend_kind::postgresql
                   ? backend_kind::postgresql
                   : backend_kind::sqlite) {
  open();
}

database::~database() = default;

void database::open() {
  const auto& url = settings_.parsed;
  if (backend_ == backend_kind::postgresql) {
    session_ = std::make_unique<soci::session>(soci::postgresql,
                                               url.connection_string);
    return;
  }
  session_ = std::make_unique<soci::session>(soci::sqlite3,
                                             "db=\"" + url.path + "\"");
  auto* backend
      = static_cast<soci::sqlite3_session_backend*>(session_->get_backend());
  sqlite3_busy_handler(backend->conn_, short_busy_wait,
                       &settings_.busy_timeout_ms);
  *session_ << "PRAGMA journal_mode=WAL";
  // The value comes from a validated enum in the configuration, not from
  // user input, and PRAGMA takes no bound parameters.
  *session_ << ("PRAGMA synchronous=" + settings_.sqlite_synchronous);
  *session_ << "PRAGMA foreign_keys=OFF";
  // After a checkpoint the WAL file is cut back to this size instead of
  // keeping its high-water mark.
  *session_ << ("PRAGMA journal_size_limit="
                + std::to_string(
                    defaults::database::wal_size_after_checkpoint_bytes));
}

void database::begin_write() {
  if (write_depth_ > 0) {
    ++write_depth_;
    return;
  }
  *session_ << (backend_ == backend_kind::sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  write_depth_ = 1;
  nested_rollback_ = false;
}

savepoint::savepoint(database& db) : db_(db) {
  db_.session() << "SAVEPOINT effect_batch";
}

savepoint::~savepoint() {
  if (!done_)
    rollback();
}

void savepoint::release() {
  db_.session() << "RELEASE SAVEPOINT effect_batch";
  done_ = true;
}

void savepoint::rollback() noexcept {
  done_ = true;
  try {
    db_.session() << "ROLLBACK TO SAVEPOINT effect_batch";
    db_.session() << "RELEASE SAVEPOINT effect_batch";
  } catch (...) {
    // The connection is gone or the transaction aborted: the commit that
    // follows fails and says so.
  }
}

void database::commit() {
  if (write_depth_ > 1) {
    --write_depth_;
    return;
  }
  if (nested_rollback_) {
    rollback();
    throw std::logic_error("a nested write rolled back: its transaction "
                           "cannot commit");
  }
  *session_ << "COMMIT";
  write_depth_ = 0;
}

void database::rollback() noexcept {
  if (write_depth_ > 1) {
    --write_depth_;
    nested_rollback_ = true;
    return;
  }
  write_depth_ = 0;
  nested_rollback_ = false;
  try {
    *session_ << "ROLLBACK";
  } catch (...) {
    // Nothing to roll back, or the connection is gone: both leave no
    // transaction open.
  }
}

bool database::truncate_wal_above(uint64_t limit_bytes) {
  if (backend_ != backend_kind::sqlite)
    return false;
  std::error_code ec;
  auto size = std::filesystem::file_size(settings_.parsed.path + "-wal", ec);
  if (ec || size <= limit_bytes)
    return false;
  *session_ << "PRAGMA wal_checkpoint(TRUNCATE)";
  return true;
}

void database::ping() {
  int one = 0;
  *session_ << "SELECT 1", soci::into(one);
}

bool is_transient_conflict(const std::exception& e) noexcept {
  if (auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    auto state = pg->sqlstate();
    return state == "40P01" || state == "40001" || state == "55P03";
  }
  if (auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e))
    return lite->result() == SQLITE_BUSY || lite->result() == SQLITE_LOCKED;
  return false;
}

bool is_unique_violation(const std::exception& e) noexcept {
  if (auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e))
    return pg->sqlstate() == "23505";
  if (auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e))
    return (lite->result() & 0xff) == SQLITE_CONSTRAINT;
  return false;
}

bool still_connected(database& db) noexcept {
  try {
    db.ping();
    return true;
  } catch (...) {
    return false;
  }
}

} // namespace regevent
