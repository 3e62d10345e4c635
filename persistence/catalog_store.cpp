#include "persistence/catalog_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

namespace regevent {

namespace {

constexpr const char* project_columns
    = "SELECT p.id, p.name, p.public, p.auto_scan, p.creation_time, "
      "p.update_time, (SELECT COUNT(*) FROM repositories r WHERE r.project = "
      "p.name) FROM projects p";

constexpr const char* repository_columns
    = "SELECT r.id, r.name, r.creation_time, r.update_time, "
      "COALESCE((SELECT c.pull_count FROM pull_counts c WHERE c.repository = "
      "r.name), 0), (SELECT COUNT(*) FROM artifacts a WHERE a.repository = "
      "r.name AND a.alive_at > a.deleted_at) FROM repositories r";

project_row project_of(const soci::row& r) {
  return {int_at(r, 0), text_at(r, 1), int_at(r, 2) != 0, int_at(r, 3) != 0,
          int_at(r, 4), int_at(r, 5),  int_at(r, 6)};
}

repository_row repository_of(const soci::row& r) {
  return {int_at(r, 0), text_at(r, 1), int_at(r, 2),
          int_at(r, 3), int_at(r, 4),  int_at(r, 5)};
}

bool exists(soci::session& sql, const char* query, const std::string& key) {
  int n = 0;
  sql << query, soci::use(key), soci::into(n);
  return n > 0;
}

} // namespace

catalog_store::catalog_store(database& db) : db_(db) {}

project_page catalog_store::list_projects(const project_query& q) {
  auto& sql = db_.session();
  project_page out;
  sql << "SELECT COUNT(*) FROM projects WHERE (:n = '' OR name = :n2)",
      soci::use(q.name), soci::use(q.name), soci::into(out.total);
  std::string query = project_columns;
  query += " WHERE (:n = '' OR p.name = :n2) ORDER BY p.name LIMIT :l "
           "OFFSET :o";
  long long limit = q.page.size, offset = q.page.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << query, soci::use(q.name), soci::use(q.name),
         soci::use(limit), soci::use(offset));
  for (const auto& r : rs)
    out.items.push_back(project_of(r));
  return out;
}

std::optional<project_row>
catalog_store::find_project(const std::string& name) {
  std::string query = project_columns;
  query += " WHERE p.name = :n";
  soci::rowset<soci::row> rs
      = (db_.session().prepare << query, soci::use(name));
  for (const auto& r : rs)
    return project_of(r);
  return std::nullopt;
}

std::optional<project_row>
catalog_store::create_project(const project_spec& spec) {
  long long now = now_us();
  int pub = spec.is_public ? 1 : 0, scan = spec.auto_scan ? 1 : 0;
  {
    write_transaction tx(db_);
    soci::statement st
        = (db_.session().prepare
               << "INSERT INTO projects (name, public, auto_scan, "
                  "creation_time, update_time) VALUES (:n, :p, :s, :c, :u) "
                  "ON CONFLICT (name) DO NOTHING",
           soci::use(spec.name), soci::use(pub), soci::use(scan),
           soci::use(now), soci::use(now));
    st.execute(true);
    if (st.get_affected_rows() == 0)
      return std::nullopt;
    tx.commit();
  }
  return find_project(spec.name);
}

std::optional<repository_page>
catalog_store::list_repositories(const repository_query& q) {
  auto& sql = db_.session();
  if (!exists(sql, "SELECT COUNT(*) FROM projects WHERE name = :n", q.project))
    return std::nullopt;
  repository_page out;
  sql << "SELECT COUNT(*) FROM repositories WHERE project = :p",
      soci::use(q.project), soci::into(out.total);
  std::string query = repository_columns;
  query += " WHERE r.project = :p ORDER BY r.name LIMIT :l OFFSET :o";
  long long limit = q.page.size, offset = q.page.offset();
  soci::rowset<soci::row> rs = (sql.prepare << query, soci::use(q.project),
                                soci::use(limit), soci::use(offset));
  for (const auto& r : rs)
    out.items.push_back(repository_of(r));
  return out;
}

std::optional<repository_row>
catalog_store::find_repository(const std::string& full_name) {
  std::string query = repository_columns;
  query += " WHERE r.name = :n";
  soci::rowset<soci::row> rs
      = (db_.session().prepare << query, soci::use(full_name));
  for (const auto& r : rs)
    return repository_of(r);
  return std::nullopt;
}

namespace {

/// Fills each artifact's live tags: a tag last seen before its artifact's
/// last delete died with it.
void add_tags(soci::session& sql, std::vector<artifact_row>& items,
              const std::vector<long long>& deleted_at) {
  for (size_t i = 0; i < items.size(); ++i) {
    soci::rowset<soci::row> tags
        = (sql.prepare << "SELECT name, push_time, pull_time FROM tags WHERE "
                          "repository = :r AND digest = :d AND alive_at > "
                          "deleted_at AND alive_at > :a ORDER BY name",
           soci::use(items[i].repository), soci::use(items[i].digest),
           soci::use(deleted_at[i]));
    for (const auto& t : tags)
      items[i].tags.push_back({text_at(t, 0), int_at(t, 1), int_at(t, 2)});
  }
}

artifact_row artifact_of(const soci::row& r, const std::string& repository) {
  artifact_row a;
  a.digest = text_at(r, 0);
  a.media_type = text_at(r, 1);
  a.size = int_at(r, 2);
  a.push_time = int_at(r, 3);
  a.pull_time = int_at(r, 4);
  a.repository = repository;
  return a;
}

constexpr const char* artifact_columns
    = "SELECT digest, media_type, size, push_time, pull_time, deleted_at FROM "
      "artifacts WHERE repository = :r AND alive_at > deleted_at";

} // namespace

std::optional<artifact_page>
catalog_store::list_artifacts(const artifact_query& q) {
  auto& sql = db_.session();
  const auto& repo = q.repository;
  if (!exists(sql, "SELECT COUNT(*) FROM repositories WHERE name = :n", repo))
    return std::nullopt;
  artifact_page out;
  sql << "SELECT COUNT(*) FROM artifacts WHERE repository = :r AND "
         "alive_at > deleted_at",
      soci::use(repo), soci::into(out.total);
  long long limit = q.page.size, offset = q.page.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << std::string(artifact_columns)
                            + " ORDER BY push_time DESC, digest LIMIT :l "
                              "OFFSET :o",
         soci::use(repo), soci::use(limit), soci::use(offset));
  std::vector<long long> deleted_at;
  for (const auto& r : rs) {
    out.items.push_back(artifact_of(r, repo));
    deleted_at.push_back(int_at(r, 5));
  }
  add_tags(sql, out.items, deleted_at);
  return out;
}

bool is_digest_reference(const std::string& reference) {
  return reference.rfind("sha256:", 0) == 0;
}

std::optional<std::string> live_digest(database& db,
                                       const std::string& repository,
                                       const std::string& reference) {
  if (is_digest_reference(reference))
    return reference;
  std::string digest;
  soci::indicator ind = soci::i_null;
  db.session() << "SELECT digest FROM tags WHERE repository = :r AND name = "
                  ":n AND alive_at > deleted_at",
      soci::use(repository), soci::use(reference), soci::into(digest, ind);
  if (ind != soci::i_ok)
    return std::nullopt;
  return digest;
}

std::optional<artifact_row> catalog_store::artifact(const artifact_lookup& q) {
  auto& sql = db_.session();
  auto found = live_digest(db_, q.repository, q.reference);
  if (!found)
    return std::nullopt;
  std::string digest = *found;
  std::vector<artifact_row> items;
  std::vector<long long> deleted_at;
  {
    soci::rowset<soci::row> rs
        = (sql.prepare << std::string(artifact_columns) + " AND digest = :d",
           soci::use(q.repository), soci::use(digest));
    for (const auto& r : rs) {
      items.push_back(artifact_of(r, q.repository));
      deleted_at.push_back(int_at(r, 5));
    }
  }
  if (items.empty())
    return std::nullopt;
  add_tags(sql, items, deleted_at);
  return std::move(items.front());
}

audit_page catalog_store::list_audit_logs(const audit_query& q) {
  auto& sql = db_.session();
  const auto& f = q.filter;
  // Fixed SQL: an empty filter value disables its condition. `resource` is
  // an artifact row's repository or an API change's resource. The casts:
  // PostgreSQL types a parameter compared with 0 as a 4-byte integer, which
  // a time in microseconds overflows.
  constexpr const char* where
      = " WHERE (:o = '' OR operation = :o2) AND (:u = '' OR username = :u2) "
        "AND (:r = '' OR repository = :r2 OR resource = :r3) AND (CAST(:f AS "
        "BIGINT) = 0 OR op_time >= :f2) AND (CAST(:t AS BIGINT) = 0 OR "
        "op_time <= :t2) AND (:rt = '' OR resource_type = :rt2)";
  long long from = f.from, to = f.to;
  audit_page out;
  std::string count_query = "SELECT COUNT(*) FROM access_logs";
  count_query += where;
  sql << count_query, soci::use(f.operation), soci::use(f.operation),
      soci::use(f.username), soci::use(f.username), soci::use(f.resource),
      soci::use(f.resource), soci::use(f.resource), soci::use(from),
      soci::use(from), soci::use(to), soci::use(to), soci::use(f.resource_type),
      soci::use(f.resource_type), soci::into(out.total);
  std::string query = "SELECT id, username, repository, tag, digest, "
                      "operation, op_time, event_id, resource_type, resource "
                      "FROM access_logs";
  query += where;
  query += " ORDER BY op_time DESC, id DESC LIMIT :l OFFSET :off";
  long long limit = q.page.size, offset = q.page.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << query, soci::use(f.operation), soci::use(f.operation),
         soci::use(f.username), soci::use(f.username), soci::use(f.resource),
         soci::use(f.resource), soci::use(f.resource), soci::use(from),
         soci::use(from), soci::use(to), soci::use(to),
         soci::use(f.resource_type), soci::use(f.resource_type),
         soci::use(limit), soci::use(offset));
  for (const auto& r : rs)
    out.items.push_back({int_at(r, 0), text_at(r, 1), text_at(r, 2),
                         text_at(r, 3), text_at(r, 4), text_at(r, 5),
                         int_at(r, 6), text_at(r, 7), text_at(r, 8),
                         text_at(r, 9)});
  return out;
}

dead_letter_page catalog_store::list_dead_letters(const page_request& p) {
  auto& sql = db_.session();
  dead_letter_page out;
  sql << "SELECT COUNT(*) FROM dead_letters", soci::into(out.total);
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << "SELECT id, event_id, effect, error, attempts, "
                        "created_at, replayed_at FROM dead_letters ORDER BY id "
                        "DESC LIMIT :l OFFSET :o",
         soci::use(limit), soci::use(offset));
  for (const auto& r : rs)
    out.items.push_back({int_at(r, 0), text_at(r, 1), text_at(r, 2),
                         text_at(r, 3), int_at(r, 4), int_at(r, 5),
                         int_at(r, 6)});
  return out;
}

long long catalog_store::purge_access_logs(timestamp_us cutoff,
                                           long long limit) {
  long long c = cutoff;
  soci::statement st
      = (db_.session().prepare
             << "DELETE FROM access_logs WHERE id IN (SELECT id FROM "
                "access_logs WHERE op_time < :c ORDER BY op_time LIMIT :n)",
         soci::use(c), soci::use(limit));
  st.execute(true);
  return st.get_affected_rows();
}

} // namespace regevent
