#include "actors/query.hpp"

#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "config/error.hpp"
#include "persistence/audited_change.hpp"
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

#include <optional>
#include <string>
#include <utility>

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

/// Whether a store's answer to a write says it wrote: true, or an ok
/// outcome.
bool succeeded(bool wrote) {
  return wrote;
}

template<class Outcome>
bool succeeded(Outcome outcome) {
  return outcome == Outcome::ok;
}

/// What an API change changed, for its audit row; nothing when it failed.
std::optional<api_change>
change_of(bool ok, const char* operation, const char* resource_type,
          std::string resource, std::string project = {}) {
  if (!ok)
    return std::nullopt;
  return api_change{
      {}, operation, resource_type, std::move(resource), std::move(project)};
}

/// The change of a write that answers its outcome and the record it left:
/// the record's name, when the outcome is ok.
template<class Write, class Record>
auto named_change(const char* operation, const char* resource_type,
                  Record Write::*record, std::string project = {}) {
  return [=](const Write& w) {
    return change_of(succeeded(w.outcome), operation, resource_type,
                     (w.*record).name, project);
  };
}

/// Runs `change` on the stores and, when `describe` names what it changed,
/// its audit row by `by` at `now`, in one transaction (audited_change): a
/// refused or failed change writes no row, a row never outlives its change.
template<class Change, class Describe>
auto audited(self_ptr self, const api_user& by, timestamp_us now, Change change,
             Describe describe) {
  return self->state.conn.run([&](management_stores& stores, database& db) {
    audited_change tx(db);
    auto result = change(stores);
    if (auto what = describe(std::as_const(result))) {
      what->username = by.name;
      tx.commit(*what, now);
    } else {
      tx.commit_unaudited();
    }
    return result;
  });
}

/// A create or update whose store answers an outcome and the record it
/// left (`record`), and the audit row naming that record; `write` gets the
/// time the row is stamped with.
template<class Write, class Record, class F>
auto audited_write(self_ptr self, const api_user& by, const char* operation,
                   const char* resource_type, Record Write::*record, F write,
                   std::string project = {}) {
  const auto now = now_us();
  return audited(
      self, by, now, [&](management_stores& s) { return write(s, now); },
      named_change(operation, resource_type, record, std::move(project)));
}

/// A delete and its audit row: `find` reads what goes (the row names it),
/// before `remove` deletes it, in the same transaction.
template<class Find, class Remove>
auto audited_delete(self_ptr self, const api_user& by,
                    const char* resource_type, const std::string& project,
                    Find find, Remove remove) {
  std::string name;
  return audited(
      self, by, now_us(),
      [&](management_stores& s) {
        if (auto gone = find(s))
          name = gone->name;
        return remove(s);
      },
      [&](const auto& result) {
        return change_of(succeeded(result), "delete", resource_type, name,
                         project);
      });
}

/// How the audit log names an artifact, as Harbor shows it.
std::string artifact_name(const artifact_reference& a) {
  return a.repository + (is_digest_reference(a.reference) ? "@" : ":")
         + a.reference;
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
      [self](atom::create, const project_spec& spec,
             const api_user& by) -> caf::result<project_row> {
        auto x = audited(
            self, by, now_us(),
            [&](management_stores& s) {
              return s.catalog.create_project(spec);
            },
            [&](const std::optional<project_row>& p) {
              return change_of(p.has_value(), "create", "project", spec.name,
                               spec.name);
            });
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
      [self](atom::update, const repository_update& u,
             const api_user& by) -> caf::result<repository_row> {
        return found(audited(
                         self, by, now_us(),
                         [&](management_stores& s) {
                           return s.catalog.update_repository(u);
                         },
                         [&](const std::optional<repository_row>& r) {
                           return change_of(r.has_value(), "update",
                                            "repository", u.name,
                                            project_of_repository(u.name));
                         }),
                     "repository " + u.name);
      },
      [self](atom::query, const tag_query& q) {
        return found(
            run(self, [&](catalog_store& s) { return s.list_tags(q); }),
            "artifact " + q.repository + "@" + q.reference);
      },
      [self](atom::remove, const artifact_lookup& q,
             const api_user& by) -> caf::result<std::string> {
        const auto now = now_us();
        return found(audited(
                         self, by, now,
                         [&](management_stores& s) {
                           return s.catalog.delete_artifact(q, now);
                         },
                         [&](const std::optional<std::string>& digest) {
                           return change_of(digest.has_value(), "delete",
                                            "artifact",
                                            q.repository + "@"
                                                + digest.value_or(""),
                                            project_of_repository(
                                                q.repository));
                         }),
                     "artifact " + q.repository + "@" + q.reference);
      },
      [self](atom::remove, const tag_reference& q,
             const api_user& by) -> caf::result<bool> {
        const auto now = now_us();
        auto x = audited(
            self, by, now,
            [&](management_stores& s) { return s.catalog.delete_tag(q, now); },
            [&](bool gone) {
              return change_of(gone, "delete", "tag",
                               q.repository + ":" + q.tag,
                               project_of_repository(q.repository));
            });
        if (x && !*x)
          return make_error(ec::not_found, "tag " + q.tag + " of "
                                               + q.repository + "@"
                                               + q.reference + " not found");
        return plain(std::move(x));
      },
      [self](atom::create, const artifact_reference& a,
             const api_user& by) -> caf::result<scan_request_result> {
        const auto now = now_us();
        auto x = audited(
            self, by, now,
            [&](management_stores& s) { return s.scans.request_scan(a, now); },
            [&](const scan_request_result& r) {
              return change_of(r.outcome == scan_request_outcome::queued,
                               "create", "scan", artifact_name(a),
                               project_of_repository(a.repository));
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
      [self](atom::create, const webhook_policy_spec& spec,
             const api_user& by) {
        return written(
            audited_write(
                self, by, "create", "webhook_policy", &webhook_write::policy,
                [&](management_stores& s, timestamp_us now) {
                  return s.webhooks.create(spec, now);
                },
                spec.project),
            spec, 0);
      },
      [self](atom::update, const webhook_policy_update& change,
             const api_user& by) {
        return written(
            audited_write(
                self, by, "update", "webhook_policy", &webhook_write::policy,
                [&](management_stores& s, timestamp_us now) {
                  return s.webhooks.update(change.id, change.spec, now);
                },
                change.spec.project),
            change.spec, change.id);
      },
      [self](atom::remove, atom::webhooks, const webhook_policy_ref& ref,
             const api_user& by) -> caf::result<bool> {
        auto x = audited_delete(
            self, by, "webhook_policy", ref.project,
            [&](management_stores& s) {
              return s.webhooks.find(ref.project, ref.id);
            },
            [&](management_stores& s) {
              return s.webhooks.remove(ref.project, ref.id);
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
      [self](atom::retry, atom::executions, const webhook_execution_ref& ref,
             const api_user& by) -> caf::result<webhook_execution> {
        webhook_execution x;
        const auto now = now_us();
        return looked_up(audited(
                             self, by, now,
                             [&](management_stores& s) {
                               return s.deliveries.retry(ref, now, x);
                             },
                             [&](webhook_lookup l) {
                               return change_of(l == webhook_lookup::ok,
                                                "update", "webhook_execution",
                                                std::to_string(ref.id),
                                                ref.project);
                             }),
                         x, ref.project, ref.policy_id, ref.id);
      },
      [self](atom::create, atom::executions, const webhook_policy_ref& ref,
             const api_user& by) -> caf::result<webhook_execution> {
        webhook_execution x;
        const auto now = now_us();
        return looked_up(
            audited(
                self, by, now,
                [&](management_stores& s) {
                  return s.deliveries.queue_test(ref.project, ref.id, now, x);
                },
                [&](webhook_lookup l) {
                  return change_of(l == webhook_lookup::ok, "create",
                                   "webhook_execution", std::to_string(x.id),
                                   ref.project);
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
      [self](atom::create, const registry_spec& spec,
             const api_user& by) -> caf::result<registry_record> {
        return replicated(
            audited_write(self, by, "create", "registry",
                          &registry_write::registry,
                          [&](management_stores& s, timestamp_us now) {
                            return s.replication.create_registry(spec, now);
                          }),
            &registry_write::registry, "registry", 0, spec.name);
      },
      [self](atom::update, const registry_update& u,
             const api_user& by) -> caf::result<registry_record> {
        return replicated(
            audited_write(
                self, by, "update", "registry", &registry_write::registry,
                [&](management_stores& s, timestamp_us now) {
                  return s.replication.update_registry(u.id, u.spec, now);
                }),
            &registry_write::registry, "registry", u.id, u.spec.name);
      },
      [self](atom::remove, atom::registries, int64_t id,
             const api_user& by) -> caf::result<bool> {
        auto x = audited_delete(
            self, by, "registry", {},
            [id](management_stores& s) { return s.replication.registry(id); },
            [id](management_stores& s) {
              return s.replication.remove_registry(id);
            });
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
      [self](atom::create, const replication_policy_spec& spec,
             const api_user& by) -> caf::result<replication_policy> {
        return replicated(
            audited_write(self, by, "create", "replication_policy",
                          &policy_write::policy,
                          [&](management_stores& s, timestamp_us now) {
                            return s.replication.create_policy(spec, now);
                          }),
            &policy_write::policy, "replication policy", 0, spec.name,
            spec.dest_registry_id);
      },
      [self](atom::update, const replication_policy_update& u,
             const api_user& by) -> caf::result<replication_policy> {
        return replicated(
            audited_write(
                self, by, "update", "replication_policy", &policy_write::policy,
                [&](management_stores& s, timestamp_us now) {
                  return s.replication.update_policy(u.id, u.spec, now);
                }),
            &policy_write::policy, "replication policy", u.id, u.spec.name,
            u.spec.dest_registry_id);
      },
      [self](atom::remove, atom::replication, int64_t id,
             const api_user& by) -> caf::result<bool> {
        auto x = audited_delete(
            self, by, "replication_policy", {},
            [id](management_stores& s) { return s.replication.policy(id); },
            [id](management_stores& s) {
              return s.replication.remove_policy(id);
            });
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
      [self](atom::create, replication_execution_start start,
             const api_user& by) -> caf::result<replication_execution> {
        replication_execution found;
        const auto now = now_us();
        return execution_answer(
            audited(
                self, by, now,
                [&](management_stores& s) {
                  return s.replication_work.start_manual(start.policy_id, now,
                                                         found);
                },
                [&](replication_lookup l) {
                  return change_of(l == replication_lookup::ok, "create",
                                   "replication_execution",
                                   std::to_string(found.id));
                }),
            found, "replication policy", start.policy_id);
      },
      [self](atom::update, replication_execution_id id,
             const api_user& by) -> caf::result<replication_execution> {
        replication_execution found;
        const auto now = now_us();
        return execution_answer(
            audited(
                self, by, now,
                [&](management_stores& s) {
                  return s.replication_work.stop(id.id, now, found);
                }, // Stopped by this request, not answered as it had ended.
                [&](replication_lookup l) {
                  return change_of(
                      l == replication_lookup::ok && found.status == "Stopped"
                          && found.end_time == now,
                      "update", "replication_execution", std::to_string(id.id));
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
      [self](atom::create, const scanner_spec& spec,
             const api_user& by) -> caf::result<scanner_registration> {
        auto uuid = new_uuid();
        return scanner_written(
            audited_write(self, by, "create", "scanner",
                          &scanner_write::scanner,
                          [&](management_stores& s, timestamp_us now) {
                            return s.scanners.create(spec, uuid, now);
                          }),
            uuid, spec.name);
      },
      [self](atom::update, const scanner_update& u,
             const api_user& by) -> caf::result<scanner_registration> {
        return scanner_written(
            audited_write(self, by, "update", "scanner",
                          &scanner_write::scanner,
                          [&](management_stores& s, timestamp_us now) {
                            return s.scanners.update(u.uuid, u.spec, now);
                          }),
            u.uuid, u.spec.name);
      },
      [self](atom::update, const scanner_default_change& c,
             const api_user& by) -> caf::result<scanner_registration> {
        const auto now = now_us();
        auto x = audited(
            self, by, now,
            [&](management_stores& s) {
              scanner_write w;
              w.outcome = s.scanners.set_default(c.uuid, c.is_default, now);
              if (w.outcome == scanner_outcome::ok)
                w.scanner = *s.scanners.scanner(c.uuid);
              return w;
            },
            named_change("update", "scanner", &scanner_write::scanner));
        return scanner_written(std::move(x), c.uuid, "");
      },
      [self](atom::remove, const scanner_id& id,
             const api_user& by) -> caf::result<bool> {
        auto x = audited_delete(
            self, by, "scanner", {},
            [&id](management_stores& s) { return s.scanners.scanner(id.uuid); },
            [&id](management_stores& s) { return s.scanners.remove(id.uuid); });
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
      [self](atom::update, const project_scanner& p,
             const api_user& by) -> caf::result<bool> {
        auto x = audited(
            self, by, now_us(),
            [&](management_stores& s) {
              return s.scanners.set_for_project(p.project, p.uuid);
            },
            [&](scanner_outcome o) {
              return change_of(o == scanner_outcome::ok, "update", "project",
                               p.project, p.project);
            });
        if (!x)
          return std::move(x.error());
        if (*x != scanner_outcome::ok)
          return scanner_failure(*x, p.uuid, "");
        return true;
      },
      [self](atom::retry, replication_execution_id id,
             const api_user& by) -> caf::result<replication_execution> {
        replication_execution found;
        const auto now = now_us();
        return execution_answer(
            audited(
                self, by, now,
                [&](management_stores& s) {
                  return s.replication_work.retry(id.id, now, found);
                },
                [&](replication_lookup l) {
                  return change_of(l == replication_lookup::ok, "update",
                                   "replication_execution",
                                   std::to_string(id.id));
                }),
            found, "replication execution", id.id);
      },
      [self](atom::create, const reconcile_request& r,
             const api_user& by) -> caf::result<reconcile_run> {
        reconcile_run unfinished;
        const auto now = now_us();
        auto x = audited(
            self, by, now,
            [&](management_stores& s) {
              return s.reconcile.request(r.trigger, now, unfinished);
            },
            [&](const std::optional<reconcile_run>& run) {
              return change_of(run.has_value(), "create", "reconcile",
                               run ? std::to_string(run->id) : std::string());
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
