#include "actors/root.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <memory>

namespace regevent {

root_config root_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  root_config x;
  x.journal = journal_config::from(rt);
  x.effects = supervisor_config::from(rt);
  x.recovery = recovery_config::from(rt);
  x.http = http_actor_config::from(rt);
  x.restart = c.effects.restart;
  x.grace = std::chrono::milliseconds(c.shutdown_grace_ms);
  x.single_writer
      = c.database.parsed.backend == database_url::backend_kind::sqlite;
  x.stats = rt.stats;
  x.status = rt.status;
  return x;
}

void root_config::validate() const {
  journal.validate();
  effects.validate();
  recovery.validate();
  http.validate();
  if (!stats || !status)
    throw config_error("root: metrics and health are required");
}

namespace {

using self_ptr = root_actor::stateful_pointer<root_state>;
using role = root_state::role;

const char* name_of(role r) {
  switch (r) {
    case role::http:
      return "http actor";
    case role::recovery:
      return "recovery";
    case role::effects:
      return "effect supervisor";
    case role::journal:
      return "journal";
  }
  return "?";
}

/// Stop order.
constexpr std::array<role, 4> stages{role::http, role::recovery, role::effects,
                                     role::journal};

caf::actor_addr address_of(self_ptr self, role r) {
  auto& st = self->state;
  switch (r) {
    case role::http:
      return st.http.address();
    case role::recovery:
      return st.recovery.address();
    case role::effects:
      return st.effects.address();
    case role::journal:
      return st.journal.address();
  }
  return {};
}

template<class Handle>
void watch(self_ptr self, const Handle& h, role r) {
  self->monitor(h);
  self->state.alive[h.address()] = r;
}

void start_journal(self_ptr self) {
  auto& st = self->state;
  st.journal = self->system().spawn<caf::detached>(journal, st.cfg.journal);
  watch(self, st.journal, role::journal);
  self->system().registry().put(registry_key::journal, st.journal);
}

void start_recovery(self_ptr self) {
  auto& st = self->state;
  st.recovery = self->system().spawn<caf::detached>(recovery, st.cfg.recovery,
                                                    st.journal, st.effects);
  watch(self, st.recovery, role::recovery);
}

void start_http(self_ptr self) {
  auto& st = self->state;
  st.http = self->system().spawn(http_actor_impl, st.cfg.http, st.journal,
                                 st.recovery, st.effects);
  watch(self, st.http, role::http);
  self->system().registry().put(registry_key::http, st.http);
}

/// Sends the exit message to the current stage, or moves on when that
/// child is gone already; quits after the last.
void stop_stage(self_ptr self) {
  auto& st = self->state;
  while (st.stage < stages.size()) {
    auto r = stages[st.stage];
    auto addr = address_of(self, r);
    if (st.alive.count(addr) > 0) {
      self->send_exit(addr, st.stop_reason);
      self->delayed_send(self, st.cfg.grace, atom::next_stage_v,
                         static_cast<uint64_t>(st.stage));
      return;
    }
    ++st.stage;
  }
  self->system().registry().erase(registry_key::http);
  self->system().registry().erase(registry_key::journal);
  self->quit(st.stop_reason);
}

void restart(self_ptr self, role r, const caf::error& reason) {
  auto& st = self->state;
  if (r == role::effects || !st.budgets[r].allow()) {
    auto why = r == role::effects
                   ? std::string(name_of(r)) + " stopped: " + describe(reason)
                   : st.budgets[r].why_refused(name_of(r));
    spdlog::critical("root gives up on the {}: {}", name_of(r), why);
    st.cfg.status->set_failed(why);
    return;
  }
  st.cfg.stats->supervisor_restarts.Increment();
  spdlog::warn("root restarts the {} after it died: {}", name_of(r),
               describe(reason));
  switch (r) {
    case role::journal:
      start_journal(self);
      // Those that talk to the journal are told the new one; dispatchers
      // that still hold the old one lose their final reports, and their
      // events are finished again once their claims expire.
      self->send(st.http, atom::bind_v, st.journal);
      self->send(st.recovery, atom::bind_v, st.journal);
      if (st.cfg.single_writer)
        self->send(st.effects, atom::bind_v, st.journal);
      break;
    case role::recovery:
      start_recovery(self);
      self->send(st.http, atom::bind_v, st.recovery);
      break;
    case role::http:
      start_http(self);
      break;
    case role::effects:
      break;
  }
}

} // namespace

root_actor::behavior_type root(self_ptr self, root_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (auto r : stages)
    st.budgets[r] = restart_budget{st.cfg.restart};
  start_journal(self);
  // SQLite allows one writer at a time: the effects commit through the
  // journal's group commit instead of taking turns at the write lock.
  // PostgreSQL keeps a writer per effect actor.
  if (st.cfg.single_writer)
    for (auto& p : st.cfg.effects.pools)
      p.actor.writer = st.journal;
  st.effects = self->system().spawn(supervisor, st.cfg.effects);
  watch(self, st.effects, role::effects);
  start_recovery(self);
  start_http(self);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.alive.find(msg.source);
    if (it == st.alive.end())
      return;
    auto r = it->second;
    st.alive.erase(it);
    if (!st.stopping) {
      restart(self, r, msg.reason);
      return;
    }
    if (st.stage < stages.size() && stages[st.stage] == r) {
      ++st.stage;
      stop_stage(self);
    }
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.stopping)
      return;
    st.stopping = true;
    st.stop_reason = msg.reason;
    stop_stage(self);
  });
  return {
      [self](atom::shutdown) -> caf::result<bool> {
        // Both stop starting work at once (recovery would otherwise claim
        // what the HTTP actor leaves); drained when both answered.
        auto& st = self->state;
        auto rp = self->make_response_promise<bool>();
        auto left = std::make_shared<int>(2);
        auto answered = [rp, left]() mutable {
          if (--*left == 0)
            rp.deliver(true);
        };
        auto failed = [rp](caf::error& e) mutable {
          rp.deliver(e);
        };
        self->request(st.http, caf::infinite, atom::shutdown_v)
            .then([answered](bool) mutable { answered(); }, failed);
        self->request(st.recovery, caf::infinite, atom::shutdown_v)
            .then([answered](bool) mutable { answered(); }, failed);
        return rp;
      },
      [self](atom::status) -> uint64_t { return self->state.alive.size(); },
      [self](atom::next_stage, uint64_t stage) {
        auto& st = self->state;
        if (!st.stopping || st.stage != stage)
          return;
        spdlog::warn("the {} did not stop within the grace period; going on",
                     name_of(stages[st.stage]));
        ++st.stage;
        stop_stage(self);
      },
  };
}

} // namespace regevent
