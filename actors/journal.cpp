#include "actors/journal.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/sql_guard.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <chrono>

namespace regevent {

journal_state::journal_state() = default;
journal_state::~journal_state() = default;

namespace {

using self_ptr = journal_actor::stateful_pointer<journal_state>;

/// How often the journal recounts its statuses (in ticks of one second).
constexpr uint64_t recount_every_ticks = 15;

bool ensure_open(self_ptr self) {
  auto& st = self->state;
  if (st.db)
    return true;
  if (!st.reconnect.ready())
    return false;
  try {
    st.db = std::make_unique<database>(*st.rt.cfg);
    st.store = std::make_unique<journal_store>(*st.db);
    st.reconnect.succeeded();
    return true;
  } catch (const std::exception& e) {
    st.reconnect.failed();
    spdlog::error("journal failed to connect to the database: {}", e.what());
    st.store.reset();
    st.db.reset();
    st.rt.status->database_ok = false;
    return false;
  }
}

void recount(self_ptr self) {
  auto& st = self->state;
  if (!ensure_open(self))
    return;
  try {
    auto counts = st.store->count_by_status();
    for (size_t i = 0; i < counts.size(); ++i)
      st.rt.stats->events_by_status[i]->Set(counts[i]);
    st.rt.stats->backlog.Set(counts[0]);
    st.rt.status->database_ok = true;
  } catch (const std::exception& e) {
    spdlog::warn("journal failed to count events: {}", e.what());
    st.rt.status->database_ok = false;
    st.store.reset();
    st.db.reset();
  }
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.appends.empty() && st.finishes.empty() && st.deads.empty())
    return;
  auto appends = std::move(st.appends);
  auto finishes = std::move(st.finishes);
  auto deads = std::move(st.deads);
  st.appends.clear();
  st.finishes.clear();
  st.deads.clear();
  st.buffered_events = 0;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::vector<bool>> fresh(appends.size());
  int64_t new_events = 0;
  std::string failure;
  if (!ensure_open(self)) {
    failure = "database unavailable";
  } else {
    try {
      auto now = now_us();
      auto expires
          = now
            + static_cast<int64_t>(st.rt.cfg->dispatch.claim_lease_ms) * 1000;
      write_transaction tx(*st.db);
      for (size_t i = 0; i < appends.size(); ++i)
        st.store->append(appends[i].events,
                         appends[i].claim ? st.rt.instance_id : std::string{},
                         expires, fresh[i]);
      st.store->update_status(finishes, now);
      std::vector<status_update> dead_updates;
      for (auto& d : deads) {
        st.store->add_dead_letter(d.letter, now);
        dead_updates.push_back({d.letter.event_id, event_status::dead,
                                d.letter.effect + ": " + d.letter.error});
      }
      st.store->update_status(dead_updates, now);
      tx.commit();
    } catch (const std::exception& e) {
      failure = e.what();
      // A broken connection is reopened on the next flush.
      st.store.reset();
      st.db.reset();
    }
  }
  auto& m = *st.rt.stats;
  if (!failure.empty()) {
    m.journal_failures.Increment();
    st.rt.status->database_ok = false;
    spdlog::error("journal failed to commit {} requests: {}", appends.size(),
                  failure);
    for (auto& a : appends)
      a.promise.deliver(make_error(ec::database_unavailable, failure));
    for (auto& d : deads)
      d.promise.deliver(make_error(ec::database_unavailable, failure));
    // Final states are not lost if this retry fails too: the events stay
    // pending and recovery finishes them again.
    st.finishes = std::move(finishes);
    return;
  }
  st.rt.status->database_ok = true;
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                               - started)
                     .count();
  m.journal_commits.Increment();
  m.journal_commit_seconds.Observe(elapsed);
  m.journal_batch_size.Observe(static_cast<double>(appends.size()));
  for (size_t i = 0; i < appends.size(); ++i) {
    std::vector<event_record> accepted;
    auto& events = appends[i].events;
    for (size_t j = 0; j < events.size(); ++j) {
      if (fresh[i][j]) {
        events[j].raw.clear();
        accepted.push_back(std::move(events[j]));
      }
    }
    new_events += static_cast<int64_t>(accepted.size());
    appends[i].promise.deliver(std::move(accepted));
  }
  for (auto& d : deads)
    d.promise.deliver(true);
  m.backlog.Increment(new_events - static_cast<int64_t>(finishes.size())
                      - static_cast<int64_t>(deads.size()));
}

/// Keeps the SQLite WAL bounded; a no-op on PostgreSQL.
void truncate_wal(self_ptr self) {
  auto& st = self->state;
  if (!st.db)
    return;
  try {
    auto started = std::chrono::steady_clock::now();
    if (st.db->truncate_wal_above(st.rt.cfg->database.wal_limit_bytes))
      spdlog::info("journal truncated the WAL in {} ms",
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count());
  } catch (const std::exception& e) {
    spdlog::warn("journal failed to checkpoint the WAL: {}", e.what());
  }
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.buffered_events >= st.rt.cfg->ingest.group_commit_max) {
    flush(self);
    return;
  }
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, atom::flush_v);
  }
}

} // namespace

journal_actor::behavior_type journal(self_ptr self, runtime rt) {
  self->state.rt = std::move(rt);
  recount(self);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    flush(self);
    self->quit(msg.reason);
  });
  self->delayed_send(self, std::chrono::seconds(1), atom::tick_v);
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
      [self](atom::pending) -> uint64_t {
        auto n = as_count(self->state.rt.stats->backlog);
        return n < 0 ? 0 : static_cast<uint64_t>(n);
      },
      [self](atom::replay, int64_t id) -> caf::result<replay_result> {
        auto& st = self->state;
        // Buffered appends and finishes commit first: a replay never
        // overtakes the final state it undoes.
        flush(self);
        if (!ensure_open(self))
          return make_error(ec::database_unavailable, "replay");
        auto x = guard_sql(
            st.db,
            [&] {
              write_transaction tx(*st.db);
              auto r = st.store->replay_dead_letter(id, now_us());
              tx.commit();
              return r;
            },
            [&st] {
              st.store.reset();
              st.db.reset();
            });
        if (!x)
          return std::move(x.error());
        if (!*x)
          return make_error(ec::not_found,
                            "dead letter " + std::to_string(id) + " not found");
        return std::move(**x);
      },
      [self](atom::flush) { flush(self); },
      [self](atom::tick) {
        auto& st = self->state;
        ++st.ticks;
        if (!st.rt.status->database_ok || st.ticks % recount_every_ticks == 0)
          recount(self);
        if (!st.finishes.empty())
          schedule_flush(self);
        truncate_wal(self);
        self->delayed_send(self, std::chrono::seconds(1), atom::tick_v);
      },
  };
}

} // namespace regevent
