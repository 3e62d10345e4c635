#pragma once

#include "config/config.hpp"

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
  explicit database(const config& cfg);
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
  void begin_write();
  void commit();
  void rollback() noexcept;

  /// Cheap round trip that proves the connection works.
  void ping();

  /// Drops and reopens the connection (after the server went away).
  void reconnect();

private:
  void open();

  config cfg_;
  backend_kind backend_;
  std::unique_ptr<soci::session> session_;
};

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

/// Applies every migration not yet recorded in `schema_migrations`. Safe to
/// run from several instances at once on PostgreSQL (advisory lock).
void migrate(database& db);

/// The newest schema version this binary knows.
int schema_version();

} // namespace regevent
