#include "actors/journal.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/sql_guard.hpp"
#include "config/error.hpp"
#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/journal_store.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <string_view>

namespace regevent {

/// What the writer's connection writes with: the journal's statements and,
/// made on first use, each effect's.
struct writer_stores {
  writer_stores(database& db, unknown_project_policy unknown_project)
      : journal(db), db_(db), unknown_project_(unknown_project) {}

  effect_store& effect(effect_kind kind) {
    auto& store = effects_[static_cast<size_t>(kind)];
    if (!store)
      store = make_effect_store(kind, db_, unknown_project_);
    return *store;
  }

  journal_store journal;

private:
  database& db_;
  unknown_project_policy unknown_project_;
  std::array<std::unique_ptr<effect_store>, all_effects.size()> effects_;
};

journal_config journal_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  journal_config x;
  x.database = c.database;
  x.group_commit_max = c.ingest.group_commit_max;
  x.claim_lease = std::chrono::milliseconds(c.dispatch.claim_lease_ms);
  x.wal_limit_bytes = c.database.wal_limit_bytes;
  x.instance_id = rt.instance_id;
  x.unknown_project = c.filter.unknown_project;
  x.stats = rt.stats;
  x.status = rt.status;
  x.faults = fault_budget_for(c, "journal");
  return x;
}

void journal_config::validate() const {
  if (group_commit_max == 0)
    throw config_error("journal: group_commit_max must be positive");
  if (claim_lease.count() <= 0)
    throw config_error("journal: the claim lease must be positive");
  if (tick.count() <= 0 || recount_every_ticks == 0)
    throw config_error("journal: the tick and recount period must be positive");
  if (instance_id.empty())
    throw config_error("journal: the instance id is empty");
  if (!stats || !status)
    throw config_error("journal: metrics and health are required");
}

journal_state::journal_state() = default;
journal_state::~journal_state() = default;

namespace {

using self_ptr = journal_actor::stateful_pointer<journal_state>;

constexpr size_t dead_status = 3;
static_assert(std::string_view(event_status_names[dead_status]) == "dead");

/// Tells the listeners the backlog and the database's health when either
/// changed since they were last told.
void tell(self_ptr self) {
  auto& st = self->state;
  auto now = std::make_pair(
      static_cast<uint64_t>(std::max<int64_t>(0, st.backlog)), st.database_ok);
  st.cfg.stats->backlog.Set(static_cast<double>(now.first));
  st.cfg.stats->events_by_status[0]->Set(static_cast<double>(now.first));
  if (st.finished)
    for (size_t i = 1; i < st.finished->size(); ++i)
      st.cfg.stats->events_by_status[i]->Set(
          static_cast<double>((*st.finished)[i]));
  st.cfg.status->database_ok = st.database_ok;
  if (now == st.told)
    return;
  st.told = now;
  for (const auto& [addr, listener] : st.listeners)
    self->send(listener, atom::backlog_v, now.first, now.second);
}

/// On SQLite, counts the finished events by status once (a full read);
/// from then on the journal counts its own transitions.
void count_finished(self_ptr self) {
  auto& st = self->state;
  if (st.finished)
    return;
  auto counts = st.conn.run([](writer_stores& w, database& db) {
    std::optional<journal_store::status_counts> x;
    if (db.is_sqlite())
      x = w.journal.count_by_status();
    return x;
  });
  if (counts)
    st.finished = *counts;
}

/// Applies transitions to the counts by status: `moved` went from pending
/// to each status, `removed` were deleted.
void count_transitions(self_ptr self, const journal_store::status_counts& moved,
                       const journal_store::status_counts& removed) {
  auto& st = self->state;
  long long finished = 0;
  for (size_t i = 1; i < moved.size(); ++i)
    finished += moved[i];
  st.backlog -= finished;
  if (!st.finished)
    return;
  for (size_t i = 1; i < moved.size(); ++i)
    (*st.finished)[i] += moved[i] - removed[i];
}

void recount(self_ptr self) {
  auto& st = self->state;
  count_finished(self);
  // Only the pending count: it reads the partial indexes of pending rows.
  auto pending = st.conn.run(
      [](writer_stores& w, database&) { return w.journal.count_pending(); });
  if (!pending) {
    spdlog::warn("journal failed to count events: {}",
                 describe(pending.error()));
    st.database_ok = false;
  } else {
    st.backlog = static_cast<int64_t>(*pending);
    st.database_ok = true;
  }
  tell(self);
}

/// Answers every buffered request with `err` (a failed commit, or the
/// journal going down) so that no requester waits for its timeout.
void fail_buffered(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  for (auto& a : st.appends)
    a.promise.deliver(err);
  for (auto& d : st.deads)
    d.promise.deliver(err);
  // The writer's failure says nothing about the effects' events: their
  // dispatchers retry without spending attempts.
  auto outage
      = make_error(ec::database_unavailable, "writer failed: " + describe(err));
  for (auto& e : st.effects)
    e.promise.deliver(outage);
  for (auto& j : st.jobs)
    j.promise.deliver(err);
  st.appends.clear();
  st.deads.clear();
  st.effects.clear();
  st.jobs.clear();
  st.buffered_events = 0;
}

/// Applies one effect batch inside the open transaction, in a savepoint:
/// a batch the database refuses is rolled back alone and answered with its
/// error, the rest of the group commit goes on.
caf::expected<effect_outcome> apply_effects(writer_stores& w, database& db,
                                            const effect_batch& batch) {
  savepoint sp(db);
  try {
    std::vector<const effect_input*> events;
    events.reserve(batch.events.size());
    for (const auto& e : batch.events)
      events.push_back(&e);
    effect_outcome out;
    w.effect(batch.effect).apply(events, out.applied);
    sp.release();
    return out;
  } catch (const std::exception& e) {
    sp.rollback();
    auto code = classify_sql_failure(&db, e);
    // A lost connection or a conflict fails the commit too; rethrown, the
    // whole group is answered with it.
    if (code != ec::database_error)
      throw;
    return make_error(code,
                      std::string(to_string(batch.effect)) + ": " + e.what());
  }
}

/// Records a successful commit in the metrics.
void count_commit(self_ptr self,
                  std::chrono::steady_clock::time_point started) {
  auto& m = *self->state.cfg.stats;
  m.journal_commits.Increment();
  m.journal_commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
}

/// Records a failed commit; the caller answers its requesters.
caf::error count_failure(self_ptr self, const caf::error& failure,
                         size_t requests) {
  auto& st = self->state;
  st.cfg.stats->journal_failures.Increment();
  st.database_ok = false;
  spdlog::error("journal failed to commit {} requests: {}", requests,
                describe(failure));
  return make_error(ec::database_unavailable, describe(failure));
}

/// Journals the buffered appends in one transaction and answers each with
/// the events that were new.
void commit_appends(self_ptr self,
                    std::vector<journal_state::pending_append>& appends) {
  auto& st = self->state;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::vector<bool>> fresh(appends.size());
  std::vector<std::vector<long long>> seqs(appends.size());
  auto committed = st.conn.run([&](writer_stores& w, database& db) {
    auto expires = now_us()
                   + std::chrono::duration_cast<std::chrono::microseconds>(
                         st.cfg.claim_lease)
                         .count();
    write_transaction tx(db);
    for (size_t i = 0; i < appends.size(); ++i)
      w.journal.append(appends[i].events,
                       appends[i].claim ? st.cfg.instance_id : std::string{},
                       expires, fresh[i], &seqs[i]);
    tx.commit();
    return true;
  });
  if (!committed) {
    auto err = count_failure(self, committed.error(), appends.size());
    for (auto& a : appends)
      a.promise.deliver(err);
    return;
  }
  count_commit(self, started);
  st.cfg.stats->journal_batch_size.Observe(static_cast<double>(appends.size()));
  std::vector<std::vector<event_record>> accepted(appends.size());
  int64_t new_events = 0;
  for (size_t i = 0; i < appends.size(); ++i) {
    auto& events = appends[i].events;
    for (size_t j = 0; j < events.size(); ++j) {
      if (fresh[i][j]) {
        events[j].raw.clear();
        events[j].seq = seqs[i][j];
        accepted[i].push_back(std::move(events[j]));
      }
    }
    new_events += static_cast<int64_t>(accepted[i].size());
  }
  st.backlog += new_events;
  st.database_ok = true;
  // The listeners hear the new backlog before any requester hears its ack:
  // the HTTP actor is both, and messages from one sender arrive in order,
  // so a registry's next request is judged against a backlog that already
  // holds its last one (the final tell comes only after outcomes and jobs).
  tell(self);
  for (size_t i = 0; i < appends.size(); ++i)
    appends[i].promise.deliver(std::move(accepted[i]));
}

/// Commits final states, dead letters and effect batches in one
/// transaction, each effect batch in a savepoint, and answers each.
void commit_outcomes(self_ptr self, std::vector<status_update> finishes,
                     std::vector<journal_state::pending_dead>& deads,
                     std::vector<journal_state::pending_effects>& effects) {
  auto& st = self->state;
  auto started = std::chrono::steady_clock::now();
  std::vector<caf::expected<effect_outcome>> outcomes;
  journal_store::status_counts moved{};
  auto committed = st.conn.run([&](writer_stores& w, database& db) {
    outcomes.clear();
    auto now = now_us();
    write_transaction tx(db);
    moved = w.journal.update_status(finishes, now);
    std::vector<status_update> dead_updates;
    for (auto& d : deads) {
      w.journal.add_dead_letter(d.letter, now);
      dead_updates.push_back({d.letter.event_id, event_status::dead,
                              d.letter.effect + ": " + d.letter.error});
    }
    auto died = w.journal.update_status(dead_updates, now);
    for (size_t i = 0; i < moved.size(); ++i)
      moved[i] += died[i];
    for (const auto& e : effects)
      outcomes.push_back(apply_effects(w, db, e.batch));
    tx.commit();
    return true;
  });
  if (!committed) {
    auto err = count_failure(self, committed.error(),
                             finishes.size() + deads.size() + effects.size());
    for (auto& d : deads)
      d.promise.deliver(err);
    for (auto& e : effects)
      e.promise.deliver(committed.error());
    // Final states are not lost if this retry fails too: the events stay
    // pending and recovery finishes them again.
    st.finishes.insert(st.finishes.end(),
                       std::make_move_iterator(finishes.begin()),
                       std::make_move_iterator(finishes.end()));
    return;
  }
  count_commit(self, started);
  for (auto& d : deads)
    d.promise.deliver(true);
  for (size_t i = 0; i < effects.size(); ++i) {
    if (outcomes[i])
      effects[i].promise.deliver(std::move(*outcomes[i]));
    else
      effects[i].promise.deliver(outcomes[i].error());
  }
  count_transitions(self, moved, {});
  st.database_ok = true;
}

/// Runs each job between commits (each opens its own transaction where it
/// needs one, so that one that fails rolls back alone) and answers each.
void run_jobs(self_ptr self, std::vector<journal_state::pending_job>& jobs) {
  auto& st = self->state;
  for (auto& j : jobs) {
    auto started = std::chrono::steady_clock::now();
    auto removed = st.conn.run([&](writer_stores& w, database& db) {
      writer_context ctx{db, &w.journal};
      j.job->run(ctx);
      return ctx.removed;
    });
    if (!removed) {
      j.promise.deliver(removed.error());
      continue;
    }
    count_commit(self, started);
    count_transitions(self, {}, *removed);
    j.promise.deliver(true);
  }
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.appends.empty() && st.finishes.empty() && st.deads.empty()
      && st.effects.empty() && st.jobs.empty())
    return;
#ifdef REGEVENT_WITH_FAULT_INJECTION
  if (st.cfg.faults && st.cfg.faults->take()) {
    spdlog::warn("journal injects a fault into a commit of {} requests",
                 st.appends.size() + st.deads.size() + st.effects.size());
    fail_buffered(self, make_error(ec::injected_fault, "journal"));
    st.finishes.clear();
    // Requesters have their answer; now the journal dies for real and the
    // root actor must restart it. The lost final states are finished again
    // once their claims expire.
    if (st.cfg.faults->mode == fault_mode::raise)
      throw std::runtime_error("injected fault in the journal");
    return;
  }
#endif
  auto appends = std::move(st.appends);
  auto finishes = std::move(st.finishes);
  auto deads = std::move(st.deads);
  auto effects = std::move(st.effects);
  auto jobs = std::move(st.jobs);
  st.appends.clear();
  st.finishes.clear();
  st.deads.clear();
  st.effects.clear();
  st.jobs.clear();
  st.buffered_events = 0;
  // The ack path first, in a transaction of its own: a registry's request
  // waits for its append only, never for effects of other batches. What
  // follows (final states, dead letters, effect batches) commits right
  // after, in one transaction.
  if (!appends.empty())
    commit_appends(self, appends);
  if (!finishes.empty() || !deads.empty() || !effects.empty())
    commit_outcomes(self, std::move(finishes), deads, effects);
  // Claims, heartbeats, retention and webhook bookkeeping last: never in
  // front of an acknowledgement.
  if (!jobs.empty())
    run_jobs(self, jobs);
  tell(self);
}

/// Keeps the SQLite WAL bounded; a no-op on PostgreSQL.
void truncate_wal(self_ptr self) {
  auto& st = self->state;
  if (!st.conn.is_open())
    return;
  auto started = std::chrono::steady_clock::now();
  auto truncated = st.conn.run([&](writer_stores&, database& db) {
    return db.truncate_wal_above(st.cfg.wal_limit_bytes);
  });
  if (!truncated)
    spdlog::warn("journal failed to checkpoint the WAL: {}",
                 describe(truncated.error()));
  else if (*truncated)
    spdlog::info("journal truncated the WAL in {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.buffered_events >= st.cfg.group_commit_max) {
    flush(self);
    return;
  }
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, atom::flush_v);
  }
}

} // namespace

journal_actor::behavior_type journal(self_ptr self, journal_config cfg) {
  auto& st = self->state;
  st.conn = store_connection<writer_stores>(
      cfg.database, [policy = cfg.unknown_project](database& db) {
        return std::make_unique<writer_stores>(db, policy);
      });
  st.cfg = std::move(cfg);
  recount(self);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    flush(self);
    fail_buffered(self, make_error(ec::shutting_down, "journal stopped"));
    self->quit(msg.reason);
  });
  // A crash still answers every buffered request, at once.
  self->set_exception_handler([self](std::exception_ptr& eptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto err = make_error(ec::database_error, "journal died: " + what);
    fail_buffered(self, err);
    return err;
  });
  self->set_down_handler([self](const caf::down_msg& msg) {
    self->state.listeners.erase(msg.source);
  });
  self->delayed_send(self, st.cfg.tick, atom::tick_v);
  return {
      [self](atom::append, std::vector<event_record>& events,
             bool claim) -> caf::result<std::vector<event_record>> {
        auto rp = self->make_response_promise<std::vector<event_record>>();
        self->state.buffered_events += events.size();
        self->state.appends.push_back({std::move(events), claim, rp});
        schedule_flush(self);
        return rp;
      },
      [self](atom::finish, std::vector<status_update>& updates) {
        auto& st = self->state;
        st.buffered_events += updates.size();
        st.finishes.insert(st.finishes.end(),
                           std::make_move_iterator(updates.begin()),
                           std::make_move_iterator(updates.end()));
        schedule_flush(self);
      },
      [self](atom::dead, dead_letter& letter) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        self->state.deads.push_back({std::move(letter), rp});
        self->state.buffered_events += 1;
        schedule_flush(self);
        return rp;
      },
      [self](atom::apply, effect_batch& batch) -> caf::result<effect_outcome> {
        auto rp = self->make_response_promise<effect_outcome>();
        self->state.buffered_events += batch.events.size();
        self->state.effects.push_back({std::move(batch), rp});
        schedule_flush(self);
        return rp;
      },
      [self](atom::resolve, const std::string& project) -> caf::result<bool> {
        auto exists = self->state.conn.run([&](writer_stores& w, database&) {
          return w.effect(effect_kind::repositories).project_exists(project);
        });
        if (!exists)
          return std::move(exists.error());
        return *exists;
      },
      [self](atom::write, writer_job_handle& h) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        self->state.jobs.push_back({std::move(h.job), rp});
        schedule_flush(self);
        return rp;
      },
      [self](atom::pending) -> uint64_t {
        return static_cast<uint64_t>(std::max<int64_t>(0, self->state.backlog));
      },
      [self](atom::replay, int64_t id) -> caf::result<replay_result> {
        auto& st = self->state;
        // Buffered appends and finishes commit first: a replay never
        // overtakes the final state it undoes.
        flush(self);
        auto x = st.conn.run([id](writer_stores& w, database& db) {
          write_transaction tx(db);
          auto r = w.journal.replay_dead_letter(id, now_us());
          tx.commit();
          return r;
        });
        if (!x)
          return std::move(x.error());
        if (!*x)
          return make_error(ec::not_found,
                            "dead letter " + std::to_string(id) + " not found");
        if ((*x)->requeued) {
          ++st.backlog;
          if (st.finished)
            --(*st.finished)[dead_status];
          tell(self);
        }
        return std::move(**x);
      },
      [self](atom::subscribe, backlog_listener& listener) {
        auto& st = self->state;
        self->monitor(listener);
        // Start-up's recount has told a value already.
        self->send(listener, atom::backlog_v, st.told.first, st.told.second);
        st.listeners.emplace(listener.address(), std::move(listener));
      },
      [self](atom::flush) { flush(self); },
      [self](atom::tick) {
        auto& st = self->state;
        ++st.ticks;
        if (!st.database_ok || st.ticks % st.cfg.recount_every_ticks == 0)
          recount(self);
        if (!st.finishes.empty())
          schedule_flush(self);
        truncate_wal(self);
        self->delayed_send(self, st.cfg.tick, atom::tick_v);
      },
  };
}

} // namespace regevent
