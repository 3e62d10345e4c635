#include "actors/http_actor.hpp"

#include "actors/errors.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

namespace regevent {

http_actor_config http_actor_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  http_actor_config x;
  x.max_backlog = c.ingest.max_backlog;
  x.journal_timeout = std::chrono::milliseconds(c.ingest.journal_timeout_ms);
  x.max_dispatchers = c.dispatch.max_dispatchers;
  x.batch = c.dispatch.recovery_batch;
  x.paused = c.effects.paused;
  x.dispatch = dispatcher_config::from(rt);
  x.stats = rt.stats;
  return x;
}

void http_actor_config::validate() const {
  if (max_backlog == 0 || batch == 0)
    throw config_error("http actor: max_backlog and batch must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("http actor: the journal timeout must be positive");
  if (!dispatch || !stats)
    throw config_error("http actor: dispatcher config and metrics are "
                       "required");
  dispatch->validate();
}

namespace {

using self_ptr = http_actor::stateful_pointer<http_actor_state>;

/// Journals one notification; answers `done` after the commit, then hands
/// the fresh events to a dispatcher (or wakes recovery when the pool is
/// full).
void journal_batch(self_ptr self, ingest_request& req) {
  auto& st = self->state;
  bool claim = !st.cfg.paused && st.busy() < st.cfg.max_dispatchers;
  if (claim)
    ++st.reserved;
  auto sent = req.events.size();
  self->request(st.journal, st.cfg.journal_timeout, atom::append_v,
                std::move(req.events), claim)
      .then(
          [self, done = req.done, sent, ignored = req.ignored,
           claim](std::vector<event_record>& fresh) {
            auto& st = self->state;
            auto& m = *st.cfg.stats;
            m.events_accepted.Increment(static_cast<double>(fresh.size()));
            m.events_duplicate.Increment(
                static_cast<double>(sent - fresh.size()));
            done(ingest_result{fresh.size(), sent - fresh.size(), ignored});
            if (claim)
              --st.reserved;
            if (!fresh.empty() && claim && !st.dispatchers.stopping) {
              // The answers of one group commit arrive back to back; a
              // `flush` behind them hands them all to one dispatcher.
              st.undispatched.insert(st.undispatched.end(),
                                     std::make_move_iterator(fresh.begin()),
                                     std::make_move_iterator(fresh.end()));
              if (!st.flush_scheduled) {
                st.flush_scheduled = true;
                self->send(self, atom::flush_v);
              }
            } else if (!fresh.empty()) {
              // Once is enough while the pool is full: recovery claims in
              // batches, and its own tick follows up.
              auto now = std::chrono::steady_clock::now();
              if (now - st.last_wakeup > st.cfg.wakeup_interval) {
                st.last_wakeup = now;
                self->send(st.recovery, atom::wakeup_v);
              }
            }
            st.dispatchers.settle(st.busy());
          },
          [self, done = req.done, claim](caf::error& e) {
            auto& st = self->state;
            if (claim)
              --st.reserved;
            spdlog::warn("http actor failed to journal a batch: {}",
                         describe(e));
            done(make_error(ec::database_unavailable,
                            "journal unavailable: " + describe(e)));
            st.dispatchers.settle(st.busy());
          });
}

} // namespace

http_actor::behavior_type
http_actor_impl(self_ptr self, http_actor_config cfg, journal_actor journal,
                recovery_actor recovery, supervisor_actor supervisor) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.journal = std::move(journal);
  st.recovery = std::move(recovery);
  st.supervisor = std::move(supervisor);
  self->send(st.journal, atom::subscribe_v,
             caf::actor_cast<backlog_listener>(self));
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.dispatchers.running.erase(msg.source) == 0)
      return;
    st.cfg.stats->dispatchers.Decrement();
    st.dispatchers.settle(st.busy());
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Unfinished batches stay journaled for the next start.
    for (const auto& [addr, d] : self->state.dispatchers.running)
      self->send_exit(d, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self](atom::ingest, ingest_request& req) {
        auto& st = self->state;
        if (st.dispatchers.stopping) {
          req.done(make_error(ec::shutting_down, "shutting down"));
          return;
        }
        if (!st.database_ok) {
          req.done(
              make_error(ec::database_unavailable, "database unreachable"));
          return;
        }
        if (st.backlog >= st.cfg.max_backlog) {
          req.done(make_error(ec::overloaded,
                              "backlog of " + std::to_string(st.backlog)
                                  + " events exceeds ingest.max_backlog"));
          return;
        }
        st.cfg.stats->events_ignored.Increment(req.ignored);
        if (req.events.empty()) {
          req.done(ingest_result{0, 0, req.ignored});
          return;
        }
        journal_batch(self, req);
      },
      [self](atom::flush) {
        auto& st = self->state;
        st.flush_scheduled = false;
        auto events = std::move(st.undispatched);
        st.undispatched.clear();
        const auto chunk = st.cfg.batch;
        for (size_t first = 0; first < events.size(); first += chunk) {
          auto last = std::min(events.size(), first + chunk);
          std::vector<event_record> batch(
              std::make_move_iterator(events.begin() + first),
              std::make_move_iterator(events.begin() + last));
          auto d = self->spawn(dispatcher, st.cfg.dispatch, st.journal,
                               st.supervisor, std::move(batch));
          self->monitor(d);
          st.dispatchers.running.emplace(d.address(), d);
          st.cfg.stats->dispatchers.Increment();
        }
      },
      [self](atom::bind, journal_actor& journal) {
        auto& st = self->state;
        st.journal = std::move(journal);
        self->send(st.journal, atom::subscribe_v,
                   caf::actor_cast<backlog_listener>(self));
      },
      [self](atom::bind, recovery_actor& recovery) {
        self->state.recovery = std::move(recovery);
      },
      [self](atom::backlog, uint64_t backlog, bool database_ok) {
        self->state.backlog = backlog;
        self->state.database_ok = database_ok;
      },
      shutdown_handler(self),
      status_handler(self),
  };
}

} // namespace regevent
