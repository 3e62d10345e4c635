#pragma once

#include "actors/errors.hpp"

#include <caf/expected.hpp>

#include <exception>
#include <memory>
#include <type_traits>

namespace regevent {

class database;

/// The error code of a failure thrown at the SOCI boundary: a conflict
/// between writers, a database that cannot be reached (no connection, or
/// one that no longer answers), or a statement the database refused.
ec classify_sql_failure(database* db, const std::exception& e) noexcept;

/// Runs blocking store work and converts what the SOCI boundary throws into
/// regevent's error codes, in this one place. On failure `drop` runs first
/// (it closes the stores and the connection, so that the next call opens a
/// fresh one).
template<class F, class Drop>
auto guard_sql(std::unique_ptr<database>& db, F&& f, Drop&& drop)
    -> caf::expected<std::invoke_result_t<F>> {
  try {
    return f();
  } catch (const std::exception& e) {
    auto code = classify_sql_failure(db.get(), e);
    drop();
    return make_error(code, e.what());
  }
}

} // namespace regevent
