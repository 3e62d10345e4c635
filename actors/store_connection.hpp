#pragma once

/// An actor's own database connection and the store over it: opened on
/// first use, dropped after a failure, and reopened no sooner than the
/// backoff allows, so that a database restart is not met with a connection
/// storm from every actor. Every call converts what the SOCI boundary
/// throws into regevent's error codes (sql_guard.hpp).

#include "actors/errors.hpp"
#include "actors/sql_guard.hpp"
#include "config/config.hpp"
#include "config/defaults.hpp"
#include "persistence/database.hpp"

#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace regevent {

template<class Store>
class store_connection {
public:
  using factory = std::function<std::unique_ptr<Store>(database&)>;

  /// Closed and unusable until assigned a configured one (actor state is
  /// default-constructed).
  store_connection() = default;

  store_connection(config::database_section settings, factory make)
      : settings_(std::move(settings)), make_(std::move(make)) {}

  /// Runs `f(store, db)`, opening the connection first. Answers
  /// ec::database_unavailable while the connection cannot be opened (or
  /// the backoff still waits), and the converted error when `f` throws;
  /// either way the connection is dropped, so that the next call opens a
  /// fresh one.
  template<class F>
  auto run(F&& f) -> caf::expected<std::invoke_result_t<F, Store&, database&>> {
    if (auto err = open())
      return err;
    return guard_sql(
        db_, [&] { return f(*store_, *db_); }, [this] { drop(); });
  }

  /// Opens the connection unless it is open; the error when it cannot be.
  caf::error open() {
    if (db_)
      return {};
    if (!backoff_.ready())
      return make_error(ec::database_unavailable,
                        "waiting before reconnecting");
    try {
      db_ = std::make_unique<database>(settings_);
      store_ = make_(*db_);
      backoff_.succeeded();
      return {};
    } catch (const std::exception& e) {
      backoff_.failed();
      drop();
      return make_error(ec::database_unavailable, e.what());
    }
  }

  /// Closes the store and the connection.
  void drop() {
    store_.reset();
    db_.reset();
  }

  bool is_open() const {
    return db_ != nullptr;
  }

private:
  config::database_section settings_;
  factory make_;
  std::unique_ptr<database> db_;
  std::unique_ptr<Store> store_;
  reconnect_backoff backoff_{defaults::database::reconnect_initial_ms,
                             defaults::database::reconnect_max_ms};
};

} // namespace regevent
