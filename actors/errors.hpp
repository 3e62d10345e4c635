#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace regevent {

/// regevent's error codes, carried in caf::error across actor boundaries
/// (category "regevent"). 0 is "no error" in CAF, so codes start at 1.
enum class ec : uint8_t {
  /// The database refused or failed a statement or commit.
  database_error = 1,
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
  /// The named resource (project, repository, dead letter) does not exist.
  not_found,
  /// A resource of that name exists already.
  already_exists,
  /// The journal's backlog passed ingest.max_backlog: try again later.
  overloaded,
};

const char* to_string(ec x);

/// Whether `e` carries regevent's code `x`.
bool is(const caf::error& e, ec x);

/// Whether an error says nothing about the event itself (an outage or a
/// conflict between writers), so that retrying it spends no attempt.
bool is_transient(const caf::error& e);

/// The text of an error of any category, for logs and dead letters.
std::string describe(const caf::error& e);

/// The message an error carries (without its code), for API answers.
std::string context_of(const caf::error& e);

} // namespace regevent

CAF_ERROR_CODE_ENUM(regevent::ec, "regevent")

namespace regevent {

/// An error with regevent's code and a message saying what failed.
caf::error make_error(ec x, std::string context = {});

} // namespace regevent
