#include "actors/effect.hpp"

#include "actors/access_log.hpp"
#include "actors/artifacts.hpp"
#include "actors/webhooks.hpp"
#include "actors/errors.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/pull_counter.hpp"
#include "actors/repositories.hpp"
#include "config/error.hpp"
#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

namespace regevent {

effect_actor_config effect_actor_config::from(const runtime& rt,
                                              effect_kind effect) {
  const auto& c = *rt.cfg;
  const auto& topology = c.effects.actors.at(to_string(effect));
  effect_actor_config x;
  x.effect = effect;
  x.database = c.database;
  x.unknown_project = c.filter.unknown_project;
  x.batch_size = topology.batch_size;
  x.batch_delay = std::chrono::milliseconds(topology.batch_delay_ms);
  x.stats = rt.stats;
  x.faults = fault_budget_for(c, to_string(effect));
  x.writer_timeout = std::chrono::milliseconds(topology.request_timeout_ms);
  return x;
}

void effect_actor_config::validate() const {
  if (batch_size == 0)
    throw config_error(std::string(to_string(effect))
                       + ": batch_size must be positive");
  if (batch_delay.count() < 0)
    throw config_error(std::string(to_string(effect))
                       + ": batch_delay_ms must not be negative");
  if (!stats)
    throw config_error(std::string(to_string(effect))
                       + ": metrics are required");
  if (writer && writer_timeout.count() <= 0)
    throw config_error(std::string(to_string(effect))
                       + ": the writer timeout must be positive");
}

effect_state::effect_state() = default;
effect_state::~effect_state() = default;

namespace {

using request_batch = std::vector<effect_state::request>;

/// Answers each request of a committed batch and records the commit.
void answer(effect_metrics& m, request_batch& batch,
            const std::vector<bool>& applied,
            std::chrono::steady_clock::time_point started) {
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

/// Hands the batch to the writer and answers the requests when the
/// writer's commit did. The events are copied: the requests keep theirs
/// only for the answer's sake, and the writer needs its own.
void commit_through_writer(effect_self self, request_batch batch) {
  auto& st = self->state;
  effect_batch out;
  out.effect = st.cfg.effect;
  out.events.reserve(batch.size());
  for (auto& r : batch)
    out.events.push_back(std::move(r.event));
  auto shared = std::make_shared<request_batch>(std::move(batch));
  auto started = std::chrono::steady_clock::now();
  auto* m = &st.cfg.stats->effect(to_string(st.cfg.effect));
  const auto* name = to_string(st.cfg.effect);
  self->request(st.cfg.writer, st.cfg.writer_timeout, atom::apply_v,
                std::move(out))
      .then(
          [shared, started, m](effect_outcome& outcome) {
            answer(*m, *shared, outcome.applied, started);
          },
          [shared, name](caf::error& err) {
            // A writer that is down or late is an outage: the dispatcher
            // retries without spending the events' attempts.
            auto e = is_transient(err) || is(err, ec::database_error)
                         ? err
                         : make_error(ec::database_unavailable,
                                      std::string("writer: ") + describe(err));
            spdlog::error("{} failed to commit {} events through the writer: "
                          "{}",
                          name, shared->size(), describe(e));
            for (auto& r : *shared)
              r.promise.deliver(e);
          });
}

void flush(effect_self self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.buffer.empty())
    return;
  auto batch = std::move(st.buffer);
  st.buffer.clear();
  auto& m = st.cfg.stats->effect(to_string(st.cfg.effect));
  const auto* name = to_string(st.cfg.effect);
#ifdef REGEVENT_WITH_FAULT_INJECTION
  if (st.cfg.faults && st.cfg.faults->take()) {
    spdlog::warn("{} injects a fault into a commit of {} requests", name,
                 batch.size());
    for (auto& r : batch)
      r.promise.deliver(make_error(ec::injected_fault, name));
    // Requesters have their answer; now the actor dies for real and the
    // supervisor must restart it.
    if (st.cfg.faults->mode == fault_mode::raise)
      throw std::runtime_error(std::string("injected fault in ") + name);
    return;
  }
#endif
  if (st.cfg.writer) {
    commit_through_writer(self, std::move(batch));
    return;
  }
  std::vector<bool> applied;
  auto started = std::chrono::steady_clock::now();
  auto committed = st.conn.run([&](effect_store& store, database& db) {
    std::vector<const effect_input*> events;
    events.reserve(batch.size());
    for (const auto& r : batch)
      events.push_back(&r.event);
    write_transaction tx(db);
    store.apply(events, applied);
    tx.commit();
    return true;
  });
  if (!committed) {
    // The code tells the dispatcher whether this was an outage or a
    // conflict (retried without spending attempts) or the events' fault.
    spdlog::error("{} failed to commit {} events: {}", name, batch.size(),
                  describe(committed.error()));
    for (auto& r : batch)
      r.promise.deliver(committed.error());
    return;
  }
  answer(m, batch, applied, started);
}

} // namespace

effect_actor::behavior_type effect_behavior(effect_self self,
                                            effect_actor_config cfg) {
  auto& st = self->state;
  st.conn = store_connection<effect_store>(
      cfg.database,
      [effect = cfg.effect, policy = cfg.unknown_project](database& db) {
        return make_effect_store(effect, db, policy);
      });
  st.cfg = std::move(cfg);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Commit what was accepted before going down (a failure answers the
    // requesters with its error; the events stay pending).
    flush(self);
    self->quit(msg.reason);
  });
  return {
      [self](atom::apply, planned_event& event) -> caf::result<bool> {
        auto& st = self->state;
        auto rp = self->make_response_promise<bool>();
        st.buffer.push_back({std::move(event), rp});
        if (st.buffer.size() >= st.cfg.batch_size) {
          flush(self);
        } else if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          if (st.cfg.batch_delay.count() == 0)
            self->send(self, atom::flush_v);
          else
            self->delayed_send(self, st.cfg.batch_delay, atom::flush_v);
        }
        return rp;
      },
      [self](atom::resolve, const std::string& project) -> caf::result<bool> {
        // Through the writer, the actor never touches the database.
        if (self->state.cfg.writer)
          return self->delegate(self->state.cfg.writer, atom::resolve_v,
                                project);
        auto exists
            = self->state.conn.run([&project](effect_store& store, database&) {
                return store.project_exists(project);
              });
        if (!exists)
          return std::move(exists.error());
        return *exists;
      },
      [self](atom::flush) { flush(self); },
      [self](atom::bind, journal_actor& writer) {
        auto& st = self->state;
        if (st.cfg.writer)
          st.cfg.writer = std::move(writer);
      },
  };
}

namespace {

/// An actor that commits through the writer never blocks: it runs on the
/// cooperative scheduler (no thread of its own to wake per batch). One
/// that commits on its own connection blocks in SQL: detached.
template<class F>
effect_actor
spawn_with(caf::actor_system& sys, F fun, effect_actor_config cfg) {
  if (cfg.writer)
    return sys.spawn(fun, std::move(cfg));
  return sys.spawn<caf::detached>(fun, std::move(cfg));
}

} // namespace

effect_actor spawn_effect(caf::actor_system& sys, effect_actor_config cfg) {
  switch (cfg.effect) {
    case effect_kind::access_log:
      return spawn_with(sys, access_log, std::move(cfg));
    case effect_kind::repositories:
      return spawn_with(sys, repositories, std::move(cfg));
    case effect_kind::pull_counter:
      return spawn_with(sys, pull_counter, std::move(cfg));
    case effect_kind::artifacts:
      return spawn_with(sys, artifacts, std::move(cfg));
    case effect_kind::webhooks:
      return spawn_with(sys, webhooks, std::move(cfg));
    case effect_kind::replication:
      return spawn_with(sys, replication, std::move(cfg));
    case effect_kind::scanning:
      return spawn_with(sys, scanning, std::move(cfg));
  }
  throw std::invalid_argument("unknown effect kind");
}

} // namespace regevent
