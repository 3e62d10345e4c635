#include "actors/effect.hpp"

#include "actors/access_log.hpp"
#include "actors/artifacts.hpp"
#include "actors/errors.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/pull_counter.hpp"
#include "actors/repositories.hpp"
#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

namespace regevent {

effect_state::effect_state() = default;
effect_state::~effect_state() = default;

namespace {

bool ensure_open(effect_self self) {
  auto& st = self->state;
  if (st.store)
    return true;
  if (!st.reconnect.ready())
    return false;
  try {
    st.db = std::make_unique<database>(*st.rt.cfg);
    st.store = make_effect_store(st.effect, *st.db, *st.rt.cfg);
    st.reconnect.succeeded();
    return true;
  } catch (const std::exception& e) {
    st.reconnect.failed();
    spdlog::error("{} failed to connect to the database: {}", st.effect,
                  e.what());
    st.store.reset();
    st.db.reset();
    return false;
  }
}

void flush(effect_self self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.buffer.empty())
    return;
  auto batch = std::move(st.buffer);
  st.buffer.clear();
  auto& m = st.rt.stats->effect(st.effect);
#ifdef REGEVENT_WITH_FAULT_INJECTION
  if (st.faults && st.faults->mode != fault_mode::none) {
    auto left = st.faults->remaining.load();
    while (left > 0
           && !st.faults->remaining.compare_exchange_weak(left, left - 1)) {
    }
    if (left > 0) {
      spdlog::warn("{} injects a fault into a commit of {} requests "
                   "({} more to come)",
                   st.effect, batch.size(), left - 1);
      for (auto& r : batch)
        r.promise.deliver(make_error(ec::injected_fault, st.effect));
      // Requesters have their answer; now the actor dies for real and
      // the supervisor must restart it.
      if (st.faults->mode == fault_mode::raise)
        throw std::runtime_error("injected fault in " + st.effect);
      return;
    }
  }
#endif
  std::string failure;
  // An outage is not the events' fault: the dispatcher retries it without
  // spending attempts.
  ec code = ec::database_error;
  std::vector<bool> applied;
  auto started = std::chrono::steady_clock::now();
  if (!ensure_open(self)) {
    failure = "database unavailable";
    code = ec::database_unavailable;
  } else {
    std::vector<const effect_input*> events;
    events.reserve(batch.size());
    for (const auto& r : batch)
      events.push_back(&r.event);
    try {
      write_transaction tx(*st.db);
      st.store->apply(events, applied);
      tx.commit();
    } catch (const std::exception& e) {
      failure = e.what();
      if (is_transient_conflict(e))
        code = ec::database_conflict;
      else if (!still_connected(*st.db))
        code = ec::database_unavailable;
      st.store.reset();
      st.db.reset();
    }
  }
  if (!failure.empty()) {
    spdlog::error("{} failed to commit {} events: {}", st.effect, batch.size(),
                  failure);
    for (auto& r : batch)
      r.promise.deliver(make_error(code, failure));
    return;
  }
  m.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  m.batch_size.Observe(static_cast<double>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    if (applied[i])
      m.committed.Increment();
    else
      m.skipped.Increment();
    batch[i].promise.deliver(static_cast<bool>(applied[i]));
  }
}

} // namespace

effect_actor::behavior_type
effect_behavior(effect_self self, runtime rt, std::string effect,
                std::shared_ptr<fault_budget> faults) {
  auto& st = self->state;
  st.rt = std::move(rt);
  st.effect = std::move(effect);
  st.settings = st.rt.cfg->effects.actors.at(st.effect);
  st.faults = std::move(faults);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Commit what was accepted before going down.
    try {
      flush(self);
    } catch (const std::exception& e) {
      spdlog::warn("{} failed its last flush: {}", self->state.effect,
                   e.what());
    }
    self->quit(msg.reason);
  });
  return {
      [self](atom::apply, planned_event& event) -> caf::result<bool> {
        auto& st = self->state;
        auto rp = self->make_response_promise<bool>();
        st.buffer.push_back({std::move(event), rp});
        if (st.buffer.size() >= st.settings.batch_size) {
          flush(self);
        } else if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          if (st.settings.batch_delay_ms == 0)
            self->send(self, atom::flush_v);
          else
            self->delayed_send(
                self, std::chrono::milliseconds(st.settings.batch_delay_ms),
                atom::flush_v);
        }
        return rp;
      },
      [self](atom::resolve, const std::string& project) -> caf::result<bool> {
        auto& st = self->state;
        if (!ensure_open(self))
          return make_error(ec::database_unavailable, "resolve " + project);
        try {
          return st.store->project_exists(project);
        } catch (const std::exception& e) {
          st.store.reset();
          st.db.reset();
          return make_error(ec::database_error, e.what());
        }
      },
      [self](atom::flush) { flush(self); },
  };
}

effect_actor spawn_effect(caf::actor_system& sys, const runtime& rt,
                          const std::string& effect,
                          std::shared_ptr<fault_budget> faults) {
  if (effect == effect_name::access_log)
    return sys.spawn<caf::detached>(access_log, rt, std::move(faults));
  if (effect == effect_name::repositories)
    return sys.spawn<caf::detached>(repositories, rt, std::move(faults));
  if (effect == effect_name::pull_counter)
    return sys.spawn<caf::detached>(pull_counter, rt, std::move(faults));
  if (effect == effect_name::artifacts)
    return sys.spawn<caf::detached>(artifacts, rt, std::move(faults));
  throw std::invalid_argument("unknown effect " + effect);
}

} // namespace regevent
