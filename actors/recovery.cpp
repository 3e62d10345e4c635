#include "actors/recovery.hpp"

#include "actors/dispatcher.hpp"
#include "actors/observability/metrics.hpp"
#include "persistence/database.hpp"
#include "persistence/journal_store.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

namespace regevent {

recovery_state::recovery_state() = default;
recovery_state::~recovery_state() = default;

namespace {

using self_ptr = recovery_actor::stateful_pointer<recovery_state>;

bool ensure_open(self_ptr self) {
  auto& st = self->state;
  if (st.db)
    return true;
  try {
    st.db = std::make_unique<database>(*st.rt.cfg);
    st.store = std::make_unique<journal_store>(*st.db);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("recovery failed to connect to the database: {}", e.what());
    return false;
  }
}

/// Tells the other instances this one is alive, so that they leave its
/// claims alone; a dead instance's claims are taken over at once.
void heartbeat(self_ptr self) {
  auto& st = self->state;
  if (!ensure_open(self))
    return;
  try {
    st.store->heartbeat(st.rt.instance_id, now_us());
  } catch (const std::exception& e) {
    spdlog::warn("recovery failed to write its heartbeat: {}", e.what());
    st.store.reset();
    st.db.reset();
  }
}

void pump(self_ptr self) {
  auto& st = self->state;
  const auto& cfg = *st.rt.cfg;
  if (st.stopping || cfg.effects.paused)
    return;
  while (st.more && st.active < cfg.dispatch.recovery_dispatchers) {
    std::vector<event_record> batch;
    if (!ensure_open(self))
      return; // The next tick tries again.
    try {
      auto now = now_us();
      auto expires
          = now + static_cast<int64_t>(cfg.dispatch.claim_lease_ms) * 1000;
      auto alive_since
          = now
            - static_cast<int64_t>(cfg.dispatch.heartbeat_timeout_ms) * 1000;
      batch = st.store->claim(st.rt.instance_id, now, expires, alive_since,
                              cfg.dispatch.recovery_batch);
    } catch (const std::exception& e) {
      spdlog::warn("recovery failed to claim events: {}", e.what());
      st.store.reset();
      st.db.reset();
      return; // The next tick tries again.
    }
    if (batch.size() < cfg.dispatch.recovery_batch)
      st.more = false;
    if (batch.empty())
      return;
    spdlog::debug("recovery dispatches {} journaled events", batch.size());
    auto d = self->spawn(dispatcher, st.rt, st.journal, st.supervisor,
                         std::move(batch));
    self->monitor(d);
    st.dispatchers.emplace(d.address(), d);
    ++st.active;
    st.rt.stats->dispatchers.Increment();
  }
}

} // namespace

recovery_actor::behavior_type recovery(self_ptr self, runtime rt,
                                       journal_actor journal,
                                       supervisor_actor supervisor) {
  auto& st = self->state;
  st.rt = std::move(rt);
  st.journal = std::move(journal);
  st.supervisor = std::move(supervisor);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    st.dispatchers.erase(msg.source);
    --st.active;
    st.rt.stats->dispatchers.Decrement();
    // A finished batch may have been one of many.
    st.more = true;
    pump(self);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    for (const auto& [addr, d] : st.dispatchers)
      self->send_exit(d, msg.reason);
    try {
      if (st.store) {
        st.store->forget_instance(st.rt.instance_id);
        auto n = st.store->release(st.rt.instance_id);
        if (n > 0)
          spdlog::info("recovery gave back {} claimed events", n);
      }
    } catch (const std::exception& e) {
      spdlog::warn("recovery failed to give back claims: {}", e.what());
    }
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
        self->state.more = true;
        pump(self);
        self->delayed_send(self,
                           std::chrono::milliseconds(
                               self->state.rt.cfg->dispatch.recovery_poll_ms),
                           atom::tick_v);
      },
      [self](atom::shutdown) {
        self->state.stopping = true;
        return true;
      },
      [self](atom::status) { return self->state.active; },
  };
}

} // namespace regevent
