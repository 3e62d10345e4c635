#pragma once

#include "config/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace soci {
class session;
} // namespace soci

namespace regevent {

/// One database connection, SQLite or PostgreSQL, with the pragmas and
/// transaction flavour each backend needs. Not thread-safe: each actor that
/// touches the database owns its own.
class database {
public:
  enum class backend_kind { sqlite, postgresql };

  /// Connects; throws soci::soci_error (or std::runtime_error) on failure.
  explicit database(const config::database_section& settings);
  explicit database(const config& cfg) : database(cfg.database) {}
  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

  soci::session& session() {
    return *session_;
  }

  backend_kind backend() const {
    return backend_;
  }

  bool is_sqlite() const {
    return backend_ == backend_kind::sqlite;
  }

  /// Starts a write transaction. On SQLite `BEGIN IMMEDIATE` takes the write
  /// lock up front, so that the busy timeout applies instead of a deadlock
  /// error when two connections upgrade from read to write at once.
  /// Inside an open one it only nests: the stores' own transactions then
  /// join the caller's (an API change and its audit row, see
  /// audited_change), their commit leaves it open and their rollback
  /// marks it rolled back, so that it can never commit half a change.
  void begin_write();
  /// Commits the outermost transaction; throws std::logic_error (after
  /// rolling back) when a nested one rolled back.
  void commit();
  void rollback() noexcept;

  /// Whether a transaction nested in the open one rolled back.
  bool nested_rollback() const {
    return nested_rollback_;
  }

  /// SQLite: when the WAL file is larger than `limit_bytes`, copies it into
  /// the database and truncates it. With several connections writing in
  /// turn, SQLite's automatic checkpoints never reach the end of the WAL,
  /// which then only grows. Returns whether it checkpointed.
  bool truncate_wal_above(uint64_t limit_bytes);

  /// Cheap round trip that proves the connection works.
  void ping();

private:
  void open();

  config::database_section settings_;
  backend_kind backend_;
  std::unique_ptr<soci::session> session_;
  /// Open write transactions: 0 none, 1 the real one, more nested in it.
  int write_depth_ = 0;
  bool nested_rollback_ = false;
};

/// Paces reconnection attempts after the database went away: exponential
/// from `initial_ms` to `max_ms`, so that a server restart is not met with
/// a connection storm from every actor.
class reconnect_backoff {
public:
  reconnect_backoff(uint32_t initial_ms, uint32_t max_ms)
      : initial_ms_(initial_ms), max_ms_(max_ms) {}
  /// Whether a connection attempt may be made now.
  bool ready() const {
    return std::chrono::steady_clock::now() >= next_;
  }
  void failed() {
    delay_ms_ = delay_ms_ == 0 ? initial_ms_ : std::min(delay_ms_ * 2, max_ms_);
    next_ = std::chrono::steady_clock::now()
            + std::chrono::milliseconds(delay_ms_);
  }
  void succeeded() {
    delay_ms_ = 0;
    next_ = {};
  }

private:
  uint32_t initial_ms_;
  uint32_t max_ms_;
  uint32_t delay_ms_ = 0;
  std::chrono::steady_clock::time_point next_{};
};

/// Whether a failed statement is worth retrying as is: a deadlock or
/// serialization failure (PostgreSQL), a busy or locked database (SQLite).
bool is_transient_conflict(const std::exception& e) noexcept;

/// Whether a failed statement broke a unique key (another writer took the
/// key between a check and the write).
bool is_unique_violation(const std::exception& e) noexcept;

/// Whether an open connection still reaches its server (after a failed
/// statement: tells an outage from a statement error).
bool still_connected(database& db) noexcept;

/// Rolls back unless committed; makes every early return and exception on a
/// write path leave the connection clean.
class write_transaction {
public:
  explicit write_transaction(database& db) : db_(db) {
    db_.begin_write();
  }
  ~write_transaction() {
    if (!done_)
      db_.rollback();
  }
  void commit() {
    db_.commit();
    done_ = true;
  }

private:
  database& db_;
  bool done_ = false;
};

/// A savepoint inside an open transaction: what runs between it and
/// `release()` can be undone alone with `rollback()` (or by destruction
/// without release), and the transaction goes on. The writer applies each
/// effect batch in one, so that a batch the database refuses costs only
/// itself.
class savepoint {
public:
  explicit savepoint(database& db);
  ~savepoint();
  savepoint(const savepoint&) = delete;
  savepoint& operator=(const savepoint&) = delete;

  void release();
  /// Undoes what ran since the savepoint; never throws (a connection that
  /// is gone fails the commit instead).
  void rollback() noexcept;

private:
  database& db_;
  bool done_ = false;
};

/// Applies every migration not yet recorded in `schema_migrations`. Safe to
/// run from several instances at once on PostgreSQL (advisory lock).
void migrate(database& db);

/// Creates the default project (public, as Harbor's `library`) unless it
/// exists, so that `unknown_project: skip` never skips it.
void ensure_project(database& db, const std::string& name);

/// The newest schema version this binary knows.
int schema_version();

} // namespace regevent
