#include "actors/replication_worker.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"
#include "persistence/replication_work_store.hpp"
#include "persistence/secret_box.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <random>

namespace regevent {

replication_worker_config replication_worker_config::from(const runtime& rt) {
  replication_worker_config x;
  x.database = rt.cfg->database;
  x.secrets_key = rt.cfg->secrets.key;
  x.replication = rt.cfg->replication;
  x.source_url = rt.cfg->source_registry.url;
  x.port = rt.replication;
  x.stats = rt.stats;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  return x;
}

void replication_worker_config::validate() const {
  if (!port)
    throw config_error("replication: no registry client");
  if (!stats)
    throw config_error("replication: metrics are required");
  if (replication.workers == 0)
    throw config_error("replication: workers must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("replication: the journal timeout must be positive");
}

replication_worker_state::replication_worker_state() = default;
replication_worker_state::~replication_worker_state() = default;

namespace {

using self_ptr
    = replication_worker_actor::stateful_pointer<replication_worker_state>;
using state = replication_worker_state;
using clock_type = std::chrono::steady_clock;

/// The queue gauge is refreshed, and ended executions past their
/// retention deleted, this often.
constexpr auto housekeeping_interval = std::chrono::seconds(10);
/// Executions deleted per statement, and statements per round: a large
/// first purge is spread over rounds instead of holding up claims.
constexpr size_t purge_batch = 500;
constexpr int purge_batches_per_round = 4;
constexpr int64_t us_per_day = 86'400'000'000LL;

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

timestamp_us lease_until(const state& st) {
  return now_us() + st.cfg.replication.claim_lease_ms * 1000LL;
}

replication_outcome_record base_outcome(const replication_job& j) {
  replication_outcome_record o;
  o.task_id = j.task_id;
  o.execution_id = j.execution_id;
  o.lease = j.lease;
  return o;
}

/// Fails a task that cannot run; the task says why.
void fail_unusable(self_ptr self, const replication_job& j) {
  auto o = base_outcome(j);
  o.status = replication_status::failed;
  o.error = j.unusable;
  o.started_at = now_us();
  self->state.cfg.stats->replication_attempt("failed", -1, 0);
  self->state.outcomes.push_back(std::move(o));
}

void wake(bool first, const replication_worker_actor& handle) {
  if (first)
    caf::anon_send(handle, atom::wakeup_v);
}

void start(self_ptr self, replication_job job) {
  auto& st = self->state;
  if (job.unusable.empty() && st.cfg.source_url.empty())
    job.unusable = "source_registry.url is not configured: regevent does "
                   "not know where to copy from";
  if (!job.unusable.empty()) {
    fail_unusable(self, job);
    return;
  }
  auto id = job.task_id;
  state::flight f;
  f.job = job;
  f.cancel = std::make_shared<std::atomic<bool>>(false);
  f.started = now_us();
  auto cancel = f.cancel;
  const std::atomic<bool>* token = cancel.get();
  // Claimed again while an earlier copy of it still runs (a re-run right
  // after a stop whose lease expired): that copy is told to stop, and its
  // result, when it comes, matches no flight.
  if (auto old = st.flights.find(id); old != st.flights.end())
    old->second.cancel->store(true);
  st.flights.insert_or_assign(id, std::move(f));
  // The callback runs on the copy's thread: it only queues the result and
  // wakes the actor when the queue was empty.
  st.cfg.port->run(
      std::move(job), std::move(cancel),
      [inbox = st.results, id, token,
       handle = caf::actor_cast<replication_worker_actor>(self)](
          replication_run_result r) {
        bool first = false;
        {
          std::lock_guard<std::mutex> guard(inbox->mtx);
          first = inbox->runs.empty() && inbox->listings.empty();
          inbox->runs.emplace_back(id, token, std::move(r));
        }
        wake(first, handle);
      });
}

void settle(self_ptr self, int64_t id, const std::atomic<bool>* token,
            const replication_run_result& r) {
  auto& st = self->state;
  auto it = st.flights.find(id);
  if (it == st.flights.end() || it->second.cancel.get() != token)
    return;
  auto f = std::move(it->second);
  st.flights.erase(it);
  const auto& j = f.job;
  const auto& cfg = st.cfg.replication;
  auto o = base_outcome(j);
  o.started_at = f.started;
  o.digest = r.digest;
  o.bytes_copied = static_cast<int64_t>(r.bytes_copied);
  o.skipped = r.skipped;
  auto seconds = static_cast<double>(now_us() - f.started) / 1e6;
  if (!r.ok && f.cancel->load()) {
    // The task was stopped, or its lease lapsed and another worker may
    // hold it: not this worker's to record (its lease no longer matches).
    spdlog::info("replication task {} ({}:{}): copy cancelled: the task was "
                 "stopped or taken over",
                 j.task_id, j.src_repository, j.src_reference);
    st.cfg.stats->replication_attempt("cancelled", seconds, r.bytes_copied);
    // Nothing of this copy runs any more: a stopped task's lease stops
    // holding its repository (a lease taken over by another worker is not
    // this one's and matches nothing).
    auto released
        = st.writes.run([&](replication_work_store& store, writer_context&) {
            store.release_stopped(j.task_id, j.lease, now_us());
            return true;
          });
    if (!released)
      spdlog::warn("replication task {}: releasing its lease failed ({}); "
                   "it expires on its own",
                   j.task_id, describe(released.error()));
    return;
  }
  const char* outcome = "succeed";
  if (r.ok) {
    o.status = replication_status::succeed;
    if (!r.skipped.empty()) {
      outcome = "skipped";
      spdlog::info("replication task {} ({}:{}) skipped: {}", j.task_id,
                   j.src_repository, j.src_reference, r.skipped);
    }
  } else {
    o.error = r.error;
    // The budget counts from the last re-run.
    auto tries = j.attempts + 1 - j.retry_base;
    if (!r.transient || tries > static_cast<int64_t>(cfg.max_retries)) {
      o.status = replication_status::failed;
      outcome = "failed";
      spdlog::warn("replication task {} ({}:{} to registry {}) failed: {}",
                   j.task_id, j.src_repository, j.src_reference,
                   j.destination.id, r.error);
    } else {
      o.status = replication_status::pending;
      outcome = "retry";
      retry_policy policy{cfg.max_retries + 1, cfg.retry_base_ms,
                          cfg.retry_max_ms, 0.2};
      o.next_attempt_at
          = now_us()
            + 1000LL
                  * backoff_ms(policy, static_cast<uint32_t>(tries - 1),
                               random_unit());
    }
  }
  st.cfg.stats->replication_attempt(outcome, seconds, r.bytes_copied);
  st.outcomes.push_back(std::move(o));
}

/// Writes the outcomes gathered so far; kept for the next round when the
/// database refuses (their tasks stay leased meanwhile).
bool record(self_ptr self) {
  return record_outcomes(self->state.writes, self->state.outcomes, "replication");
}

/// Moves the leases of the tasks in flight; a task whose lease was lost
/// (another instance took it after this one stalled) is cancelled.
void renew(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now < st.next_renewal)
    return;
  st.next_renewal
      = now + std::chrono::milliseconds(st.cfg.replication.claim_lease_ms / 3);
  if (st.flights.empty())
    return;
  std::vector<std::pair<int64_t, timestamp_us>> held;
  for (const auto& [id, f] : st.flights)
    held.emplace_back(id, f.job.lease);
  auto until = lease_until(st);
  auto kept
      = st.writes.run([&](replication_work_store& store, writer_context&) {
          return store.renew(held, until);
        });
  if (!kept) {
    spdlog::warn("replication failed to renew {} leases: {}", held.size(),
                 describe(kept.error()));
    return;
  }
  for (auto id : *kept) {
    auto it = st.flights.find(id);
    if (it != st.flights.end())
      it->second.job.lease = until;
  }
  for (auto& [id, f] : st.flights)
    if (f.job.lease != until) {
      spdlog::info("replication task {} was stopped or lost its lease: "
                   "its copy is cancelled",
                   id);
      f.cancel->store(true);
    }
}

void housekeeping(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now < st.next_housekeeping)
    return;
  st.next_housekeeping = now + housekeeping_interval;
  auto cutoff = now_us()
                - st.cfg.replication.execution_retention_days * us_per_day;
  size_t purged = 0;
  auto n = st.writes.run([&](replication_work_store& store, writer_context&) {
    for (int i = 0; i < purge_batches_per_round; ++i) {
      auto deleted = store.purge_finished(cutoff, purge_batch);
      purged += deleted;
      if (deleted < purge_batch)
        break;
    }
    return store.unfinished();
  });
  if (!n) {
    spdlog::warn("replication housekeeping failed: {}", describe(n.error()));
    return;
  }
  st.cfg.stats->replication_queue(*n);
  if (purged > 0)
    spdlog::info("replication: deleted {} executions ended more than {} days "
                 "ago",
                 purged, st.cfg.replication.execution_retention_days);
}

void list(self_ptr self) {
  auto& st = self->state;
  if (st.listing || st.stopping)
    return;
  auto claimed
      = st.writes.run([&](replication_work_store& store, writer_context&) {
          return store.claim_listing(now_us(), lease_until(st));
        });
  if (!claimed || !*claimed)
    return;
  st.listing = std::make_unique<replication_listing>(std::move(**claimed));
  if (st.cfg.source_url.empty()) {
    std::lock_guard<std::mutex> guard(st.results->mtx);
    st.results->listings.emplace_back(
        std::vector<replication_listed>{},
        "source_registry.url is not configured");
    self->send(self, atom::wakeup_v);
    return;
  }
  st.cfg.port->list(
      st.listing->policy,
      [inbox = st.results,
       handle = caf::actor_cast<replication_worker_actor>(self)](
          std::vector<replication_listed> found, std::string error) {
        bool first = false;
        {
          std::lock_guard<std::mutex> guard(inbox->mtx);
          first = inbox->runs.empty() && inbox->listings.empty();
          inbox->listings.emplace_back(std::move(found), std::move(error));
        }
        wake(first, handle);
      });
}

void finish_listing(self_ptr self, std::vector<replication_listed>& found,
                    const std::string& error) {
  auto& st = self->state;
  if (!st.listing)
    return;
  auto done
      = st.writes.run([&](replication_work_store& store, writer_context&) {
          store.record_listing(*st.listing, found, error, now_us());
          return true;
        });
  if (!done)
    // Listed again once its lease expires.
    spdlog::warn("replication failed to record the listing of execution "
                 "{}: {}",
                 st.listing->execution_id, describe(done.error()));
  else
    spdlog::info("replication execution {} listed {} artifacts{}{}",
                 st.listing->execution_id, found.size(),
                 error.empty() ? "" : "; failed: ", error);
  st.listing.reset();
}

/// Records, then claims as many due tasks as there are free workers.
void pump(self_ptr self) {
  auto& st = self->state;
  // Nothing new is claimed while outcomes wait to be written.
  if (!record(self) || st.stopping)
    return;
  list(self);
  auto workers = st.cfg.replication.workers;
  if (st.flights.size() >= workers)
    return;
  auto claimed
      = st.writes.run([&](replication_work_store& store, writer_context&) {
          return store.claim(now_us(), workers - st.flights.size(),
                             lease_until(st));
        });
  if (!claimed) {
    spdlog::warn("replication failed to claim tasks: {}",
                 describe(claimed.error()));
    return;
  }
  for (auto& j : *claimed)
    start(self, std::move(j));
  // Tasks that failed without a copy.
  record(self);
}

} // namespace

replication_worker_actor::behavior_type replicate(self_ptr self,
                                                 replication_worker_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.secrets = std::make_unique<secret_box>(st.cfg.secrets_key);
  st.results = std::make_shared<state::inbox>();
  st.writes = write_path<replication_work_store>(
      self->system(), st.cfg.database,
      [box = st.secrets.get()](database& db) {
        return std::make_unique<replication_work_store>(db, *box);
      },
      st.cfg.journal_timeout);
  // Copies in flight are stopped and their tasks given back due now, so
  // that the next start resumes them at once (from the blobs already
  // copied) instead of after their leases; known outcomes are written.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    st.stopping = true;
    for (auto& [id, f] : st.flights) {
      f.cancel->store(true);
      auto o = base_outcome(f.job);
      o.attempted = false;
      o.next_attempt_at = now_us();
      st.outcomes.push_back(std::move(o));
    }
    st.flights.clear();
    record(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::tick) {
        auto& st = self->state;
        renew(self);
        housekeeping(self);
        pump(self);
        self->delayed_send(
            self,
            std::chrono::milliseconds(st.cfg.replication.poll_interval_ms),
            atom::tick_v);
      },
      [self](atom::renew) {
        // A stop: leases are checked now, so that a stopped copy ends at
        // once instead of at the next renewal.
        self->state.next_renewal = {};
        renew(self);
      },
      [self](atom::wakeup) {
        auto& st = self->state;
        decltype(st.results->runs) runs;
        std::vector<std::pair<std::vector<replication_listed>, std::string>>
            listings;
        {
          std::lock_guard<std::mutex> guard(st.results->mtx);
          runs.swap(st.results->runs);
          listings.swap(st.results->listings);
        }
        for (const auto& [id, token, r] : runs)
          settle(self, id, token, r);
        for (auto& [found, error] : listings)
          finish_listing(self, found, error);
        pump(self);
      },
  };
}

} // namespace regevent
