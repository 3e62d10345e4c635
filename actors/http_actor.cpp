#include "actors/http_actor.hpp"

#include "actors/dispatcher.hpp"
#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>
#include <spdlog/spdlog.h>

namespace regevent {

namespace {

using self_ptr = http_actor::stateful_pointer<http_actor_state>;

/// The fewest milliseconds between two wakeups of the recovery actor.
constexpr auto wakeup_interval = std::chrono::milliseconds(50);

} // namespace

http_actor::behavior_type
http_actor_impl(self_ptr self, runtime rt, journal_actor journal,
                recovery_actor recovery, supervisor_actor supervisor) {
  auto& st = self->state;
  st.rt = std::move(rt);
  st.journal = std::move(journal);
  st.recovery = std::move(recovery);
  st.supervisor = std::move(supervisor);
  self->set_down_handler([self](const caf::down_msg& msg) {
    --self->state.active;
    self->state.rt.stats->dispatchers.Decrement();
    self->state.dispatchers.erase(msg.source);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Unfinished batches stay journaled for the next start.
    for (const auto& [addr, d] : self->state.dispatchers)
      self->send_exit(d, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self](atom::ingest, ingest_request& req) {
        auto& st = self->state;
        const auto& cfg = *st.rt.cfg;
        auto& m = *st.rt.stats;
        if (st.stopping) {
          req.done(make_error(ec::shutting_down, "shutting down"));
          return;
        }
        if (!st.rt.status->database_ok) {
          req.done(
              make_error(ec::database_unavailable, "database unreachable"));
          return;
        }
        if (m.backlog.Value() >= static_cast<double>(cfg.ingest.max_backlog)) {
          req.done(make_error(ec::overloaded,
                              "backlog of " + std::to_string(as_count(m.backlog))
                                  + " events exceeds ingest.max_backlog"));
          return;
        }
        m.events_ignored.Increment(req.ignored);
        if (req.events.empty()) {
          req.done(ingest_result{0, 0, req.ignored});
          return;
        }
        bool claim = !cfg.effects.paused
                     && st.active + st.reserved < cfg.dispatch.max_dispatchers;
        if (claim)
          ++st.reserved;
        auto sent = req.events.size();
        auto done = std::move(req.done);
        auto ignored = req.ignored;
        self->request(st.journal,
                      std::chrono::milliseconds(cfg.ingest.journal_timeout_ms),
                      atom::append_v, std::move(req.events), claim)
            .then(
                [self, done, sent, ignored,
                 claim](std::vector<event_record>& fresh) {
                  auto& st = self->state;
                  auto& m = *st.rt.stats;
                  m.events_accepted.Increment(fresh.size());
                  m.events_duplicate.Increment(sent - fresh.size());
                  done(ingest_result{fresh.size(), sent - fresh.size(),
                                     ignored});
                  if (claim)
                    --st.reserved;
                  if (fresh.empty())
                    return;
                  if (claim && !st.stopping) {
                    // The answers of one group commit arrive back to back;
                    // a `flush` behind them hands them all to one
                    // dispatcher.
                    st.undispatched.insert(
                        st.undispatched.end(),
                        std::make_move_iterator(fresh.begin()),
                        std::make_move_iterator(fresh.end()));
                    if (!st.flush_scheduled) {
                      st.flush_scheduled = true;
                      self->send(self, atom::flush_v);
                    }
                  } else if (auto now = std::chrono::steady_clock::now();
                             now - st.last_wakeup > wakeup_interval) {
                    // Once is enough while the pool is full: recovery
                    // claims in batches, and its own tick follows up.
                    st.last_wakeup = now;
                    self->send(st.recovery, atom::wakeup_v);
                  }
                },
                [self, done, claim](caf::error& e) {
                  auto& st = self->state;
                  if (claim)
                    --st.reserved;
                  spdlog::warn("http actor failed to journal a batch: {}",
                               describe(e));
                  done(make_error(ec::database_unavailable,
                                  "journal unavailable: " + describe(e)));
                });
      },
      [self](atom::flush) {
        auto& st = self->state;
        st.flush_scheduled = false;
        auto events = std::move(st.undispatched);
        st.undispatched.clear();
        const auto chunk = st.rt.cfg->dispatch.recovery_batch;
        for (size_t first = 0; first < events.size(); first += chunk) {
          auto last = std::min(events.size(), first + chunk);
          std::vector<event_record> batch(
              std::make_move_iterator(events.begin() + first),
              std::make_move_iterator(events.begin() + last));
          auto d = self->spawn(dispatcher, st.rt, st.journal, st.supervisor,
                               std::move(batch));
          self->monitor(d);
          st.dispatchers.emplace(d.address(), d);
          ++st.active;
          st.rt.stats->dispatchers.Increment();
        }
      },
      [self](atom::shutdown) {
        self->state.stopping = true;
        return true;
      },
      [self](atom::status) {
        return self->state.active + self->state.reserved;
      },
  };
}

} // namespace regevent
