#include "actors/query.hpp"

#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "config/error.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"
#include "persistence/reconcile_store.hpp"
#include "persistence/replication_store.hpp"
#include "persistence/replication_work_store.hpp"
#include "persistence/scan_work_store.hpp"
#include "persistence/scanner_store.hpp"
#include "persistence/secret_box.hpp"
#include "persistence/webhook_delivery_store.hpp"
#include "persistence/webhook_store.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace regevent {

query_config query_config::from(const runtime& rt) {
  query_config x;
  x.database = rt.cfg->database;
  try {
    x.secrets = std::make_shared<const secret_box>(rt.cfg->secrets.key);
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string("secrets.key: ") + e.what());
  }
  return x;
}

void query_config::validate() const {
  if (database.url.empty())
    throw config_error("query: the database URL is empty");
  if (!secrets)
    throw config_error("query: no secret box");
}

/// The stores the management API reads and writes, on one connection.
struct management_stores {
  management_stores(database& db, const secret_box& secrets)
      : catalog(db),
        webhooks(db, secrets),
        deliveries(db, secrets),
        replication(db, secrets),
        replication_work(db, secrets),
        scanners(db, secrets),
        scans(db, secrets),
        reconcile(db) {}
  catalog_store catalog;
  webhook_store webhooks;
  webhook_delivery_store deliveries;
  replication_store replication;
  replication_work_store replication_work;
  scanner_store scanners;
  scan_work_store scans;
  reconcile_store reconcile;
};

query_state::query_state() = default;
query_state::~query_state() = default;

namespace {

using self_ptr = query_actor::stateful_pointer<query_state>;

/// Runs `f` on the catalog store (store_connection opens, converts errors
/// and drops a failed connection).
template<class F>
auto run(self_ptr self, F f) {
  return self->state.conn.run(
      [&f](management_stores& stores, database&) { return f(stores.catalog); });
}

template<class F>
auto run_webhooks(self_ptr self, F f) {
  return self->state.conn.run([&f](management_stores& stores, database&) {
    return f(stores.webhooks);
  });
}

template<class F>
auto run_deliveries(self_ptr self, F f) {
  return self->state.conn.run([&f](management_stores& stores, database&) {
    return f(stores.deliveries);
  });
}

template<class F>
auto run_replication(self_ptr self, F f) {
  return self->state.conn.run([&f](management_stores& stores, database&) {
    return f(stores.replication);
  });
}

template<class F>
auto run_replication_work(self_ptr self, F f) {
  return self->state.conn.run([&f](management_stores& stores, database&) {
    return f(stores.replication_work);
  });
}

/// An execution, or the error its lookup names.
caf::result<replication_execution>
execution_answer(caf::expected<replication_lookup> x,
                 replication_execution& found, const std::string& what,
                 int64_t id) {
  if (!x)
    return std::move(x.error());
  switch (*x) {
    case replication_lookup::ok:
      return std::move(found);
    case replication_lookup::no_policy:
      return make_error(ec::not_found,
                        "replication policy " + std::to_string(id));
    case replication_lookup::disabled:
      return make_error(ec::already_exists,
                        "replication policy " + std::to_string(id)
                            + " is disabled");
    case replication_lookup::no_execution:
      return make_error(ec::not_found, what + " " + std::to_string(id));
    case replication_lookup::not_failed:
      return make_error(ec::already_exists,
                        what + " " + std::to_string(id)
                            + " has not failed: only a failed or stopped "
                              "execution runs again");
  }
  return make_error(ec::database_error, "unknown execution lookup");
}

/// Sets the artifact's `scan_overview` from its latest scans by its
/// project's scanner.
void with_overview(management_stores& stores, artifact_row& a) {
  auto rows
      = stores.scans.overviews(project_of_repository(a.repository), {a.digest});
  // Harbor leaves the field out for an artifact never scanned.
  if (!rows.empty())
    a.scan_overview = scan_overview_json(rows);
}

template<class F>
auto run_scanners(self_ptr self, F f) {
  return self->state.conn.run([&f](management_stores& stores, database&) {
    return f(stores.scanners);
  });
}

/// The error a scanner write's outcome names.
caf::error scanner_failure(scanner_outcome outcome, const std::string& uuid,
                           const std::string& name) {
  switch (outcome) {
    case scanner_outcome::ok:
      break;
    case scanner_outcome::not_found:
      return make_error(ec::not_found, "scanner " + uuid);
    case scanner_outcome::name_taken:
      return make_error(ec::already_exists,
                        "scanner " + name + " already exists");
    case scanner_outcome::is_default:
      return make_error(ec::already_exists,
                        "scanner " + uuid
                            + " is the default: make another one the default "
                              "first");
  }
  return make_error(ec::database_error, "unknown scanner write outcome");
}

caf::result<scanner_registration> scanner_written(caf::expected<scanner_write> x,
                                                  const std::string& uuid,
                                                  const std::string& name) {
  if (!x)
    return std::move(x.error());
  if (x->outcome != scanner_outcome::ok)
    return scanner_failure(x->outcome, uuid, name);
  return std::move(x->scanner);
}

/// The error a registry or policy write's outcome names.
caf::error replication_failure(replication_outcome outcome,
                               const std::string& what, int64_t id,
                               const std::string& name, int64_t registry = 0) {
  switch (outcome) {
    case replication_outcome::ok:
      break;
    case replication_outcome::not_found:
      return make_error(ec::not_found, what + " " + std::to_string(id));
    case replication_outcome::name_taken:
      return make_error(ec::already_exists,
                        what + " " + name + " already exists");
    case replication_outcome::no_registry:
      return make_error(ec::not_found, "registry " + std::to_string(registry));
    case replication_outcome::in_use:
      return make_error(ec::already_exists,
                        what + " " + std::to_string(id)
                            + " is the destination of a replication policy");
  }
  return make_error(ec::database_error, "unknown replication write outcome");
}

template<class T, class Write>
caf::result<T> replicated(caf::expected<Write> x, T Write::*record,
                          const std::string& what, int64_t id,
                          const std::string& name, int64_t registry = 0) {
  if (!x)
    return std::move(x.error());
  if (x->outcome != replication_outcome::ok)
    return replication_failure(x->outcome, what, id, name, registry);
  return std::move((*x).*record);
}

/// What a delivery-log request found, or the error naming what is missing.
template<class T>
caf::result<T> looked_up(caf::expected<webhook_lookup> x, T& out,
                         const std::string& project, int64_t policy,
                         int64_t execution) {
  if (!x)
    return std::move(x.error());
  switch (*x) {
    case webhook_lookup::ok:
      return std::move(out);
    case webhook_lookup::no_project:
      return make_error(ec::not_found, "project " + project);
    case webhook_lookup::no_policy:
      return make_error(ec::not_found, "webhook policy "
                                           + std::to_string(policy)
                                           + " of project " + project);
    case webhook_lookup::busy:
      return make_error(ec::already_exists,
                        "execution " + std::to_string(execution)
                            + " is waiting for its next try or being sent");
    case webhook_lookup::no_execution:
      return make_error(ec::not_found, "execution " + std::to_string(execution)
                                           + " of webhook policy "
                                           + std::to_string(policy));
  }
  return make_error(ec::database_error, "unknown lookup outcome");
}

/// The policy a write left, or the error its outcome names.
caf::result<webhook_policy> written(caf::expected<webhook_write> x,
                                    const webhook_policy_spec& spec,
                                    int64_t id) {
  if (!x)
    return std::move(x.error());
  switch (x->outcome) {
    case webhook_outcome::ok:
      return std::move(x->policy);
    case webhook_outcome::no_project:
      return make_error(ec::not_found, "project " + spec.project);
    case webhook_outcome::no_policy:
      return make_error(ec::not_found, "webhook policy " + std::to_string(id)
                                           + " of project " + spec.project);
    case webhook_outcome::name_taken:
      return make_error(ec::already_exists, "webhook policy " + spec.name
                                                + " of project " + spec.project
                                                + " already exists");
  }
  return make_error(ec::database_error, "unknown webhook write outcome");
}

/// Unwraps an optional row: absent means `what` does not exist.
template<class T>
caf::result<T>
found(caf::expected<std::optional<T>> x, const std::string& what) {
  if (!x)
    return std::move(x.error());
  if (!*x)
    return make_error(ec::not_found, what + " not found");
  return std::move(**x);
}

template<class T>
caf::result<T> plain(caf::expected<T> x) {
  if (!x)
    return std::move(x.error());
  return std::move(*x);
}

} // namespace

query_actor::behavior_type query(self_ptr self, query_config cfg) {
  self->state.conn = store_connection<management_stores>(
      cfg.database, [secrets = cfg.secrets](database& db) {
        return std::make_unique<management_stores>(db, *secrets);
      });
  return {
      [self](atom::query, const project_query& q) {
        return plain(
            run(self, [&](catalog_store& s) { return s.list_projects(q); }));
      },
      [self](atom::get, atom::projects, const std::string& name) {
        return found(
            run(self, [&](catalog_store& s) { return s.find_project(name); }),
            "project " + name);
      },
      [self](atom::create,
             const project_spec& spec) -> caf::result<project_row> {
        auto x = run(self,
                     [&](catalog_store& s) { return s.create_project(spec); });
        if (x && !*x)
          return make_error(ec::already_exists,
                            "project " + spec.name + " already exists");
        return found(std::move(x), "project " + spec.name);
      },
      [self](atom::query, const repository_query& q) {
        return found(
            run(self, [&](catalog_store& s) { return s.list_repositories(q); }),
            "project " + q.project);
      },
      [self](atom::get, atom::repositories, const std::string& name) {
        return found(
            run(self,
                [&](catalog_store& s) { return s.find_repository(name); }),
            "repository " + name);
      },
      [self](atom::query, const artifact_query& q) {
        return found(self->state.conn.run([&q](management_stores& stores,
                                                database&) {
          auto page = stores.catalog.list_artifacts(q);
          if (page && q.with_scan_overview)
            for (auto& a : page->items)
              with_overview(stores, a);
          return page;
        }),
                     "repository " + q.repository);
      },
      [self](atom::get, const artifact_lookup& q) {
        return found(self->state.conn.run([&q](management_stores& stores,
                                                database&) {
          auto a = stores.catalog.artifact(q);
          if (a && q.with_scan_overview)
            with_overview(stores, *a);
          return a;
        }),
                     "artifact " + q.repository + "@" + q.reference);
      },
      [self](atom::create, const artifact_reference& a)
          -> caf::result<scan_request_result> {
        auto x = self->state.conn.run(
            [&a](management_stores& stores, database&) {
              return stores.scans.request_scan(a, now_us());
            });
        if (!x)
          return std::move(x.error());
        switch (x->outcome) {
          case scan_request_outcome::no_artifact:
            return make_error(ec::not_found,
                              "artifact " + a.repository + "@" + a.reference);
          case scan_request_outcome::no_scanner:
            return make_error(ec::not_found,
                              "scanner: the project has none and no default "
                              "is registered");
          default:
            return std::move(*x);
        }
      },
      [self](atom::get, atom::scanners, const artifact_reference& a) {
        return found(self->state.conn.run(
                         [&a](management_stores& stores, database&) {
                           return stores.scans.report(a);
                         }),
                     "artifact " + a.repository + "@" + a.reference);
      },
      [self](atom::get, const scan_log_query& q) {
        return found(self->state.conn.run(
                         [&q](management_stores& stores, database&) {
                           return stores.scans.log(q);
                         }),
                     "scan report " + q.report_id);
      },
      [self](atom::query, const audit_query& q) {
        return plain(
            run(self, [&](catalog_store& s) { return s.list_audit_logs(q); }));
      },
      [self](atom::query, atom::dead_letters, const page_request& p) {
        return plain(run(
            self, [&](catalog_store& s) { return s.list_dead_letters(p); }));
      },
      [self](atom::query, atom::webhooks, const std::string& project) {
        return found(
            run_webhooks(self,
                         [&](webhook_store& s) { return s.list(project); }),
            "project " + project);
      },
      [self](atom::get, atom::webhooks, const webhook_policy_ref& ref) {
        return found(run_webhooks(self,
                                  [&](webhook_store& s) {
                                    return s.find(ref.project, ref.id);
                                  }),
                     "webhook policy " + std::to_string(ref.id) + " of project "
                         + ref.project);
      },
      [self](atom::create, const webhook_policy_spec& spec) {
        return written(run_webhooks(self,
                                    [&](webhook_store& s) {
                                      return s.create(spec, now_us());
                                    }),
                       spec, 0);
      },
      [self](atom::update, const webhook_policy_update& change) {
        return written(run_webhooks(self,
                                    [&](webhook_store& s) {
                                      return s.update(change.id, change.spec,
                                                      now_us());
                                    }),
                       change.spec, change.id);
      },
      [self](atom::remove, atom::webhooks,
             const webhook_policy_ref& ref) -> caf::result<bool> {
        auto x = run_webhooks(self, [&](webhook_store& s) {
          return s.remove(ref.project, ref.id);
        });
        if (!x)
          return std::move(x.error());
        if (!*x)
          return make_error(ec::not_found, "webhook policy "
                                               + std::to_string(ref.id)
                                               + " of project " + ref.project);
        return true;
      },
      [self](atom::query, atom::executions, const webhook_execution_query& q)
          -> caf::result<webhook_execution_page> {
        webhook_execution_page page;
        return looked_up(run_deliveries(self,
                                        [&](webhook_delivery_store& s) {
                                          return s.executions(q, page);
                                        }),
                         page, q.project, q.policy_id, 0);
      },
      [self](atom::get, atom::executions, const webhook_execution_ref& ref)
          -> caf::result<webhook_execution> {
        webhook_execution x;
        return looked_up(run_deliveries(self,
                                        [&](webhook_delivery_store& s) {
                                          return s.execution(ref, x);
                                        }),
                         x, ref.project, ref.policy_id, ref.id);
      },
      [self](atom::retry, atom::executions, const webhook_execution_ref& ref)
          -> caf::result<webhook_execution> {
        webhook_execution x;
        return looked_up(run_deliveries(self,
                                        [&](webhook_delivery_store& s) {
                                          return s.retry(ref, now_us(), x);
                                        }),
                         x, ref.project, ref.policy_id, ref.id);
      },
      [self](atom::create, atom::executions,
             const webhook_policy_ref& ref) -> caf::result<webhook_execution> {
        webhook_execution x;
        return looked_up(run_deliveries(self,
                                        [&](webhook_delivery_store& s) {
                                          return s.queue_test(
                                              ref.project, ref.id, now_us(), x);
                                        }),
                         x, ref.project, ref.id, 0);
      },
      [self](atom::query, atom::registries) -> caf::result<registry_list> {
        auto x = run_replication(
            self, [](replication_store& s) { return s.registries(); });
        if (!x)
          return std::move(x.error());
        return registry_list{std::move(*x)};
      },
      [self](atom::get, atom::registries,
             int64_t id) -> caf::result<registry_record> {
        return found(
            run_replication(
                self, [id](replication_store& s) { return s.registry(id); }),
            "registry " + std::to_string(id));
      },
      [self](atom::get, atom::registries, int64_t id,
             bool) -> caf::result<registry_record> {
        return found(
            run_replication(
                self, [id](replication_store& s) { return s.with_secret(id); }),
            "registry " + std::to_string(id));
      },
      [self](atom::create,
             const registry_spec& spec) -> caf::result<registry_record> {
        return replicated(run_replication(self,
                                          [&](replication_store& s) {
                                            return s.create_registry(spec,
                                                                     now_us());
                                          }),
                          &registry_write::registry, "registry", 0, spec.name);
      },
      [self](atom::update,
             const registry_update& u) -> caf::result<registry_record> {
        return replicated(
            run_replication(self,
                            [&](replication_store& s) {
                              return s.update_registry(u.id, u.spec, now_us());
                            }),
            &registry_write::registry, "registry", u.id, u.spec.name);
      },
      [self](atom::remove, atom::registries, int64_t id) -> caf::result<bool> {
        auto x = run_replication(
            self, [id](replication_store& s) { return s.remove_registry(id); });
        if (!x)
          return std::move(x.error());
        if (*x != replication_outcome::ok)
          return replication_failure(*x, "registry", id, "");
        return true;
      },
      [self](atom::query,
             atom::replication) -> caf::result<replication_policy_list> {
        auto x = run_replication(
            self, [](replication_store& s) { return s.policies(); });
        if (!x)
          return std::move(x.error());
        return replication_policy_list{std::move(*x)};
      },
      [self](atom::get, atom::replication,
             int64_t id) -> caf::result<replication_policy> {
        return found(
            run_replication(
                self, [id](replication_store& s) { return s.policy(id); }),
            "replication policy " + std::to_string(id));
      },
      [self](atom::create, const replication_policy_spec& spec)
          -> caf::result<replication_policy> {
        return replicated(run_replication(self,
                                          [&](replication_store& s) {
                                            return s.create_policy(spec,
                                                                   now_us());
                                          }),
                          &policy_write::policy, "replication policy", 0,
                          spec.name, spec.dest_registry_id);
      },
      [self](atom::update, const replication_policy_update& u)
          -> caf::result<replication_policy> {
        return replicated(run_replication(self,
                                          [&](replication_store& s) {
                                            return s.update_policy(u.id, u.spec,
                                                                   now_us());
                                          }),
                          &policy_write::policy, "replication policy", u.id,
                          u.spec.name, u.spec.dest_registry_id);
      },
      [self](atom::remove, atom::replication, int64_t id) -> caf::result<bool> {
        auto x = run_replication(
            self, [id](replication_store& s) { return s.remove_policy(id); });
        if (!x)
          return std::move(x.error());
        if (!*x)
          return make_error(ec::not_found,
                            "replication policy " + std::to_string(id));
        return true;
      },
      [self](atom::query, atom::replication,
             const replication_execution_query& q)
          -> caf::result<replication_execution_page> {
        auto x = run_replication_work(
            self, [&q](replication_work_store& s) { return s.executions(q); });
        if (!x)
          return std::move(x.error());
        return std::move(*x);
      },
      [self](atom::get, replication_execution_id id)
          -> caf::result<replication_execution> {
        return found(run_replication_work(self,
                                                 [id](replication_work_store&
                                                          s) {
                                                   return s.execution(id.id);
                                                 }),
                            "replication execution " + std::to_string(id.id));
      },
      [self](atom::query, replication_execution_id id)
          -> caf::result<replication_task_list> {
        return found(
            run_replication_work(
                self,
                [id](replication_work_store& s) { return s.tasks(id.id); }),
            "replication execution " + std::to_string(id.id));
      },
      [self](atom::create, replication_execution_start start)
          -> caf::result<replication_execution> {
        replication_execution found;
        return execution_answer(
            run_replication_work(self,
                                 [&](replication_work_store& s) {
                                   return s.start_manual(start.policy_id,
                                                         now_us(), found);
                                 }),
            found, "replication policy", start.policy_id);
      },
      [self](atom::update, replication_execution_id id)
          -> caf::result<replication_execution> {
        replication_execution found;
        return execution_answer(
            run_replication_work(self,
                                 [&](replication_work_store& s) {
                                   return s.stop(id.id, now_us(), found);
                                 }),
            found, "replication execution", id.id);
      },
      [self](atom::query, atom::scanners) -> caf::result<scanner_list> {
        auto x = run_scanners(self, [](scanner_store& s) { return s.scanners(); });
        if (!x)
          return std::move(x.error());
        return scanner_list{std::move(*x)};
      },
      [self](atom::get,
             const scanner_id& id) -> caf::result<scanner_registration> {
        return found(run_scanners(self,
                                  [&id](scanner_store& s) {
                                    return s.scanner(id.uuid);
                                  }),
                     "scanner " + id.uuid);
      },
      [self](atom::get, const scanner_id& id,
             bool) -> caf::result<scanner_registration> {
        return found(run_scanners(self,
                                  [&id](scanner_store& s) {
                                    return s.with_credential(id.uuid);
                                  }),
                     "scanner " + id.uuid);
      },
      [self](atom::create,
             const scanner_spec& spec) -> caf::result<scanner_registration> {
        auto uuid = new_uuid();
        return scanner_written(run_scanners(self,
                                            [&](scanner_store& s) {
                                              return s.create(spec, uuid,
                                                              now_us());
                                            }),
                               uuid, spec.name);
      },
      [self](atom::update,
             const scanner_update& u) -> caf::result<scanner_registration> {
        return scanner_written(run_scanners(self,
                                            [&](scanner_store& s) {
                                              return s.update(u.uuid, u.spec,
                                                              now_us());
                                            }),
                               u.uuid, u.spec.name);
      },
      [self](atom::update, const scanner_default_change& c)
          -> caf::result<scanner_registration> {
        auto x = run_scanners(self, [&](scanner_store& s) {
          scanner_write w;
          w.outcome = s.set_default(c.uuid, c.is_default, now_us());
          if (w.outcome == scanner_outcome::ok)
            w.scanner = *s.scanner(c.uuid);
          return w;
        });
        return scanner_written(std::move(x), c.uuid, "");
      },
      [self](atom::remove, const scanner_id& id) -> caf::result<bool> {
        auto x = run_scanners(self,
                              [&id](scanner_store& s) { return s.remove(id.uuid); });
        if (!x)
          return std::move(x.error());
        if (*x != scanner_outcome::ok)
          return scanner_failure(*x, id.uuid, "");
        return true;
      },
      [self](atom::get, atom::scanners,
             const std::string& project) -> caf::result<scanner_registration> {
        return found(run_scanners(self,
                                  [&project](scanner_store& s) {
                                    return s.of_project(project);
                                  }),
                     "scanner of project " + project);
      },
      [self](atom::update, const project_scanner& p) -> caf::result<bool> {
        auto x = run_scanners(self, [&p](scanner_store& s) {
          return s.set_for_project(p.project, p.uuid);
        });
        if (!x)
          return std::move(x.error());
        if (*x != scanner_outcome::ok)
          return scanner_failure(*x, p.uuid, "");
        return true;
      },
      [self](atom::retry, replication_execution_id id)
          -> caf::result<replication_execution> {
        replication_execution found;
        return execution_answer(
            run_replication_work(self,
                                 [&](replication_work_store& s) {
                                   return s.retry(id.id, now_us(), found);
                                 }),
            found, "replication execution", id.id);
      },
      [self](atom::create, const reconcile_request& r)
          -> caf::result<reconcile_run> {
        reconcile_run unfinished;
        auto x = self->state.conn.run(
            [&](management_stores& stores, database&) {
              return stores.reconcile.request(r.trigger, now_us(), unfinished);
            });
        if (!x)
          return std::move(x.error());
        if (!*x)
          return make_error(ec::already_exists,
                            "reconcile run " + std::to_string(unfinished.id)
                                + " is " + unfinished.status
                                + ": one run at a time");
        return std::move(**x);
      },
      [self](atom::get, atom::reconcile) -> caf::result<reconcile_run_list> {
        auto x = self->state.conn.run(
            [](management_stores& stores, database&) {
              return stores.reconcile.runs(defaults::reconcile::runs_shown);
            });
        if (!x)
          return std::move(x.error());
        return reconcile_run_list{std::move(*x)};
      },
  };
}

} // namespace regevent
