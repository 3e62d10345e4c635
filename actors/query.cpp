#include "actors/query.hpp"

#include "actors/errors.hpp"
#include "config/error.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace regevent {

query_config query_config::from(const runtime& rt) {
  return {rt.cfg->database};
}

void query_config::validate() const {
  if (database.url.empty())
    throw config_error("query: the database URL is empty");
}

query_state::query_state() = default;
query_state::~query_state() = default;

namespace {

using self_ptr = query_actor::stateful_pointer<query_state>;

/// Runs `f` on the catalog store (store_connection opens, converts errors
/// and drops a failed connection).
template<class F>
auto run(self_ptr self, F f) {
  return self->state.conn.run(
      [&f](catalog_store& store, database&) { return f(store); });
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
  self->state.conn
      = store_connection<catalog_store>(cfg.database, [](database& db) {
          return std::make_unique<catalog_store>(db);
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
        return found(
            run(self, [&](catalog_store& s) { return s.list_artifacts(q); }),
            "repository " + q.repository);
      },
      [self](atom::query, const audit_query& q) {
        return plain(
            run(self, [&](catalog_store& s) { return s.list_audit_logs(q); }));
      },
      [self](atom::query, atom::dead_letters, const page_request& p) {
        return plain(run(
            self, [&](catalog_store& s) { return s.list_dead_letters(p); }));
      },
  };
}

} // namespace regevent
