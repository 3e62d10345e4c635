#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace regevent {

/// Microseconds since the Unix epoch: the one time representation stored in
/// every table, so that SQLite and PostgreSQL compare times the same way.
using timestamp_us = long long;

timestamp_us now_us();

/// Formats a timestamp as RFC 3339 with milliseconds, UTC (`...Z`), as
/// Harbor's API does.
std::string format_rfc3339(timestamp_us t);

/// Parses RFC 3339 (`2026-11-27T23:01:07.134855237Z`, offsets allowed).
/// Returns false on malformed input.
bool parse_rfc3339(const std::string& text, timestamp_us& out);

/// One registry event as journaled: the fields every later stage needs,
/// plus the raw JSON for audit and replay.
struct event_record {
  std::string id;
  /// The journal's sequence number, set once the event is journaled (0
  /// before): it orders the journal and keys the effect marks, which are
  /// then appended in key order instead of scattered by the random ids.
  long long seq = 0;
  /// The registry's event time, or the receive time when it sent none.
  timestamp_us time = 0;
  timestamp_us received = 0;
  std::string action;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string media_type;
  long long size = 0;
  std::string method;
  std::string user_agent;
  /// `actor.name`; empty for anonymous access.
  std::string actor;
  std::string client_addr;
  std::string source_addr;
  std::string raw;
};

/// Journal states of an event, in the order metrics and counts use.
constexpr const char* event_status_names[]
    = {"pending", "ignored", "done", "dead"};

namespace event_status {
constexpr const char* pending = event_status_names[0];
constexpr const char* ignored = event_status_names[1];
constexpr const char* done = event_status_names[2];
constexpr const char* dead = event_status_names[3];
} // namespace event_status

/// A change of an event's journal state, with the reason when ignored or dead.
struct status_update {
  std::string event_id;
  std::string status;
  std::string reason;
};

/// An (event, effect) pair that exhausted its retries.
struct dead_letter {
  std::string event_id;
  std::string effect;
  std::string error;
  uint32_t attempts = 0;
};

/// An event as an effect store applies it: the event and what the
/// dispatcher decided for it.
struct effect_input {
  event_record event;
  /// Text before the first `/` of the repository, or the default project.
  std::string project;
  /// Whether a pull adds to the pull count (false for HEAD under `touch`).
  bool count_pull = false;
};

} // namespace regevent
