#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace regevent {

/// regevent's error codes, carried in caf::error across actor boundaries.
enum class ec : uint8_t {
  unspecified = 1,
  /// The database refused or failed a statement or commit.
  database_error,
  /// The database cannot be reached at all.
  database_unavailable,
  /// A deadlock, serialization failure or busy database: retry as is.
  database_conflict,
  /// The test-only fault injection switch failed this commit.
  injected_fault,
  /// No instance of the effect runs (disabled, or restart budget spent).
  effect_unavailable,
  /// The daemon is shutting down.
  shutting_down,
};

const char* to_string(ec x);

inline caf::error make_error(ec x, std::string context = {}) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("regevent"),
                    caf::make_message(std::move(context))};
}

/// Whether an error says nothing about the event itself (an outage or a
/// conflict between writers), so that retrying it spends no attempt.
bool is_transient(const caf::error& e);

/// The text of an error of any category, for logs and dead letters.
std::string describe(const caf::error& e);

} // namespace regevent
