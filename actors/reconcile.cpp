#include "actors/reconcile.hpp"

#include "actors/filter.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"
#include "persistence/database.hpp"
#include "persistence/reconcile_store.hpp"

#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace regevent {

reconcile_config reconcile_config::from(const runtime& rt) {
  reconcile_config x;
  x.database = rt.cfg->database;
  x.reconcile = rt.cfg->reconcile;
  x.default_project = rt.cfg->filter.default_project;
  x.unknown_project = rt.cfg->filter.unknown_project;
  x.instance_id = rt.instance_id;
  x.port = rt.reconcile;
  x.stats = rt.stats;
  x.journal_timeout
      = std::chrono::milliseconds(rt.cfg->ingest.journal_timeout_ms);
  return x;
}

void reconcile_config::validate() const {
  if (!port)
    throw config_error("reconcile: no registry client");
  if (!stats)
    throw config_error("reconcile: metrics are required");
  if (reconcile.concurrency == 0 || reconcile.page_size == 0)
    throw config_error("reconcile: concurrency and page_size must be "
                       "positive");
  if (journal_timeout.count() <= 0)
    throw config_error("reconcile: the journal timeout must be positive");
}

reconcile_state::reconcile_state() = default;
reconcile_state::~reconcile_state() = default;

namespace {

using self_ptr = reconcile_actor::stateful_pointer<reconcile_state>;
using phase = reconcile_state::phase;

constexpr int64_t us_per_s = 1'000'000;

timestamp_us lease_end(const reconcile_config& cfg) {
  return now_us() + static_cast<long long>(cfg.reconcile.lease_ms) * 1000;
}

void reset(reconcile_state& st) {
  st.now = phase::idle;
  st.run = {};
  st.catalog.clear();
  st.catalog_next.clear();
  st.queue.clear();
  st.walked = 0;
  st.listing_started = 0;
  st.cfg.stats->reconcile_running(false);
}

/// Drops the run in progress without ending it: its lease is another's
/// now (this instance stalled past it), and so is its end.
void lose_lease(self_ptr self, const char* when) {
  auto& st = self->state;
  spdlog::warn("reconcile run {} lost its lease {} (a step longer than "
               "reconcile.lease_ms); it stops",
               st.run.id, when);
  st.cfg.stats->reconcile_run("failed");
  reset(st);
}

/// Ends the run in progress, as failed when `error` is not empty.
void finish(self_ptr self, const std::string& error) {
  auto& st = self->state;
  bool ok = error.empty();
  auto done = st.writes.run([&](reconcile_store& s, writer_context&) {
    s.finish(st.run.id, st.cfg.instance_id, ok, error, st.run.counts,
             now_us());
    return true;
  });
  if (!done)
    spdlog::warn("reconcile run {} could not record its end: {}", st.run.id,
                 describe(done.error()));
  st.cfg.stats->reconcile_run(ok ? "succeeded" : "failed");
  const auto& c = st.run.counts;
  if (ok)
    spdlog::info("reconcile run {} succeeded: {} repositories walked, {} "
                 "created ({} repositories), {} deleted, {} corrected",
                 st.run.id, c.repositories_walked, c.created,
                 c.repositories_created, c.deleted, c.corrected);
  else
    spdlog::warn("reconcile run {} failed after {} of {} repositories: {}",
                 st.run.id, c.repositories_walked, c.repositories_total,
                 error);
  reset(st);
}

/// Takes a run if one is due for this instance.
void look_for_run(self_ptr self) {
  auto& st = self->state;
  if (st.now != phase::idle)
    return;
  std::string trigger;
  timestamp_us due_before = 0;
  timestamp_us now = now_us();
  if (st.start_pending) {
    trigger = reconcile_trigger::start;
    // Another instance that started a run since this one started did the
    // work this start asks for.
    due_before = st.started_at;
  } else if (st.cfg.reconcile.interval_s > 0) {
    trigger = reconcile_trigger::schedule;
    due_before = now - static_cast<long long>(st.cfg.reconcile.interval_s)
                           * us_per_s;
  }
  auto claimed = st.writes.run([&](reconcile_store& s, writer_context&) {
    return s.claim(st.cfg.instance_id, now, lease_end(st.cfg), trigger,
                   due_before);
  });
  if (!claimed) {
    spdlog::warn("reconcile could not look for a run: {}",
                 describe(claimed.error()));
    return;
  }
  st.start_pending = false;
  if (!*claimed)
    return;
  st.run = std::move(**claimed);
  st.now = phase::listing;
  st.listing_started = now_us();
  st.cfg.stats->reconcile_running(true);
  spdlog::info("reconcile run {} ({}) started", st.run.id, st.run.trigger);
  self->send(self, atom::reconcile_v);
}

/// Extends the lease with the progress; false when another instance
/// holds the run now (this one stalled past its lease).
bool renew(self_ptr self) {
  auto& st = self->state;
  auto held = st.writes.run([&](reconcile_store& s, writer_context&) {
    return s.renew(st.run.id, st.cfg.instance_id, lease_end(st.cfg),
                   st.run.counts);
  });
  if (!held) {
    // The database is away: the lease may still hold, the next step asks
    // again.
    spdlog::warn("reconcile run {} could not renew its lease: {}", st.run.id,
                 describe(held.error()));
    return true;
  }
  if (!*held) {
    lose_lease(self, "between steps");
    return false;
  }
  return true;
}

void list_step(self_ptr self) {
  auto& st = self->state;
  auto page = st.cfg.port->catalog_page(st.catalog_next);
  if (!page.error.empty()) {
    ++st.run.counts.errors;
    finish(self, "listing the catalog: " + page.error);
    return;
  }
  st.catalog.insert(page.repositories.begin(), page.repositories.end());
  st.catalog_next = page.next;
  if (!page.next.empty()) {
    if (renew(self))
      self->send(self, atom::reconcile_v);
    return;
  }
  // The whole catalog is known: what regevent has beside it is gone from
  // the registry.
  auto known = st.writes.run([](reconcile_store& s, writer_context&) {
    return s.repositories();
  });
  if (!known) {
    finish(self, "reading regevent's repositories: " + describe(known.error()));
    return;
  }
  std::set<std::string> all(st.catalog.begin(), st.catalog.end());
  all.insert(known->begin(), known->end());
  st.queue.assign(all.begin(), all.end());
  st.run.counts.repositories_total = static_cast<long long>(st.queue.size());
  st.now = phase::walking;
  if (renew(self))
    self->send(self, atom::reconcile_v);
}

void walk_step(self_ptr self) {
  auto& st = self->state;
  if (st.walked >= st.queue.size()) {
    finish(self, {});
    return;
  }
  // concurrency is validated positive.
  size_t end
      = std::min(st.queue.size(), st.walked + st.cfg.reconcile.concurrency);
  std::vector<std::string> names(st.queue.begin() + st.walked,
                                 st.queue.begin() + end);
  // What regevent shows of each, read before the registry is.
  auto states = st.writes.run([&](reconcile_store& s, writer_context&) {
    std::vector<repository_state> out;
    for (const auto& name : names)
      out.push_back(s.live_state(name));
    return out;
  });
  if (!states) {
    finish(self, "reading regevent's repositories: "
                     + describe(states.error()));
    return;
  }
  std::vector<reconcile_walk_request> requests;
  std::vector<reconcile_observation> observations(names.size());
  std::vector<size_t> walked_at;
  for (size_t i = 0; i < names.size(); ++i) {
    if (st.catalog.count(names[i]) > 0) {
      requests.push_back({names[i], (*states)[i].digests});
      walked_at.push_back(i);
    } else {
      auto& o = observations[i];
      o.repository = names[i];
      o.listed = false;
      o.observed_at = st.listing_started;
    }
  }
  auto walks = st.cfg.port->walk(requests);
  for (size_t k = 0; k < walks.size() && k < walked_at.size(); ++k) {
    if (!walks[k].error.empty()) {
      ++st.run.counts.errors;
      finish(self, "walking " + requests[k].repository + ": "
                       + walks[k].error);
      return;
    }
    observations[walked_at[k]] = std::move(walks[k].observation);
  }
  for (auto& o : observations)
    o.project = project_of(o.repository, st.cfg.default_project);
  bool lost = false;
  auto changes = st.writes.run([&](reconcile_store& s, writer_context& ctx) {
    reconcile_counts sum;
    // A transaction per repository: a run that stops between two leaves
    // each one whole. Each is fenced by the lease: one that expired while
    // the walk took long (another instance failed the run, and may run
    // one of its own) is rolled back, never applied beside that run.
    for (const auto& o : observations) {
      write_transaction tx(ctx.db);
      if (!s.hold(st.run.id, st.cfg.instance_id, lease_end(st.cfg))) {
        lost = true;
        break;
      }
      sum += s.apply(o, st.cfg.unknown_project, st.run.id);
      tx.commit();
    }
    return sum;
  });
  if (!changes) {
    finish(self, "applying: " + describe(changes.error()));
    return;
  }
  if (lost) {
    lose_lease(self, "while walking");
    return;
  }
  changes->repositories_walked = static_cast<long long>(names.size());
  st.run.counts += *changes;
  st.cfg.stats->reconcile_progress(changes->repositories_walked,
                                   changes->created, changes->deleted,
                                   changes->corrected);
  st.walked = end;
  if (renew(self))
    self->send(self, atom::reconcile_v);
}

} // namespace

reconcile_actor::behavior_type reconciler(self_ptr self, reconcile_config cfg) {
  auto& st = self->state;
  st.writes = write_path<reconcile_store>(
      self->system(), cfg.database,
      [](database& db) { return std::make_unique<reconcile_store>(db); },
      cfg.journal_timeout);
  st.start_pending = cfg.reconcile.on_start;
  st.started_at = now_us();
  st.cfg = std::move(cfg);
  st.cfg.stats->reconcile_running(false);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.now != phase::idle)
      finish(self, "stopped: the daemon shut down");
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::tick) {
        look_for_run(self);
        self->delayed_send(
            self,
            std::chrono::milliseconds(self->state.cfg.reconcile.poll_interval_ms),
            atom::tick_v);
      },
      [self](atom::wakeup) { look_for_run(self); },
      [self](atom::reconcile) {
        auto& st = self->state;
        switch (st.now) {
          case phase::listing:
            list_step(self);
            break;
          case phase::walking:
            walk_step(self);
            break;
          case phase::idle:
            break;
        }
      },
  };
}

} // namespace regevent
