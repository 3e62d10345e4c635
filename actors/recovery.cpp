#include "actors/recovery.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "config/database_url.hpp"
#include "config/error.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace regevent {

recovery_config recovery_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  recovery_config x;
  x.database = c.database;
  x.instance_id = rt.instance_id;
  x.max_dispatchers = c.dispatch.recovery_dispatchers;
  x.batch = c.dispatch.recovery_batch;
  x.poll = std::chrono::milliseconds(c.dispatch.recovery_poll_ms);
  x.claim_lease = std::chrono::milliseconds(c.dispatch.claim_lease_ms);
  x.heartbeat_timeout
      = std::chrono::milliseconds(c.dispatch.heartbeat_timeout_ms);
  x.paused = c.effects.paused;
  x.dispatch = dispatcher_config::from(rt);
  x.stats = rt.stats;
  return x;
}

void recovery_config::validate() const {
  if (max_dispatchers == 0 || batch == 0)
    throw config_error("recovery: dispatchers and batch must be positive");
  if (poll.count() <= 0 || claim_lease.count() <= 0)
    throw config_error("recovery: poll and claim lease must be positive");
  if (heartbeat_timeout < 3 * poll)
    throw config_error("recovery: the heartbeat timeout must be at least "
                       "three polls");
  if (instance_id.empty())
    throw config_error("recovery: the instance id is empty");
  if (!dispatch || !stats)
    throw config_error("recovery: dispatcher config and metrics are "
                       "required");
  dispatch->validate();
}

recovery_state::recovery_state() = default;
recovery_state::~recovery_state() = default;

namespace {

using self_ptr = recovery_actor::stateful_pointer<recovery_state>;

int64_t to_us(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

/// Tells the other instances this one is alive, so that they leave its
/// claims alone; a dead instance's claims are taken over at once. Written
/// by the journal, the single writer; the answer only matters when it
/// failed.
void heartbeat(self_ptr self) {
  auto& st = self->state;
  auto job = make_writer_job([id = st.cfg.instance_id](writer_context& ctx) {
    ctx.journal->heartbeat(id, now_us());
    return true;
  });
  self->request(st.journal, st.cfg.dispatch->journal_timeout, atom::write_v,
                writer_job_handle{job})
      .then([](bool) {},
            [](caf::error& e) {
              spdlog::warn("recovery failed to write its heartbeat: {}",
                           describe(e));
            });
}

/// On PostgreSQL, where several instances write, counts the finished
/// events by status for the metrics on this actor's own connection (a
/// reader: MVCC never holds a writer up). On SQLite the journal counts
/// its own transitions instead.
void count_statuses(self_ptr self) {
  auto& st = self->state;
  if (st.sqlite)
    return;
  auto every = std::max<int64_t>(1, st.cfg.status_count_interval.count()
                                        / st.cfg.poll.count());
  if (st.ticks_since_count != UINT64_MAX
      && ++st.ticks_since_count < static_cast<uint64_t>(every))
    return;
  st.ticks_since_count = 0;
  auto counts = st.conn.run(
      [](journal_store& store, database&) { return store.count_by_status(); });
  if (!counts) {
    spdlog::warn("recovery failed to count events by status: {}",
                 describe(counts.error()));
    return;
  }
  for (size_t i = 1; i < counts->size(); ++i)
    st.cfg.stats->events_by_status[i]->Set(static_cast<double>((*counts)[i]));
}

void pump(self_ptr self);

/// Hands a claimed batch to a new dispatcher.
void dispatch(self_ptr self, std::vector<event_record> batch) {
  auto& st = self->state;
  spdlog::debug("recovery dispatches {} journaled events", batch.size());
  auto d = self->spawn(dispatcher, st.cfg.dispatch, st.journal, st.supervisor,
                       std::move(batch));
  self->monitor(d);
  st.dispatchers.running.emplace(d.address(), d);
  st.cfg.stats->dispatchers.Increment();
}

/// Asks the journal (the single writer) to claim the next batch; one claim
/// is in flight at a time, and its answer claims the next while there is
/// room and work.
void pump(self_ptr self) {
  auto& st = self->state;
  const auto& cfg = st.cfg;
  if (st.dispatchers.stopping || cfg.paused || st.claiming)
    return;
  if (!st.more || st.busy() >= cfg.max_dispatchers)
    return;
  // Stale claims (expired, or a dead instance's) are looked for on the
  // periodic tick only: finding them walks every claimed row.
  auto scope = st.sweep_stale ? journal_store::claim_scope::unclaimed_and_stale
                              : journal_store::claim_scope::unclaimed;
  auto job = make_writer_job([owner = cfg.instance_id, lease = cfg.claim_lease,
                              alive = cfg.heartbeat_timeout, n = cfg.batch,
                              scope](writer_context& ctx) {
    auto now = now_us();
    return ctx.journal->claim(owner, now, now + to_us(lease),
                              now - to_us(alive), n, scope);
  });
  st.claiming = true;
  self->request(st.journal, cfg.dispatch->journal_timeout, atom::write_v,
                writer_job_handle{job})
      .then(
          [self, job](bool) {
            auto& st = self->state;
            st.claiming = false;
            auto& batch = *job->result;
            if (batch.size() < st.cfg.batch) {
              st.more = false;
              st.sweep_stale = false;
            }
            // Claimed while a drain began: left claimed, and given back
            // when recovery stops.
            if (!batch.empty() && !st.dispatchers.stopping)
              dispatch(self, std::move(batch));
            pump(self);
          },
          [self](caf::error& e) {
            // The next tick tries again.
            self->state.claiming = false;
            spdlog::warn("recovery failed to claim events: {}", describe(e));
          });
}

/// Gives this instance's claims back and forgets its heartbeat, through
/// the journal, as recovery goes. Nobody waits for the answer: the root
/// stops the journal only after recovery is gone, so this job is in its
/// mailbox before the exit message, and the journal's exit handler commits
/// what it has taken in.
void give_back(self_ptr self) {
  auto& st = self->state;
  if (!st.journal)
    return;
  auto job = make_writer_job([id = st.cfg.instance_id](writer_context& ctx) {
    ctx.journal->forget_instance(id);
    auto n = ctx.journal->release(id);
    if (n > 0)
      spdlog::info("recovery gave back {} claimed events", n);
    return n;
  });
  caf::anon_send(st.journal, atom::write_v, writer_job_handle{job});
}

} // namespace

recovery_actor::behavior_type recovery(self_ptr self, recovery_config cfg,
                                       journal_actor journal,
                                       supervisor_actor supervisor) {
  auto& st = self->state;
  st.sqlite = parse_database_url(cfg.database.url).backend
              == database_url::backend_kind::sqlite;
  if (!st.sqlite)
    st.conn = store_connection<journal_store>(cfg.database, [](database& db) {
      return std::make_unique<journal_store>(db);
    });
  st.cfg = std::move(cfg);
  st.journal = std::move(journal);
  st.supervisor = std::move(supervisor);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.dispatchers.running.erase(msg.source) == 0)
      return;
    st.cfg.stats->dispatchers.Decrement();
    st.dispatchers.settle(st.busy());
    // A finished batch may have been one of many.
    st.more = true;
    pump(self);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    for (const auto& [addr, d] : st.dispatchers.running)
      self->send_exit(d, msg.reason);
    give_back(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::tick_v);
  return {
      [self](atom::wakeup) {
        self->state.more = true;
        pump(self);
      },
      [self](atom::tick) {
        heartbeat(self);
        count_statuses(self);
        self->state.more = true;
        self->state.sweep_stale = true;
        pump(self);
        self->delayed_send(self, self->state.cfg.poll, atom::tick_v);
      },
      [self](atom::bind, journal_actor& journal) {
        self->state.journal = std::move(journal);
      },
      shutdown_handler(self),
      status_handler(self),
  };
}

} // namespace regevent
