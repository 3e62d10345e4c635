#include "actors/query.hpp"

#include "actors/errors.hpp"
#include "actors/sql_guard.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace regevent {

query_state::query_state() = default;
query_state::~query_state() = default;

namespace {

using self_ptr = query_actor::stateful_pointer<query_state>;

/// Runs `f` on the catalog store, opening the connection first when needed;
/// a failure drops the connection so that the next request opens a fresh
/// one.
template<class F>
auto run(self_ptr self, F f) {
  auto& st = self->state;
  return guard_sql(
      st.db,
      [&]() {
        if (!st.store) {
          st.db = std::make_unique<database>(*st.rt.cfg);
          st.store = std::make_unique<catalog_store>(*st.db);
        }
        return f(*st.store);
      },
      [&st] {
        st.store.reset();
        st.db.reset();
      });
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

query_actor::behavior_type query(self_ptr self, runtime rt) {
  self->state.rt = std::move(rt);
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
