#pragma once

#include "bench/workload.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace regevent::bench {

using bench_clock = std::chrono::steady_clock;

/// One answered delivery: when it was due (ms since the load started) and
/// how long the answer took, in microseconds. Floats keep 24 significant
/// bits, plenty for latencies, at 8 bytes a sample.
struct sample {
  uint32_t at_ms;
  float latency_us;
};

/// How to drive the daemon.
struct load_plan {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// Further instances sharing the load (several daemons on one
  /// PostgreSQL database): sender i posts to the (i mod n)-th of host:port
  /// and these, as a load balancer would spread registries.
  std::vector<std::pair<std::string, uint16_t>> also;
  std::string token;
  /// Keep-alive connections, each with one request in flight at a time,
  /// as a registry endpoint sends (one envelope at a time, in order).
  size_t senders = 1;
  /// Deliveries to make in total (0: until `duration_s`).
  uint64_t deliveries = 0;
  double duration_s = 0;
  /// Total deliveries per second over all senders (0: closed loop, each
  /// sender posts the next event as soon as the last one was answered).
  double rate = 0;
  /// Threads running the client's io_context.
  size_t threads = 1;
  /// Whether the answers are regevent's (`{"accepted": N, "duplicates":
  /// M, ...}`, checked against what was sent). False for a peer that
  /// answers every POST 200 with an empty body, as Harbor does: any 2xx
  /// then acknowledges the delivery, and only the database can tell
  /// whether it was handled.
  bool regevent_answers = true;
};

/// What the senders saw.
struct load_result {
  std::vector<sample> samples;
  ledger acknowledged;
  /// Sums of the daemon's answers.
  uint64_t answered_accepted = 0;
  uint64_t answered_duplicates = 0;
  uint64_t answered_ignored = 0;
  /// Deliveries answered 503 (sent again after a pause, like a registry).
  uint64_t unavailable = 0;
  /// Deliveries answered with another non-2xx status: never retried, a
  /// registry would block its queue on them; the check fails the run.
  uint64_t rejected = 0;
  /// Transport errors (connection refused, reset, closed): sent again.
  uint64_t transport_errors = 0;
  /// Answers of 200 that did not match what was sent (a fresh event
  /// reported as duplicate, or the reverse).
  uint64_t answer_mismatches = 0;
  std::string first_problem;
  bench_clock::time_point started;
  bench_clock::time_point finished;

  double seconds() const {
    return std::chrono::duration<double>(finished - started).count();
  }
};

/// Runs the senders until the plan is done; blocks.
load_result run_load(const load_plan& plan, const workload_options& workload,
                     uint32_t first_sender = 0);

} // namespace regevent::bench
