#include "actors/artifact_details_worker.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "config/defaults.hpp"
#include "config/error.hpp"
#include "persistence/artifact_details_store.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <random>

namespace regevent {

namespace d = defaults::artifact_details;

artifact_details_config artifact_details_config::from(const runtime& rt) {
  artifact_details_config x;
  x.database = rt.cfg->database;
  x.port = rt.details;
  x.stats = rt.stats;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  x.poll_interval = std::chrono::milliseconds(d::poll_interval_ms);
  x.batch_size = d::batch_size;
  x.max_attempts = d::max_attempts;
  return x;
}

void artifact_details_config::validate() const {
  if (!port)
    throw config_error("artifact details: no registry client");
  if (!stats)
    throw config_error("artifact details: metrics are required");
  if (journal_timeout.count() <= 0)
    throw config_error("artifact details: the journal timeout must be "
                       "positive");
  if (poll_interval.count() <= 0 || batch_size == 0 || max_attempts == 0)
    throw config_error("artifact details: the poll interval, batch size "
                       "and attempts must be positive");
}

artifact_details_state::artifact_details_state() = default;
artifact_details_state::~artifact_details_state() = default;

namespace {

using self_ptr
    = artifact_details_actor::stateful_pointer<artifact_details_state>;

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

const char* outcome_name(artifact_details_outcome o) {
  switch (o) {
    case artifact_details_outcome::done:
      return "done";
    case artifact_details_outcome::retry:
      return "retry";
    case artifact_details_outcome::failed:
      break;
  }
  return "failed";
}

/// When a read that failed for the `attempts`-th time is due again: a
/// doubling delay with jitter for a registry that was away, a day for a
/// manifest that will not change by itself.
timestamp_us next_attempt(const artifact_details_record& r, int64_t attempts) {
  if (r.outcome == artifact_details_outcome::failed)
    return now_us() + static_cast<timestamp_us>(d::permanent_retry_ms) * 1000;
  retry_policy policy{d::max_attempts, d::retry_base_ms, d::retry_max_ms,
                      d::retry_jitter};
  auto tries = static_cast<uint32_t>(std::max<int64_t>(0, attempts - 1));
  return now_us()
         + static_cast<timestamp_us>(backoff_ms(policy, tries, random_unit()))
               * 1000;
}

/// Records what waits to be written; kept for the next round when the
/// database refuses.
bool record(self_ptr self) {
  return record_outcomes(self->state.writes, self->state.outcomes,
                         "artifact details");
}

/// Reads one batch; true when it was full (more may be waiting) and the
/// registry answered: a registry that is away is not asked for the rest
/// of a backlog at once, each read failing in turn.
bool round(self_ptr self) {
  auto& st = self->state;
  if (!record(self) || st.stopping)
    return false;
  auto jobs = st.reads.run([&](artifact_details_store& s, database&) {
    return s.due(now_us(), st.cfg.batch_size, st.cfg.max_attempts);
  });
  if (!jobs) {
    spdlog::warn("artifact details failed to look for artifacts: {}",
                 describe(jobs.error()));
    return false;
  }
  if (jobs->empty())
    return false;
  auto read = st.cfg.port->inspect(*jobs);
  bool registry_away = false;
  for (size_t i = 0; i < read.size() && i < jobs->size(); ++i) {
    auto& r = read[i];
    const auto& job = (*jobs)[i];
    st.cfg.stats->artifact_details(outcome_name(r.outcome));
    if (r.outcome == artifact_details_outcome::done) {
      spdlog::debug("artifact details of {}@{} read: {} bytes", job.repository,
                    job.digest, r.size);
    } else {
      registry_away |= r.outcome == artifact_details_outcome::retry;
      auto attempts = job.attempts + 1;
      r.next_attempt_at = next_attempt(r, attempts);
      if (attempts >= static_cast<int64_t>(st.cfg.max_attempts))
        spdlog::warn("artifact details of {}@{} failed for the last time "
                     "({} attempts): {}",
                     job.repository, job.digest, attempts, r.error);
      else
        spdlog::info("artifact details of {}@{} failed (attempt {}), "
                     "tried again in {} s: {}",
                     job.repository, job.digest, attempts,
                     (r.next_attempt_at - now_us()) / 1'000'000, r.error);
    }
    st.outcomes.push_back(std::move(r));
  }
  return record(self) && jobs->size() >= st.cfg.batch_size && !registry_away;
}

} // namespace

artifact_details_actor::behavior_type
artifact_details_worker(self_ptr self, artifact_details_config cfg) {
  auto& st = self->state;
  st.writes = write_path<artifact_details_store>(
      self->system(), cfg.database,
      [](database& db) { return std::make_unique<artifact_details_store>(db); },
      cfg.journal_timeout);
  st.reads = store_connection<artifact_details_store>(
      cfg.database,
      [](database& db) { return std::make_unique<artifact_details_store>(db); });
  st.cfg = std::move(cfg);
  // A batch read while the port stopped ends as retries: they are
  // recorded (a read is idempotent), the rest waits for the next start.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.stopping = true;
    record(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::tick) {
        auto& st = self->state;
        // A full batch: the next one at once (after the messages that
        // wait, a stop among them); else after the interval.
        if (round(self))
          self->send(self, atom::tick_v);
        else if (!st.stopping)
          self->delayed_send(self, st.cfg.poll_interval, atom::tick_v);
      },
  };
}

} // namespace regevent
