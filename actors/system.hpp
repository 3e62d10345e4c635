#pragma once

#include "actors/atoms.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace regevent {

struct runtime;

/// The running actor topology of one daemon: the CAF actor system with the
/// supervisor and its effect actors, the journal, recovery, the HTTP actor
/// and the query pool. The transport talks to it through this facade, so
/// that no CAF header reaches the HTTP code.
class actor_runtime {
public:
  explicit actor_runtime(const runtime& rt);
  ~actor_runtime();

  actor_runtime(const actor_runtime&) = delete;
  actor_runtime& operator=(const actor_runtime&) = delete;

  /// Hands a parsed notification to the HTTP actor (never blocks).
  void ingest(ingest_request req);

  /// Hands management API work to the query pool (never blocks).
  void query(query_request req);

  /// Stops spawning dispatchers and claiming, then waits until every
  /// dispatcher finished or the deadline passed. True when drained.
  bool drain(std::chrono::steady_clock::time_point deadline);

  /// Stops every actor in order (effects flush, claims are given back).
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent
