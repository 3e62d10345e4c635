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

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_record& x) {
  return f(x.id, x.time, x.received, x.action, x.repository, x.tag, x.digest,
           x.media_type, x.size, x.method, x.user_agent, x.actor, x.client_addr,
           x.source_addr, x.raw);
}

/// Journal states of an event.
namespace event_status {
constexpr const char* pending = "pending";
constexpr const char* ignored = "ignored";
constexpr const char* done = "done";
constexpr const char* dead = "dead";
} // namespace event_status

/// A change of an event's journal state, with the reason when ignored or dead.
struct status_update {
  std::string event_id;
  std::string status;
  std::string reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_update& x) {
  return f(x.event_id, x.status, x.reason);
}

} // namespace regevent

namespace regevent {

/// An (event, effect) pair that exhausted its retries.
struct dead_letter {
  std::string event_id;
  std::string effect;
  std::string error;
  uint32_t attempts = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(x.event_id, x.effect, x.error, x.attempts);
}

} // namespace regevent

namespace regevent {

/// An event the dispatcher kept, with what it decided for it.
struct planned_event {
  event_record event;
  /// Text before the first `/` of the repository, or the default project.
  std::string project;
  /// Whether a pull adds to the pull count (false for HEAD under `touch`).
  bool count_pull = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, planned_event& x) {
  return f(x.event, x.project, x.count_pull);
}

} // namespace regevent
