#include "actors/system.hpp"

#include "actors/actors.hpp"
#include "actors/artifact_details_worker.hpp"
#include "actors/query.hpp"
#include "actors/reconcile.hpp"
#include "actors/replication_worker.hpp"
#include "actors/retention.hpp"
#include "actors/root.hpp"
#include "actors/scan_worker.hpp"
#include "actors/webhook_delivery.hpp"
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
#include <utility>

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

/// The configuration of every long-lived actor, validated before any of
/// them starts (a config_error here stops start-up).
struct actor_configs {
  root_config core;
  query_config queries;
  retention_config purge;
  webhook_delivery_config deliver;
  replication_worker_config replicate;
  scan_worker_config scan;
  reconcile_config reconcile;
  artifact_details_config details;
  size_t query_pool = 0;

  explicit actor_configs(const runtime& rt)
      : core(root_config::from(rt)),
        queries(query_config::from(rt)),
        purge(retention_config::from(rt)),
        deliver(webhook_delivery_config::from(rt)),
        replicate(replication_worker_config::from(rt)),
        scan(scan_worker_config::from(rt)),
        reconcile(reconcile_config::from(rt)),
        details(artifact_details_config::from(rt)),
        query_pool(rt.cfg->database.pool_size) {
    core.validate();
    queries.validate();
    purge.validate();
    // Without an outbound client (tools, tests of the inbound half) the
    // deliveries wait in the database.
    if (deliver.outbound)
      deliver.validate();
    if (replicate.port)
      replicate.validate();
    if (scan.port)
      scan.validate();
    if (reconcile.port)
      reconcile.validate();
    if (details.port)
      details.validate();
  }
};

struct actor_runtime::impl {
  explicit impl(actor_configs configs) : system(make_config(cfg)) {
    core = system.spawn(root, std::move(configs.core));
    // The root actor starts its children and registers the HTTP actor and
    // the journal when it first runs: the first request must not find the
    // registry empty.
    caf::scoped_actor self{system};
    self->request(core, caf::infinite, atom::status_v)
        .receive([](uint64_t) {}, [](caf::error&) {});
    purge = system.spawn<caf::detached>(retention, std::move(configs.purge));
    if (configs.deliver.outbound)
      deliver = system.spawn<caf::detached>(deliver_webhooks,
                                            std::move(configs.deliver));
    if (configs.replicate.port)
      replicate = system.spawn<caf::detached>(regevent::replicate,
                                              std::move(configs.replicate));
    if (configs.scan.port)
      scanner = system.spawn<caf::detached>(regevent::scan,
                                            std::move(configs.scan));
    if (configs.reconcile.port) {
      reconcile_walk = configs.reconcile.port;
      reconciler = system.spawn<caf::detached>(
          regevent::reconciler, std::move(configs.reconcile));
    }
    if (configs.details.port) {
      details_reads = configs.details.port;
      details = system.spawn<caf::detached>(artifact_details_worker,
                                            std::move(configs.details));
    }
    for (size_t i = 0; i < configs.query_pool; ++i)
      queries.push_back(
          system.spawn<caf::detached>(regevent::query, configs.queries));
  }

  caf::actor_system_config cfg;
  caf::actor_system system;
  root_actor core;
  retention_actor purge;
  webhook_delivery_actor deliver;
  replication_worker_actor replicate;
  scan_worker_actor scanner;
  reconcile_actor reconciler;
  /// Told to stop first: a walk step in progress ends at its next request.
  std::shared_ptr<reconcile_port> reconcile_walk;
  artifact_details_actor details;
  /// Told to stop first: a batch in progress ends at its next request.
  std::shared_ptr<artifact_details_port> details_reads;
  std::vector<query_actor> queries;
  std::atomic<size_t> next_query{0};

  /// The query actors in turn, so that API load spreads over the pool.
  const query_actor& next() {
    return queries[next_query.fetch_add(1) % queries.size()];
  }

  /// The current instance of a restartable actor (the root actor keeps the
  /// registry up to date); invalid while the daemon stops.
  template<class Handle>
  Handle current(caf::atom_value key) {
    return system.registry().get<Handle>(key);
  }
};

actor_runtime::actor_runtime(const runtime& rt)
    : impl_(std::make_unique<impl>(actor_configs{rt})) {}

actor_runtime::~actor_runtime() {
  stop();
}

void actor_runtime::ingest(std::vector<event_record> events, uint32_t ignored,
                           reply_fn<ingest_result> done) {
  auto http = impl_->current<http_actor>(registry_key::http);
  if (!http) {
    done(make_error(ec::shutting_down, "ingest stopped"));
    return;
  }
  // Should the HTTP actor be dead and not yet replaced, the message is
  // dropped with its callback, whose owner answers the registry 503.
  caf::anon_send(http, atom::ingest_v,
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

void actor_runtime::create_project(api_user by, project_spec spec,
                                   reply_fn<project_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec), std::move(by));
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

void actor_runtime::list_webhook_policies(std::string project,
                                          reply_fn<webhook_policy_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::webhooks_v, std::move(project));
}

void actor_runtime::get_webhook_policy(webhook_policy_ref ref,
                                       reply_fn<webhook_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::webhooks_v, std::move(ref));
}

void actor_runtime::create_webhook_policy(api_user by, webhook_policy_spec spec,
                                          reply_fn<webhook_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec), std::move(by));
}

void actor_runtime::update_webhook_policy(api_user by,
                                          webhook_policy_update change,
                                          reply_fn<webhook_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(change), std::move(by));
}

void actor_runtime::delete_webhook_policy(api_user by, webhook_policy_ref ref,
                                          reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      atom::webhooks_v, std::move(ref), std::move(by));
}

void actor_runtime::list_webhook_executions(
    webhook_execution_query q, reply_fn<webhook_execution_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::executions_v, std::move(q));
}

void actor_runtime::get_webhook_execution(webhook_execution_ref ref,
                                          reply_fn<webhook_execution> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::executions_v, std::move(ref));
}

void actor_runtime::retry_webhook_execution(api_user by,
                                            webhook_execution_ref ref,
                                            reply_fn<webhook_execution> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::retry_v,
      atom::executions_v, std::move(ref), std::move(by));
}

void actor_runtime::test_webhook_policy(api_user by, webhook_policy_ref ref,
                                        reply_fn<webhook_execution> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      atom::executions_v, std::move(ref), std::move(by));
}

void actor_runtime::replay_dead_letter(int64_t id,
                                       reply_fn<replay_result> done) {
  auto journal = impl_->current<journal_actor>(registry_key::journal);
  if (!journal) {
    done(make_error(ec::shutting_down, "journal stopped"));
    return;
  }
  ask(impl_->system, journal, std::move(done), atom::replay_v, id);
}

bool actor_runtime::drain(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() < 1)
    left = std::chrono::milliseconds(1);
  caf::scoped_actor self{impl_->system};
  bool drained = false;
  self->request(impl_->core, left, atom::shutdown_v)
      .receive([&](bool) { drained = true; },
               [](caf::error& e) {
                 spdlog::warn("shutdown grace period over with dispatchers "
                              "busy ({}); their events stay journaled for "
                              "the next start",
                              describe(e));
               });
  return drained;
}

void actor_runtime::list_registries(reply_fn<registry_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::registries_v);
}

void actor_runtime::get_registry(int64_t id, reply_fn<registry_record> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::registries_v, id);
}

void actor_runtime::get_registry_with_secret(int64_t id,
                                             reply_fn<registry_record> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::registries_v, id, true);
}

void actor_runtime::create_registry(api_user by, registry_spec spec,
                                    reply_fn<registry_record> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec), std::move(by));
}

void actor_runtime::update_registry(api_user by, registry_update change,
                                    reply_fn<registry_record> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(change), std::move(by));
}

void actor_runtime::delete_registry(api_user by, int64_t id,
                                    reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      atom::registries_v, id, std::move(by));
}

void actor_runtime::list_replication_policies(
    reply_fn<replication_policy_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::replication_v);
}

void actor_runtime::get_replication_policy(int64_t id,
                                           reply_fn<replication_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::replication_v, id);
}

void actor_runtime::create_replication_policy(
    api_user by, replication_policy_spec spec,
    reply_fn<replication_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec), std::move(by));
}

void actor_runtime::update_replication_policy(
    api_user by, replication_policy_update change,
    reply_fn<replication_policy> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(change), std::move(by));
}

void actor_runtime::delete_replication_policy(api_user by, int64_t id,
                                              reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      atom::replication_v, id, std::move(by));
}

void actor_runtime::list_replication_executions(
    replication_execution_query q, reply_fn<replication_execution_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::replication_v, std::move(q));
}

void actor_runtime::get_replication_execution(
    int64_t id, reply_fn<replication_execution> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      replication_execution_id{id});
}

void actor_runtime::list_replication_tasks(
    int64_t execution_id, reply_fn<replication_task_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      replication_execution_id{execution_id});
}

namespace {

/// `done`, then, when it succeeded, the workers told `what`: work is due
/// (a run or scan by hand starts now, not at their next poll) or an
/// execution stopped (leases are checked now, so its copy ends at once).
template<class T, class Workers, class Atom>
reply_fn<T> telling(const Workers& workers, Atom what, reply_fn<T> done) {
  return [workers, what, done = std::move(done)](caf::expected<T> r) {
    bool succeeded = static_cast<bool>(r);
    done(std::move(r));
    if (succeeded && workers)
      caf::anon_send(workers, what);
  };
}

} // namespace

void actor_runtime::start_replication(api_user by, int64_t policy_id,
                                      reply_fn<replication_execution> done) {
  ask(impl_->system, impl_->next(),
      telling<replication_execution>(impl_->replicate, atom::wakeup_v,
                                     std::move(done)),
      atom::create_v, replication_execution_start{policy_id}, std::move(by));
}

void actor_runtime::retry_replication_execution(
    api_user by, int64_t id, reply_fn<replication_execution> done) {
  ask(impl_->system, impl_->next(),
      telling<replication_execution>(impl_->replicate, atom::wakeup_v,
                                     std::move(done)),
      atom::retry_v, replication_execution_id{id}, std::move(by));
}

void actor_runtime::stop_replication_execution(
    api_user by, int64_t id, reply_fn<replication_execution> done) {
  ask(impl_->system, impl_->next(),
      telling<replication_execution>(impl_->replicate, atom::renew_v,
                                     std::move(done)),
      atom::update_v, replication_execution_id{id}, std::move(by));
}

void actor_runtime::list_scanners(reply_fn<scanner_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      atom::scanners_v);
}

void actor_runtime::get_scanner(std::string uuid,
                                reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      scanner_id{std::move(uuid)});
}

void actor_runtime::get_scanner_with_credential(
    std::string uuid, reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      scanner_id{std::move(uuid)}, true);
}

void actor_runtime::create_scanner(api_user by, scanner_spec spec,
                                   reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::create_v,
      std::move(spec), std::move(by));
}

void actor_runtime::update_scanner(api_user by, scanner_update change,
                                   reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(change), std::move(by));
}

void actor_runtime::set_default_scanner(api_user by,
                                        scanner_default_change change,
                                        reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(change), std::move(by));
}

void actor_runtime::delete_scanner(api_user by, std::string uuid,
                                   reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      scanner_id{std::move(uuid)}, std::move(by));
}

void actor_runtime::get_project_scanner(std::string project,
                                        reply_fn<scanner_registration> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::scanners_v, std::move(project));
}

void actor_runtime::set_project_scanner(api_user by, project_scanner choice,
                                        reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(choice), std::move(by));
}

void actor_runtime::get_artifact(artifact_lookup q,
                                 reply_fn<artifact_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      std::move(q));
}

void actor_runtime::update_repository(api_user by, repository_update u,
                                      reply_fn<repository_row> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::update_v,
      std::move(u), std::move(by));
}

void actor_runtime::list_tags(tag_query q, reply_fn<tag_page> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::query_v,
      std::move(q));
}

void actor_runtime::delete_artifact(api_user by, artifact_lookup q,
                                    reply_fn<std::string> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      std::move(q), std::move(by));
}

void actor_runtime::delete_tag(api_user by, tag_reference q,
                               reply_fn<bool> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::remove_v,
      std::move(q), std::move(by));
}

void actor_runtime::scan_artifact(api_user by, artifact_reference artifact,
                                  reply_fn<scan_request_result> done) {
  ask(impl_->system, impl_->next(),
      telling<scan_request_result>(impl_->scanner, atom::wakeup_v,
                                   std::move(done)),
      atom::create_v, std::move(artifact), std::move(by));
}

void actor_runtime::get_vulnerabilities(artifact_reference artifact,
                                        reply_fn<scan_report_doc> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::scanners_v, std::move(artifact));
}

void actor_runtime::get_scan_log(scan_log_query q, reply_fn<scan_log> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      std::move(q));
}

void actor_runtime::start_reconcile(api_user by, reply_fn<reconcile_run> done) {
  ask(impl_->system, impl_->next(),
      telling<reconcile_run>(impl_->reconciler, atom::wakeup_v,
                             std::move(done)),
      atom::create_v, reconcile_request{}, std::move(by));
}

void actor_runtime::list_reconcile_runs(reply_fn<reconcile_run_list> done) {
  ask(impl_->system, impl_->next(), std::move(done), atom::get_v,
      atom::reconcile_v);
}

void actor_runtime::stop() {
  if (!impl_)
    return;
  auto& i = *impl_;
  // Retention, webhook delivery and replication write through the journal on
  // SQLite (delivery records the outcomes it knows as it goes): they stop
  // first, while it runs. Then the root actor stops its children in order:
  // ingest, recovery, effects (they flush), then the journal (it flushes
  // final states).
  {
    caf::scoped_actor self{i.system};
    caf::anon_send_exit(i.purge, caf::exit_reason::user_shutdown);
    self->wait_for(i.purge);
    if (i.deliver) {
      caf::anon_send_exit(i.deliver, caf::exit_reason::user_shutdown);
      self->wait_for(i.deliver);
    }
    if (i.replicate) {
      caf::anon_send_exit(i.replicate, caf::exit_reason::user_shutdown);
      self->wait_for(i.replicate);
    }
    if (i.scanner) {
      caf::anon_send_exit(i.scanner, caf::exit_reason::user_shutdown);
      self->wait_for(i.scanner);
    }
    // A run stopped here ends as failed; what it applied stays, and the
    // next run starts over.
    if (i.reconciler) {
      i.reconcile_walk->stop();
      caf::anon_send_exit(i.reconciler, caf::exit_reason::user_shutdown);
      self->wait_for(i.reconciler);
    }
    // Reads in progress end as retries; what was read is recorded.
    if (i.details) {
      i.details_reads->stop();
      caf::anon_send_exit(i.details, caf::exit_reason::user_shutdown);
      self->wait_for(i.details);
    }
  }
  caf::anon_send_exit(i.core, caf::exit_reason::user_shutdown);
  for (auto& q : i.queries)
    caf::anon_send_exit(q, caf::exit_reason::user_shutdown);
  i.system.await_all_actors_done();
  impl_.reset();
}

} // namespace regevent
