#include "actors/system.hpp"

#include "actors/actors.hpp"
#include "actors/http_actor.hpp"
#include "actors/journal.hpp"
#include "actors/observability/health.hpp"
#include "actors/query.hpp"
#include "actors/recovery.hpp"
#include "actors/retention.hpp"
#include "actors/supervisor.hpp"
#include "config/defaults.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace regevent {

namespace {

/// How long a management API call may take before it answers an error.
constexpr auto api_timeout
    = std::chrono::milliseconds(defaults::api::request_timeout_ms);

/// Sends one request from a short-lived actor and hands the typed answer or
/// the error to `done`; the actor ends with the answer.
template<class T, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& to, reply_fn<T> done, Ts... xs) {
  // The handle goes in as a spawn argument, not a capture: CAF 0.17.6
  // dereferences a null argument tuple when a function actor is spawned
  // without any (UBSan: reference binding to null pointer).
  sys.spawn(
      [done = std::move(done), xs...](caf::event_based_actor* self,
                                      Handle receiver) mutable {
        self->request(receiver, api_timeout, std::move(xs)...)
            .then([done](T& x) { done(std::move(x)); },
                  [done](caf::error& e) { done(std::move(e)); });
      },
      to);
}

caf::actor_system_config& make_config(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::regevent>();
  // One cooperative worker per core: the io threads and the detached
  // database actors have threads of their own, and idle workers poll.
  cfg.set("scheduler.max-threads",
          std::max<size_t>(1, std::thread::hardware_concurrency()));
  return cfg;
}

} // namespace

struct actor_runtime::impl {
  explicit impl(const runtime& rt) : system(make_config(cfg)) {
    sup = system.spawn(supervisor, rt);
    journal_handle = system.spawn<caf::detached>(journal, rt);
    recovery_handle
        = system.spawn<caf::detached>(recovery, rt, journal_handle, sup);
    http = system.spawn(http_actor_impl, rt, journal_handle, recovery_handle,
                        sup);
    // Ingest and the journal are not restarted: without them the daemon
    // cannot do its job, so readiness says so and the orchestrator restarts
    // the process (the journal keeps every accepted event).
    auto watch = [&rt](const auto& handle, const char* name) {
      handle->attach_functor(
          [status = rt.status, name](const caf::error& reason) {
            if (!status->shutting_down)
              status->set_failed(std::string(name)
                                 + " stopped: " + caf::to_string(reason));
          });
    };
    watch(http, "http actor");
    watch(journal_handle, "journal");
    purge = system.spawn<caf::detached>(retention, rt);
    for (size_t i = 0; i < rt.cfg->database.pool_size; ++i)
      queries.push_back(system.spawn<caf::detached>(regevent::query, rt));
  }

  caf::actor_system_config cfg;
  caf::actor_system system;
  supervisor_actor sup;
  journal_actor journal_handle;
  recovery_actor recovery_handle;
  http_actor http;
  retention_actor purge;
  std::vector<query_actor> queries;
  std::atomic<size_t> next_query{0};

  /// The query actors in turn, so that API load spreads over the pool.
  const query_actor& next() {
    return queries[next_query.fetch_add(1) % queries.size()];
  }
};

actor_runtime::actor_runtime(const runtime& rt)
    : impl_(std::make_unique<impl>(rt)) {}

actor_runtime::~actor_runtime() {
  stop();
}

void actor_runtime::ingest(std::vector<event_record> events, uint32_t ignored,
                           reply_fn<ingest_result> done) {
  caf::anon_send(impl_->http, atom::ingest_v,
                 ingest_request{std::move(events), ignored, std::move(done)});
}

void actor_runtime::list_projects(project_query q,
                                  reply_fn<project_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      std::move(q));
}

void actor_runtime::get_project(std::string name, reply_fn<project_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::projects_v, std::move(name));
}

void actor_runtime::create_project(project_spec spec,
                                   reply_fn<project_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec));
}

void actor_runtime::list_repositories(repository_query q,
                                      reply_fn<repository_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      std::move(q));
}

void actor_runtime::get_repository(std::string full_name,
                                   reply_fn<repository_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::repositories_v, std::move(full_name));
}

void actor_runtime::list_artifacts(artifact_query q,
                                   reply_fn<artifact_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      std::move(q));
}

void actor_runtime::list_audit_logs(audit_query q, reply_fn<audit_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      std::move(q));
}

void actor_runtime::list_dead_letters(page_request p,
                                      reply_fn<dead_letter_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::dead_letters_v, p);
}

void actor_runtime::replay_dead_letter(int64_t id,
                                       reply_fn<replay_result> done) {
  ask(impl_->system, impl_->journal_handle, std::move(done), atom::replay_v,
      id);
}

bool actor_runtime::drain(std::chrono::steady_clock::time_point deadline) {
  caf::scoped_actor self{impl_->system};
  auto timeout = std::chrono::seconds(5);
  self->request(impl_->http, timeout, atom::shutdown_v)
      .receive([](bool) {}, [](caf::error&) {});
  self->request(impl_->recovery_handle, timeout, atom::shutdown_v)
      .receive([](bool) {}, [](caf::error&) {});
  for (;;) {
    uint64_t busy = 0;
    self->request(impl_->http, timeout, atom::status_v)
        .receive([&](uint64_t n) { busy += n; }, [](caf::error&) {});
    self->request(impl_->recovery_handle, timeout, atom::status_v)
        .receive([&](uint64_t n) { busy += n; }, [](caf::error&) {});
    if (busy == 0)
      return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("shutdown grace period over with {} dispatchers busy; "
                   "their events stay journaled for the next start",
                   busy);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void actor_runtime::stop() {
  if (!impl_)
    return;
  auto& i = *impl_;
  // In order: ingest, recovery, effects (they flush), then the journal
  // (it flushes final states) and the query pool.
  caf::anon_send_exit(i.http, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(i.recovery_handle, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(i.sup, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(i.purge, caf::exit_reason::user_shutdown);
  for (auto& q : i.queries)
    caf::anon_send_exit(q, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(i.journal_handle, caf::exit_reason::user_shutdown);
  i.system.await_all_actors_done();
  impl_.reset();
}

} // namespace regevent
