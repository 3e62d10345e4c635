#include "actors/supervisor.hpp"

#include "actors/errors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"

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

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void start(self_ptr self, const std::string& effect, size_t index) {
  auto& st = self->state;
  auto handle = spawn_effect(self->system(), st.rt, effect, st.faults[effect]);
  self->monitor(handle);
  st.slots[handle.address()] = {effect, index};
  auto& pool = st.current.pools[effect];
  if (pool.size() <= index)
    pool.resize(index + 1);
  pool[index] = handle;
}

} // namespace

supervisor_actor::behavior_type supervisor(self_ptr self, runtime rt) {
  auto& st = self->state;
  st.rt = std::move(rt);
  const auto& cfg = *st.rt.cfg;
  for (const auto& [effect, settings] : cfg.effects.actors) {
    if (!settings.enabled)
      continue;
#ifdef REGEVENT_WITH_FAULT_INJECTION
    auto budget = std::make_shared<fault_budget>();
    if (cfg.faults.effect == effect) {
      budget->mode = cfg.faults.mode;
      budget->remaining = cfg.faults.count;
    }
    st.faults[effect] = budget;
#endif
    for (size_t i = 0; i < settings.instances; ++i)
      start(self, effect, i);
    spdlog::info("supervisor started {} x{} (batch {} / {} ms)", effect,
                 settings.instances, settings.batch_size,
                 settings.batch_delay_ms);
  }
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.slots.find(msg.source);
    if (it == st.slots.end())
      return;
    auto [effect, index] = it->second;
    st.slots.erase(it);
    if (st.stopping)
      return;
    const auto& policy = st.rt.cfg->effects.restart;
    auto now = std::chrono::steady_clock::now();
    auto& times = st.restarts[effect];
    while (!times.empty()
           && now - times.front() > std::chrono::seconds(policy.window_s))
      times.pop_front();
    if (times.size() >= policy.max_restarts) {
      auto why = effect + " died " + std::to_string(times.size() + 1)
                 + " times within " + std::to_string(policy.window_s)
                 + " s, past effects.restart.max_restarts ("
                 + std::to_string(policy.max_restarts) + ")";
      spdlog::critical("supervisor gives up on {}: {}", effect, why);
      st.rt.status->set_failed(why);
      return;
    }
    times.push_back(now);
    st.rt.stats->supervisor_restarts.Increment();
    spdlog::warn("supervisor restarts {} #{} after it died: {}", effect, index,
                 describe(msg.reason));
    start(self, effect, index);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    st.stopping = true;
    for (const auto& [effect, pool] : st.current.pools)
      for (const auto& handle : pool)
        self->send_exit(handle, msg.reason);
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
  };
}

} // namespace regevent
