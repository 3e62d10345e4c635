#include "persistence/catalog_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <deque>
#include <functional>

namespace regevent {

namespace {

/// Harbor's `q` and `sort` as SQL over a list's rows: every key names a
/// column of the list's inner SELECT (aliased to the key), every value is
/// bound, never spliced, and `sort` keys add to the list's own order,
/// which always ends in a unique column so that pages do not overlap.
class list_sql {
public:
  /// `inner` selects one row per item with its keys as column names;
  /// `order` is the default order (`name`, `push_time DESC, id`).
  template<size_t N>
  list_sql(std::string inner, std::string order, const list_key (&keys)[N])
      : inner_(std::move(inner)),
        order_(std::move(order)),
        keys_(keys),
        key_count_(N) {}

  /// A value the inner SELECT binds, in order of its placeholders.
  void bind_inner(std::string value) {
    binds_.push_back({true, std::move(value), 0});
  }
  void bind_inner(long long value) {
    binds_.push_back({false, {}, value});
  }

  /// Adds `q`'s terms. `special` may take a key (artifact `tags`) and
  /// answer its SQL itself.
  void where(const list_query& q,
             const std::function<bool(const query_term&, list_sql&)>& special
             = {}) {
    for (const auto& t : q.terms)
      if (!special || !special(t, *this))
        add_term(t);
  }

  void order(const list_query& q) {
    std::string by;
    for (const auto& s : q.sort) {
      if (!valid_column(s.key))
        continue;
      by += (by.empty() ? "" : ", ") + s.key + (s.descending ? " DESC" : "");
    }
    if (!by.empty())
      order_ = by + ", " + order_;
  }

  /// A placeholder for `value` in a condition, typed by `type`.
  std::string param(const std::string& value, key_type type) {
    auto name = ":q" + std::to_string(binds_.size());
    if (type == key_type::text)
      binds_.push_back({true, value, 0});
    else
      binds_.push_back({false, {}, std::stoll(value)});
    return name;
  }

  void condition(std::string sql) {
    conditions_ += " AND (" + sql + ")";
  }

  long long count(soci::session& sql) {
    long long n = 0;
    soci::statement st(sql);
    st.exchange(soci::into(n));
    run(st, "SELECT COUNT(*) FROM (" + inner_ + ") x WHERE 1 = 1"
                + conditions_);
    return n;
  }

  /// Each row of a page, in order.
  void rows(soci::session& sql, const page_request& page,
            const std::function<void(const soci::row&)>& each) {
    soci::row row;
    soci::statement st(sql);
    st.exchange(soci::into(row));
    limit_ = page.size;
    offset_ = page.offset();
    if (run(st, "SELECT * FROM (" + inner_ + ") x WHERE 1 = 1" + conditions_
                    + " ORDER BY " + order_ + " LIMIT :lim OFFSET :off",
            true))
      do
        each(row);
      while (st.fetch());
  }

  /// The page of a list `q` asks for: its filters and order, its total
  /// and its rows, each made by `make`. `special` as for where().
  template<class Row, class Make>
  page_of<Row>
  page(soci::session& sql, const list_query& q, const page_request& p,
       Make make,
       const std::function<bool(const query_term&, list_sql&)>& special
       = {}) {
    where(q, special);
    order(q);
    page_of<Row> out;
    out.total = count(sql);
    rows(sql, p, [&](const soci::row& r) { out.items.push_back(make(r)); });
    return out;
  }

private:
  struct bound {
    bool text;
    std::string s;
    long long i;
  };

  /// Keys are the list's own (the API checked them against its table), so
  /// they are plain identifiers; this guard keeps it so.
  static bool valid_column(const std::string& key) {
    if (key.empty())
      return false;
    for (char c : key)
      if (!((c >= 'a' && c <= 'z') || c == '_'))
        return false;
    return true;
  }

  void add_term(const query_term& t) {
    if (!valid_column(t.key) || t.values.empty())
      return;
    const auto type = type_of(t);
    const auto& col = t.key;
    switch (t.kind) {
      case query_term::match::exact:
        condition(col + " = " + param(t.values[0], type));
        break;
      case query_term::match::fuzzy:
        condition(fuzzy(col, t.values[0]));
        break;
      case query_term::match::range: {
        std::string c;
        if (!t.values[0].empty())
          c = col + " >= " + param(t.values[0], type);
        if (t.values.size() > 1 && !t.values[1].empty())
          c += (c.empty() ? "" : " AND ") + col + " <= "
               + param(t.values[1], type);
        if (!c.empty())
          condition(c);
        break;
      }
      case query_term::match::any_of: {
        std::string in;
        for (const auto& v : t.values)
          in += (in.empty() ? "" : ", ") + param(v, type);
        condition(col + " IN (" + in + ")");
        break;
      }
      case query_term::match::all_of:
        // One value per row: all of them hold only when they are equal.
        for (const auto& v : t.values)
          condition(col + " = " + param(v, type));
        break;
    }
  }

public:
  /// Contains `value`, case-insensitively as Harbor's `icontains`; `%`,
  /// `_` and `\` in it match themselves.
  std::string fuzzy(const std::string& column, const std::string& value) {
    std::string pattern = "%";
    for (char c : value) {
      if (c == '%' || c == '_' || c == '\\')
        pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    return "LOWER(" + column + ") LIKE LOWER(" + param(pattern, key_type::text)
           + ") ESCAPE '\\'";
  }

private:
  /// The type the API normalized a key's values to.
  key_type type_of(const query_term& t) const {
    for (size_t i = 0; i < key_count_; ++i)
      if (t.key == keys_[i].name)
        return keys_[i].type;
    return key_type::text;
  }

  bool run(soci::statement& st, const std::string& query, bool paged = false) {
    for (auto& b : binds_) {
      if (b.text)
        st.exchange(soci::use(b.s));
      else
        st.exchange(soci::use(b.i));
    }
    if (paged) {
      st.exchange(soci::use(limit_));
      st.exchange(soci::use(offset_));
    }
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
    return st.execute(true);
  }

  std::string inner_;
  std::string order_;
  const list_key* keys_;
  size_t key_count_;
  std::string conditions_;
  std::deque<bound> binds_;
  long long limit_ = 0, offset_ = 0;
};

/// The media types of image manifests and indexes, which Harbor types
/// `IMAGE` whatever their config, and of the configs it knows.
constexpr const char* image_manifest_types
    = "('application/vnd.docker.distribution.manifest.v2+json', "
      "'application/vnd.docker.distribution.manifest.list.v2+json', "
      "'application/vnd.docker.distribution.manifest.v1+prettyjws', "
      "'application/vnd.docker.distribution.manifest.v1+json', "
      "'application/vnd.oci.image.index.v1+json')";

/// Harbor's artifact columns. `media_type` is the image config's media
/// type (the manifest's own for an index), known from the registry once
/// the artifact's details are read; Docker schema 2 fixes its config's
/// type, so that one is known before. `type` follows Harbor's processors:
/// image configs and indexes IMAGE, Helm charts CHART, CNAB bundles CNAB.
constexpr const char* artifact_inner
    = "SELECT a.id AS id, a.repository AS repository, a.digest AS digest, "
      "a.media_type AS manifest_media_type, CASE WHEN d.config_media_type "
      "<> '' THEN d.config_media_type WHEN a.media_type = "
      "'application/vnd.docker.distribution.manifest.v2+json' THEN "
      "'application/vnd.docker.container.image.v1+json' ELSE a.media_type "
      "END AS media_type, CASE WHEN d.config_media_type IN "
      "('application/vnd.docker.container.image.v1+json', "
      "'application/vnd.oci.image.config.v1+json') THEN 'IMAGE' WHEN "
      "d.config_media_type = 'application/vnd.cncf.helm.config.v1+json' "
      "THEN 'CHART' WHEN d.config_media_type = "
      "'application/vnd.cnab.manifest.v1' THEN 'CNAB' WHEN "
      "d.config_media_type <> '' THEN 'UNKNOWN' WHEN a.media_type IN {images} "
      "OR a.media_type = 'application/vnd.oci.image.manifest.v1+json' THEN "
      "'IMAGE' ELSE 'UNKNOWN' END AS type, COALESCE(d.artifact_type, '') AS "
      "artifact_type, CASE WHEN d.size > 0 THEN d.size ELSE a.size END AS "
      "size, a.push_time AS push_time, a.pull_time AS pull_time, "
      "a.deleted_at AS deleted_at, COALESCE(p.id, 0) AS project_id, "
      "COALESCE(r.id, 0) AS repository_id, COALESCE(d.config_media_type, '') "
      "AS config_media_type, COALESCE(d.extra_attrs, '{}') AS extra_attrs, "
      "COALESCE(d.annotations, '{}') AS annotations, COALESCE(d.refs, '[]') "
      "AS refs, a.size AS manifest_size FROM artifacts a LEFT JOIN "
      "artifact_details d ON d.repository = a.repository AND d.digest = "
      "a.digest AND d.status = 'done' LEFT JOIN repositories r ON r.name = "
      "a.repository LEFT JOIN projects p ON p.name = r.project WHERE "
      "a.repository = :repo AND a.alive_at > a.deleted_at";

std::string artifact_inner_sql() {
  std::string s = artifact_inner;
  const std::string token = "{images}";
  s.replace(s.find(token), token.size(), image_manifest_types);
  return s;
}

constexpr const char* project_inner
    = "SELECT p.id AS project_id, p.name AS name, p.public AS public, "
      "p.auto_scan AS auto_scan, p.creation_time AS creation_time, "
      "p.update_time AS update_time, (SELECT COUNT(*) FROM repositories r "
      "WHERE r.project = p.name) AS repo_count, p.metadata AS metadata, "
      "'admin' AS owner FROM projects p";

constexpr const char* repository_inner
    = "SELECT r.id AS id, r.name AS name, COALESCE(p.id, 0) AS project_id, "
      "r.description AS description, r.creation_time AS creation_time, "
      "r.update_time AS update_time, COALESCE(c.pull_count, 0) AS "
      "pull_count, (SELECT COUNT(*) FROM artifacts a WHERE a.repository = "
      "r.name AND a.alive_at > a.deleted_at) AS artifact_count, r.project AS "
      "project FROM repositories r LEFT JOIN projects p ON p.name = "
      "r.project LEFT JOIN pull_counts c ON c.repository = r.name";

project_row project_of(const soci::row& r) {
  project_row p;
  p.id = int_at(r, 0);
  p.name = text_at(r, 1);
  p.is_public = int_at(r, 2) != 0;
  p.auto_scan = int_at(r, 3) != 0;
  p.creation_time = int_at(r, 4);
  p.update_time = int_at(r, 5);
  p.repo_count = int_at(r, 6);
  p.metadata = text_at(r, 7);
  return p;
}

repository_row repository_of(const soci::row& r) {
  repository_row x;
  x.id = int_at(r, 0);
  x.name = text_at(r, 1);
  x.project_id = int_at(r, 2);
  x.description = text_at(r, 3);
  x.creation_time = int_at(r, 4);
  x.update_time = int_at(r, 5);
  x.pull_count = int_at(r, 6);
  x.artifact_count = int_at(r, 7);
  return x;
}

bool exists(soci::session& sql, const char* query, const std::string& key) {
  int n = 0;
  sql << query, soci::use(key), soci::into(n);
  return n > 0;
}

/// One live tag of a live artifact (`x` of artifact_inner) in SQL.
constexpr const char* live_tag_of_x
    = "SELECT 1 FROM tags t WHERE t.repository = x.repository AND t.digest "
      "= x.digest AND t.alive_at > t.deleted_at AND t.alive_at > "
      "x.deleted_at";

/// Artifact `tags`: `*` any tag, `nil` none, else the names, as Harbor.
bool tags_term(const query_term& t, list_sql& l) {
  if (t.key != "tags")
    return false;
  const std::string live = live_tag_of_x;
  using m = query_term::match;
  if (t.kind == m::exact && t.values[0] == "*")
    l.condition("EXISTS (" + live + ")");
  else if (t.kind == m::exact && t.values[0] == "nil")
    l.condition("NOT EXISTS (" + live + ")");
  else if (t.kind == m::fuzzy)
    l.condition("EXISTS (" + live + " AND " + l.fuzzy("t.name", t.values[0])
                + ")");
  else if (t.kind == m::any_of) {
    std::string in;
    for (const auto& v : t.values)
      in += (in.empty() ? "" : ", ") + l.param(v, key_type::text);
    l.condition("EXISTS (" + live + " AND t.name IN (" + in + "))");
  } else if (t.kind == m::all_of || t.kind == m::exact) {
    for (const auto& v : t.values)
      l.condition("EXISTS (" + live + " AND t.name = "
                  + l.param(v, key_type::text) + ")");
  }
  // A range of tag names means nothing to Harbor either: ignored.
  return true;
}

} // namespace

catalog_store::catalog_store(database& db) : db_(db) {}

project_page catalog_store::list_projects(const project_query& q) {
  auto& sql = db_.session();
  list_sql l(project_inner, "name", project_keys);
  if (!q.name.empty())
    l.condition("name = " + l.param(q.name, key_type::text));
  return l.page<project_row>(sql, q.list, q.page, project_of);
}

std::optional<project_row>
catalog_store::find_project(const std::string& name) {
  project_query q;
  q.name = name;
  q.page.size = 1;
  auto page = list_projects(q);
  if (page.items.empty())
    return std::nullopt;
  return std::move(page.items.front());
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
                  "creation_time, update_time, metadata) VALUES (:n, :p, :s, "
                  ":c, :u, :m) ON CONFLICT (name) DO NOTHING",
           soci::use(spec.name), soci::use(pub), soci::use(scan),
           soci::use(now), soci::use(now), soci::use(spec.metadata));
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
  if (!q.project.empty()
      && !exists(sql, "SELECT COUNT(*) FROM projects WHERE name = :n",
                 q.project))
    return std::nullopt;
  list_sql l(repository_inner, "name", repository_keys);
  if (!q.project.empty())
    l.condition("project = " + l.param(q.project, key_type::text));
  return l.page<repository_row>(sql, q.list, q.page, repository_of);
}

std::optional<repository_row>
catalog_store::find_repository(const std::string& full_name) {
  auto& sql = db_.session();
  list_sql l(repository_inner, "name", repository_keys);
  l.condition("name = " + l.param(full_name, key_type::text));
  std::optional<repository_row> out;
  l.rows(sql, page_request{1, 1},
         [&](const soci::row& r) { out = repository_of(r); });
  return out;
}

std::optional<repository_row>
catalog_store::update_repository(const repository_update& u) {
  {
    write_transaction tx(db_);
    soci::statement st
        = (db_.session().prepare
               << "UPDATE repositories SET description = :d WHERE name = :n",
           soci::use(u.description), soci::use(u.name));
    st.execute(true);
    if (st.get_affected_rows() == 0)
      return std::nullopt;
    tx.commit();
  }
  return find_repository(u.name);
}

namespace {

/// Fills each artifact's live tags: a tag last seen before its artifact's
/// last delete died with it.
void add_tags(soci::session& sql, std::vector<artifact_row>& items,
              const std::vector<long long>& deleted_at) {
  for (size_t i = 0; i < items.size(); ++i) {
    soci::rowset<soci::row> tags
        = (sql.prepare << "SELECT name, push_time, pull_time, id FROM tags "
                          "WHERE repository = :r AND digest = :d AND alive_at "
                          "> deleted_at AND alive_at > :a ORDER BY name",
           soci::use(items[i].repository), soci::use(items[i].digest),
           soci::use(deleted_at[i]));
    for (const auto& t : tags) {
      tag_row row;
      row.name = text_at(t, 0);
      row.push_time = int_at(t, 1);
      row.pull_time = int_at(t, 2);
      row.id = int_at(t, 3);
      row.repository_id = items[i].repository_id;
      row.artifact_id = items[i].id;
      items[i].tags.push_back(std::move(row));
    }
  }
}

/// Harbor's Reference of each child an index names: its own id when the
/// child is known here (0 when not, e.g. not yet notified).
std::string references_of(soci::session& sql, const artifact_row& a,
                          const std::string& refs) {
  using json = nlohmann::json;
  auto children = json::parse(refs, nullptr, false);
  if (!children.is_array() || children.empty())
    return "[]";
  json out = json::array();
  for (auto& c : children) {
    if (!c.is_object())
      continue;
    std::string digest = c.value("child_digest", "");
    long long child = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT id FROM artifacts WHERE repository = :r AND digest = :d",
        soci::use(a.repository), soci::use(digest), soci::into(child, ind);
    c["parent_id"] = a.id;
    c["child_id"] = ind == soci::i_ok ? child : 0;
    out.push_back(std::move(c));
  }
  return out.dump();
}

/// The columns of artifact_inner, in its order.
artifact_row artifact_of(soci::session& sql, const soci::row& r) {
  artifact_row a;
  a.id = int_at(r, 0);
  a.repository = text_at(r, 1);
  a.digest = text_at(r, 2);
  a.media_type = text_at(r, 3);
  a.harbor_media_type = text_at(r, 4);
  a.type = text_at(r, 5);
  a.artifact_type = text_at(r, 6);
  a.details_size = int_at(r, 7);
  a.push_time = int_at(r, 8);
  a.pull_time = int_at(r, 9);
  a.project_id = int_at(r, 11);
  a.repository_id = int_at(r, 12);
  a.config_media_type = text_at(r, 13);
  a.extra_attrs = text_at(r, 14);
  a.annotations = text_at(r, 15);
  a.size = int_at(r, 17);
  a.references = references_of(sql, a, text_at(r, 16));
  return a;
}

} // namespace

std::optional<artifact_page>
catalog_store::list_artifacts(const artifact_query& q) {
  auto& sql = db_.session();
  const auto& repo = q.repository;
  if (!exists(sql, "SELECT COUNT(*) FROM repositories WHERE name = :n", repo))
    return std::nullopt;
  list_sql l(artifact_inner_sql(), "push_time DESC, digest", artifact_keys);
  l.bind_inner(repo);
  std::vector<long long> deleted_at;
  auto out = l.page<artifact_row>(
      sql, q.list, q.page,
      [&](const soci::row& r) {
        deleted_at.push_back(int_at(r, 10));
        return artifact_of(sql, r);
      },
      tags_term);
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
  list_sql l(artifact_inner_sql(), "id", artifact_keys);
  l.bind_inner(q.repository);
  l.condition("digest = " + l.param(*found, key_type::text));
  std::vector<artifact_row> items;
  std::vector<long long> deleted_at;
  l.rows(sql, page_request{1, 1}, [&](const soci::row& r) {
    deleted_at.push_back(int_at(r, 10));
    items.push_back(artifact_of(sql, r));
  });
  if (items.empty())
    return std::nullopt;
  add_tags(sql, items, deleted_at);
  return std::move(items.front());
}

std::optional<tag_page> catalog_store::list_tags(const tag_query& q) {
  auto& sql = db_.session();
  auto lookup = artifact({q.repository, q.reference, false});
  if (!lookup)
    return std::nullopt;
  long long deleted_at = 0;
  sql << "SELECT deleted_at FROM artifacts WHERE id = :i",
      soci::use(lookup->id), soci::into(deleted_at);
  list_sql l("SELECT t.id AS id, t.name AS name, t.push_time AS push_time, "
             "t.pull_time AS pull_time FROM tags t WHERE t.repository = :r "
             "AND t.digest = :d AND t.alive_at > t.deleted_at AND t.alive_at "
             "> :a",
             "name", tag_keys);
  l.bind_inner(q.repository);
  l.bind_inner(lookup->digest);
  l.bind_inner(deleted_at);
  return l.page<tag_row>(sql, q.list, q.page, [&](const soci::row& r) {
    tag_row t;
    t.id = int_at(r, 0);
    t.name = text_at(r, 1);
    t.push_time = int_at(r, 2);
    t.pull_time = int_at(r, 3);
    t.repository_id = lookup->repository_id;
    t.artifact_id = lookup->id;
    return t;
  });
}

std::optional<std::string>
catalog_store::delete_artifact(const artifact_lookup& q, timestamp_us now) {
  auto digest = live_digest(db_, q.repository, q.reference);
  if (!digest)
    return std::nullopt;
  // A tombstone at `now`, as a registry delete leaves one at its event
  // time: the artifact and its tags hide until a later push or pull shows
  // it again.
  soci::statement st
      = (db_.session().prepare
             << "UPDATE artifacts SET deleted_at = :t WHERE repository = :r "
                "AND digest = :d AND alive_at > deleted_at AND deleted_at < :t2",
         soci::use(now), soci::use(q.repository), soci::use(*digest),
         soci::use(now));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return std::nullopt;
  return digest;
}

bool catalog_store::delete_tag(const tag_reference& q, timestamp_us now) {
  auto a = artifact({q.repository, q.reference, false});
  if (!a)
    return false;
  soci::statement st
      = (db_.session().prepare
             << "UPDATE tags SET deleted_at = :t WHERE repository = :r AND "
                "name = :n AND digest = :d AND alive_at > deleted_at AND "
                "deleted_at < :t2",
         soci::use(now), soci::use(q.repository), soci::use(q.tag),
         soci::use(a->digest), soci::use(now));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

audit_page catalog_store::list_audit_logs(const audit_query& q) {
  auto& sql = db_.session();
  const auto& f = q.filter;
  // A registry event's row is shown as Harbor v2 writes it: `repo:tag` or
  // `repo@digest`, and a push as `create`. An API change names its
  // resource itself.
  list_sql l(
      "SELECT id, username, CASE WHEN resource_type = 'artifact' AND resource = "
      "'' THEN "
      "(CASE WHEN tag <> '' THEN repository || ':' || tag ELSE repository || "
      "'@' || digest END) ELSE resource END AS resource, resource_type, CASE "
      "WHEN operation = 'push' THEN 'create' ELSE operation END AS "
      "operation, op_time, event_id, repository, project, operation AS "
      "stored_operation FROM access_logs",
      "op_time DESC, id DESC", audit_keys);
  // The filters of regevent's own parameters, before Harbor's `q`.
  if (!f.operation.empty())
    l.condition("stored_operation = " + l.param(f.operation, key_type::text));
  if (!f.username.empty())
    l.condition("username = " + l.param(f.username, key_type::text));
  if (!f.resource.empty())
    l.condition("repository = " + l.param(f.resource, key_type::text)
                + " OR resource = " + l.param(f.resource, key_type::text));
  if (f.from > 0)
    l.condition("op_time >= " + l.param(std::to_string(f.from),
                                         key_type::integer));
  if (f.to > 0)
    l.condition("op_time <= " + l.param(std::to_string(f.to),
                                         key_type::integer));
  if (!f.resource_type.empty())
    l.condition("resource_type = "
                + l.param(f.resource_type, key_type::text));
  if (!f.project.empty())
    l.condition("project = " + l.param(f.project, key_type::text));
  return l.page<audit_row>(sql, q.list, q.page, [](const soci::row& r) {
    audit_row a;
    a.id = int_at(r, 0);
    a.username = text_at(r, 1);
    a.resource = text_at(r, 2);
    a.resource_type = text_at(r, 3);
    a.operation = text_at(r, 4);
    a.op_time = int_at(r, 5);
    a.event_id = text_at(r, 6);
    a.repository = text_at(r, 7);
    return a;
  });
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
