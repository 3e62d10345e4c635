#include "actors/dispatcher.hpp"

#include "actors/errors.hpp"
#include "actors/filter.hpp"
#include "actors/observability/metrics.hpp"
#include "config/error.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

namespace regevent {

uint32_t backoff_ms(const retry_policy& policy, uint32_t attempt, double unit) {
  double delay = static_cast<double>(policy.base_ms)
                 * std::pow(2.0, static_cast<double>(std::min(attempt, 30u)));
  delay = std::min(delay, static_cast<double>(policy.max_ms));
  delay *= 1.0 + policy.jitter * (2.0 * unit - 1.0);
  return static_cast<uint32_t>(std::max(1.0, delay));
}

std::shared_ptr<const dispatcher_config>
dispatcher_config::from(const runtime& rt) {
  const auto& c = *rt.cfg;
  auto x = std::make_shared<dispatcher_config>();
  x->filter = c.filter;
  x->retry = c.effects.retry;
  x->journal_timeout = std::chrono::milliseconds(c.ingest.journal_timeout_ms);
  for (const auto& [name, e] : c.effects.actors)
    x->request_timeouts[name] = std::chrono::milliseconds(e.request_timeout_ms);
  x->stats = rt.stats;
  return x;
}

void dispatcher_config::validate() const {
  if (retry.attempts == 0)
    throw config_error("dispatcher: retry attempts must be positive");
  if (journal_timeout.count() <= 0)
    throw config_error("dispatcher: the journal timeout must be positive");
  for (auto e : all_effects)
    if (request_timeouts.count(to_string(e)) == 0
        || request_timeouts.at(to_string(e)).count() <= 0)
      throw config_error(std::string("dispatcher: no request timeout for ")
                         + to_string(e));
  if (!stats)
    throw config_error("dispatcher: metrics are required");
}

namespace {

using self_ptr = dispatcher_actor::stateful_pointer<dispatcher_state>;

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

void finish_if_done(self_ptr self) {
  auto& st = self->state;
  if (st.unresolved > 0)
    return;
  if (!st.updates.empty())
    self->send(st.journal, atom::finish_v, std::move(st.updates));
  self->quit();
}

void resolve_event_item(self_ptr self, size_t index, bool went_dead) {
  auto& st = self->state;
  auto& item = st.items[index];
  if (item.resolved)
    return;
  item.resolved = true;
  --st.unresolved;
  auto e = item.event;
  if (went_dead)
    st.dead[e] = true;
  if (--st.open[e] == 0) {
    if (st.dead[e]) {
      // The journal marked the event dead together with its dead letter.
      st.cfg->stats->events_dead.Increment();
    } else {
      st.updates.push_back(
          {st.kept[e].event.id, event_status::done, std::string{}});
      st.cfg->stats->events_done.Increment();
    }
  }
  finish_if_done(self);
}

void send_item(self_ptr self, size_t index, const effect_actor& target);

void fail_item(self_ptr self, size_t index, const caf::error& err) {
  auto& st = self->state;
  auto& item = st.items[index];
  auto& em = st.cfg->stats->effect(to_string(item.effect));
  em.failed.Increment();
  const auto& policy = st.cfg->retry;
  // An outage or a conflict between writers is retried until it passes;
  // it says nothing about the event.
  if (is_transient(err)) {
    ++item.outages;
  } else {
    ++item.attempt;
  }
  if (item.attempt < policy.attempts) {
    em.retried.Increment();
    item.next_delay_ms
        = backoff_ms(policy, item.attempt + item.outages - 1, random_unit());
    spdlog::debug("dispatcher retries {} of event {} in {} ms: {}",
                  to_string(item.effect), st.kept[item.event].event.id,
                  item.next_delay_ms, describe(err));
    self->delayed_send(self, std::chrono::milliseconds(item.next_delay_ms),
                       atom::retry_v, static_cast<uint64_t>(index));
    return;
  }
  em.dead_lettered.Increment();
  dead_letter letter{st.kept[item.event].event.id, to_string(item.effect),
                     describe(err), item.attempt};
  spdlog::error("dispatcher dead-letters {} of event {} after {} attempts: {}",
                letter.effect, letter.event_id, letter.attempts, letter.error);
  self->request(st.journal, st.cfg->journal_timeout, atom::dead_v,
                std::move(letter))
      .then([self, index](bool) { resolve_event_item(self, index, true); },
            [self, index](caf::error& e) {
              // Not recorded: the event stays pending and recovery takes it
              // up again. Nothing is lost, nothing marked done.
              auto& st = self->state;
              spdlog::error("dispatcher failed to store a dead letter for {}: "
                            "{}",
                            st.kept[st.items[index].event].event.id,
                            describe(e));
              auto& item = st.items[index];
              item.resolved = true;
              --st.unresolved;
              st.dead[item.event] = true;
              if (--st.open[item.event] == 0)
                st.cfg->stats->events_dead.Increment();
              finish_if_done(self);
            });
}

void send_item(self_ptr self, size_t index, const effect_actor& target) {
  auto& st = self->state;
  const auto& item = st.items[index];
  self->request(target, st.cfg->request_timeouts.at(to_string(item.effect)),
                atom::apply_v, st.kept[item.event])
      .then([self, index](bool) { resolve_event_item(self, index, false); },
            [self, index](caf::error& e) { fail_item(self, index, e); });
}

void start_items(self_ptr self) {
  auto& st = self->state;
  for (size_t e = 0; e < st.kept.size(); ++e) {
    for (auto effect : st.plans[e]) {
      if (st.pools.pools.count(to_string(effect)) == 0)
        continue; // Disabled in the topology.
      st.items.push_back({e, effect});
      ++st.open[e];
    }
  }
  st.unresolved = st.items.size();
  for (size_t e = 0; e < st.kept.size(); ++e) {
    if (st.open[e] == 0) {
      st.updates.push_back(
          {st.kept[e].event.id, event_status::done, std::string{}});
      st.cfg->stats->events_done.Increment();
    }
  }
  for (size_t i = 0; i < st.items.size(); ++i) {
    const auto& item = st.items[i];
    const auto& pool = st.pools.pools.at(to_string(item.effect));
    send_item(
        self, i,
        pool[pick_instance(st.kept[item.event].event.repository, pool.size())]);
  }
  finish_if_done(self);
}

/// Drops events of unknown projects (unknown_project: skip), then routes.
void resolve_projects(self_ptr self) {
  auto& st = self->state;
  const auto* repositories = to_string(effect_kind::repositories);
  auto it = st.pools.pools.find(repositories);
  if (st.cfg->filter.unknown_project != unknown_project_policy::skip
      || it == st.pools.pools.end() || st.kept.empty()) {
    start_items(self);
    return;
  }
  std::set<std::string> projects;
  for (const auto& p : st.kept)
    projects.insert(p.project);
  auto remaining = std::make_shared<size_t>(projects.size());
  auto unknown = std::make_shared<std::set<std::string>>();
  auto timeout = st.cfg->request_timeouts.at(repositories);
  for (const auto& project : projects) {
    const auto& pool = it->second;
    self->request(pool[pick_instance(project, pool.size())], timeout,
                  atom::resolve_v, project)
        .then(
            [self, project, remaining, unknown](bool exists) {
              if (!exists)
                unknown->insert(project);
              if (--*remaining > 0)
                return;
              auto& st = self->state;
              std::vector<planned_event> kept;
              std::vector<std::vector<effect_kind>> plans;
              for (size_t i = 0; i < st.kept.size(); ++i) {
                if (unknown->count(st.kept[i].project) > 0) {
                  st.updates.push_back(
                      {st.kept[i].event.id, event_status::ignored,
                       "unknown project " + st.kept[i].project});
                  st.cfg->stats->events_filtered.Increment();
                } else {
                  kept.push_back(std::move(st.kept[i]));
                  plans.push_back(std::move(st.plans[i]));
                }
              }
              st.kept = std::move(kept);
              st.plans = std::move(plans);
              st.open.assign(st.kept.size(), 0);
              st.dead.assign(st.kept.size(), false);
              start_items(self);
            },
            [self](caf::error& e) {
              // Cannot tell whether the project exists: leave the batch pending
              // (claimed until the lease expires) rather than guess.
              spdlog::warn("dispatcher failed to resolve projects: {}",
                           describe(e));
              self->quit();
            });
  }
}

} // namespace

dispatcher_actor::behavior_type
dispatcher(self_ptr self, std::shared_ptr<const dispatcher_config> cfg,
           journal_actor journal, supervisor_actor supervisor,
           std::vector<event_record> batch) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.journal = std::move(journal);
  st.supervisor = std::move(supervisor);
  for (auto& event : batch) {
    auto c = classify(event, st.cfg->filter);
    if (!c.keep) {
      st.updates.push_back({event.id, event_status::ignored, c.reason});
      st.cfg->stats->events_filtered.Increment();
      continue;
    }
    st.kept.push_back(std::move(c.plan));
    st.plans.push_back(std::move(c.effects));
  }
  st.open.assign(st.kept.size(), 0);
  st.dead.assign(st.kept.size(), false);
  if (st.kept.empty()) {
    finish_if_done(self);
    return {[](atom::retry, uint64_t) {
    }};
  }
  self->request(st.supervisor, st.cfg->journal_timeout, atom::get_v)
      .then(
          [self](effect_pools& pools) {
            self->state.pools = std::move(pools);
            resolve_projects(self);
          },
          [self](caf::error& e) {
            // Without a topology nothing can run; the batch stays pending.
            spdlog::error("dispatcher failed to get the effect topology: {}",
                          describe(e));
            auto& st = self->state;
            if (!st.updates.empty())
              self->send(st.journal, atom::finish_v, std::move(st.updates));
            self->quit();
          });
  return {
      [self](atom::retry, uint64_t index) {
        auto& st = self->state;
        const auto& item = st.items[index];
        // Ask for the current instance: the old one may have been replaced.
        self->request(st.supervisor, st.cfg->journal_timeout, atom::get_v,
                      std::string{to_string(item.effect)},
                      st.kept[item.event].event.repository)
            .then([self, index](
                      effect_actor& target) { send_item(self, index, target); },
                  [self, index](caf::error& e) { fail_item(self, index, e); });
      },
  };
}

} // namespace regevent
