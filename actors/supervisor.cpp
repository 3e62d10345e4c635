#include "actors/supervisor.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <functional>

namespace regevent {

size_t pick_instance(const std::string& key, size_t pool_size) {
  if (pool_size <= 1)
    return 0;
  return std::hash<std::string>{}(key) % pool_size;
}

supervisor_config supervisor_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  supervisor_config x;
  for (auto effect : all_effects) {
    const auto& topology = c.effects.actors.at(to_string(effect));
    if (topology.enabled)
      x.pools.push_back(
          {effect_actor_config::from(rt, effect), topology.instances});
  }
  x.restart = c.effects.restart;
  x.stats = rt.stats;
  x.status = rt.status;
  return x;
}

void supervisor_config::validate() const {
  for (const auto& p : pools) {
    p.actor.validate();
    if (p.instances == 0)
      throw config_error(std::string(to_string(p.actor.effect))
                         + ": an enabled effect needs instances");
  }
  if (!stats || !status || !spawn)
    throw config_error("supervisor: metrics, health and a spawner are "
                       "required");
}

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void start(self_ptr self, size_t pool, size_t index) {
  auto& st = self->state;
  const auto& p = st.cfg.pools[pool];
  auto handle = st.cfg.spawn(self->system(), p.actor);
  self->monitor(handle);
  st.slots[handle.address()] = {pool, index};
  auto& instances = st.current.pools[to_string(p.actor.effect)];
  if (instances.size() <= index)
    instances.resize(index + 1);
  instances[index] = handle;
}

} // namespace

supervisor_actor::behavior_type supervisor(self_ptr self,
                                           supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.budgets.assign(st.cfg.pools.size(), restart_budget{st.cfg.restart});
  for (size_t pool = 0; pool < st.cfg.pools.size(); ++pool) {
    const auto& p = st.cfg.pools[pool];
    for (size_t i = 0; i < p.instances; ++i)
      start(self, pool, i);
    spdlog::info("supervisor started {} x{} (batch {} / {} ms)",
                 to_string(p.actor.effect), p.instances, p.actor.batch_size,
                 p.actor.batch_delay.count());
  }
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.slots.find(msg.source);
    if (it == st.slots.end())
      return;
    auto [pool, index] = it->second;
    st.slots.erase(it);
    if (st.stopping) {
      if (st.slots.empty())
        self->quit(caf::exit_reason::user_shutdown);
      return;
    }
    const auto* effect = to_string(st.cfg.pools[pool].actor.effect);
    if (!st.budgets[pool].allow()) {
      auto why = st.budgets[pool].why_refused(effect);
      spdlog::critical("supervisor gives up on {}: {}", effect, why);
      st.cfg.status->set_failed(why);
      return;
    }
    st.cfg.stats->supervisor_restarts.Increment();
    spdlog::warn("supervisor restarts {} #{} after it died: {}", effect, index,
                 describe(msg.reason));
    start(self, pool, index);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    st.stopping = true;
    // Quits once every effect is down: they commit what they accepted.
    for (const auto& [addr, slot] : st.slots) {
      const auto& handle
          = st.current.pools[to_string(st.cfg.pools[slot.first].actor.effect)]
                            [slot.second];
      self->send_exit(handle, msg.reason);
    }
    if (st.slots.empty())
      self->quit(msg.reason);
  });
  return {
      [self](atom::get) -> effect_pools { return self->state.current; },
      [self](atom::get, const std::string& effect,
             const std::string& key) -> caf::result<effect_actor> {
        auto& pools = self->state.current.pools;
        auto it = pools.find(effect);
        if (it == pools.end() || it->second.empty())
          return make_error(ec::effect_unavailable, effect);
        return it->second[pick_instance(key, it->second.size())];
      },
      [self](atom::bind, journal_actor& writer) {
        auto& st = self->state;
        for (auto& p : st.cfg.pools)
          if (p.actor.writer)
            p.actor.writer = writer;
        for (auto& [name, instances] : st.current.pools)
          for (auto& instance : instances)
            self->send(instance, atom::bind_v, writer);
      },
  };
}

} // namespace regevent
