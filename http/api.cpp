#include "http/api.hpp"

#include "actors/actors.hpp"
#include "actors/http_actor.hpp"
#include "actors/system.hpp"
#include "http/auth.hpp"
#include "persistence/database.hpp"

#include "persistence/rows.hpp"
#include <nlohmann/json.hpp>

#include <soci/soci.h>
#include <uriparser/Uri.h>

#include <map>
#include <optional>
#include <vector>

namespace regevent {

namespace {

using json = nlohmann::json;

http_response api_error(unsigned status, const std::string& code,
                        const std::string& message) {
  http_response r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

std::string percent_decode(std::string s) {
  uriUnescapeInPlaceA(s.data());
  s.resize(std::char_traits<char>::length(s.c_str()));
  return s;
}

/// Percent-encodes a query component, so that a decoded value put back into
/// a header (Link) cannot carry CR/LF or delimiters into it.
std::string percent_encode(const std::string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  auto* end = uriEscapeExA(s.data(), s.data() + s.size(), out.data(), URI_FALSE,
                           URI_FALSE);
  out.resize(static_cast<size_t>(end - out.data()));
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos)
    return out;
  auto query = target.substr(q + 1);
  UriQueryListA* list = nullptr;
  int count = 0;
  if (uriDissectQueryMallocA(&list, &count, query.data(),
                             query.data() + query.size())
      != URI_SUCCESS)
    return out;
  for (auto* item = list; item != nullptr; item = item->next)
    out[item->key ? item->key : ""] = item->value ? item->value : "";
  uriFreeQueryListA(list);
  return out;
}

std::vector<std::string> split_path(const std::string& target) {
  auto path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    if (end > start)
      parts.push_back(percent_decode(path.substr(start, end - start)));
    start = end + 1;
  }
  return parts;
}

struct page_spec {
  long long page = 1;
  long long size = 10;
  long long offset() const {
    return (page - 1) * size;
  }
};

bool parse_positive(const std::string& text, long long max, long long& out) {
  if (text.empty() || text.size() > 9
      || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(text);
  return out >= 1 && out <= max;
}

std::optional<http_response>
read_page(const std::map<std::string, std::string>& q, page_spec& p) {
  if (auto it = q.find("page");
      it != q.end() && !parse_positive(it->second, 1'000'000'000, p.page))
    return api_error(400, "BAD_REQUEST", "page must be a positive integer");
  if (auto it = q.find("page_size");
      it != q.end() && !parse_positive(it->second, 100, p.size))
    return api_error(400, "BAD_REQUEST", "page_size must be 1..100");
  return std::nullopt;
}

/// X-Total-Count and Link headers as Harbor sets them.
void paginate(http_response& r, const std::string& path,
              const std::map<std::string, std::string>& q, const page_spec& p,
              long long total) {
  r.headers.emplace_back("X-Total-Count", std::to_string(total));
  auto link_to = [&](long long page) {
    std::string url = path + "?";
    for (const auto& [k, v] : q)
      if (k != "page" && k != "page_size")
        url += percent_encode(k) + "=" + percent_encode(v) + "&";
    return "<" + url + "page=" + std::to_string(page)
           + "&page_size=" + std::to_string(p.size) + ">";
  };
  std::string link;
  if (p.page > 1)
    link += link_to(p.page - 1) + "; rel=\"prev\"";
  if (p.offset() + p.size < total)
    link
        += (link.empty() ? "" : ", ") + link_to(p.page + 1) + "; rel=\"next\"";
  if (!link.empty())
    r.headers.emplace_back("Link", link);
}

http_response ok_json(const json& body, unsigned status = 200) {
  http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

json project_json(const soci::row& r) {
  return {{"project_id", int_at(r, 0)},
          {"name", text_at(r, 1)},
          {"metadata",
           {{"public", int_at(r, 2) != 0 ? "true" : "false"},
            {"auto_scan", int_at(r, 3) != 0 ? "true" : "false"}}},
          {"creation_time", format_rfc3339(int_at(r, 4))},
          {"update_time", format_rfc3339(int_at(r, 5))},
          {"repo_count", int_at(r, 6)}};
}

constexpr const char* project_columns
    = "SELECT p.id, p.name, p.public, p.auto_scan, p.creation_time, "
      "p.update_time, (SELECT COUNT(*) FROM repositories r WHERE r.project = "
      "p.name) FROM projects p";

constexpr const char* repository_columns
    = "SELECT r.id, r.name, r.creation_time, r.update_time, "
      "COALESCE((SELECT c.pull_count FROM pull_counts c WHERE c.repository = "
      "r.name), 0), (SELECT COUNT(*) FROM artifacts a WHERE a.repository = "
      "r.name AND a.push_time > a.deleted_at) FROM repositories r";

json repository_json(const soci::row& r) {
  return {{"id", int_at(r, 0)},
          {"name", text_at(r, 1)},
          {"creation_time", format_rfc3339(int_at(r, 2))},
          {"update_time", format_rfc3339(int_at(r, 3))},
          {"pull_count", int_at(r, 4)},
          {"artifact_count", int_at(r, 5)}};
}

bool project_exists(soci::session& sql, const std::string& name) {
  int n = 0;
  sql << "SELECT COUNT(*) FROM projects WHERE name = :n", soci::use(name),
      soci::into(n);
  return n > 0;
}

http_response list_projects(database& db, const std::string& path,
                            const std::map<std::string, std::string>& q,
                            page_spec p) {
  auto& sql = db.session();
  std::string name = q.count("name") ? q.at("name") : "";
  long long total = 0;
  sql << "SELECT COUNT(*) FROM projects WHERE (:n = '' OR name = :n2)",
      soci::use(name), soci::use(name), soci::into(total);
  std::string query = project_columns;
  query += " WHERE (:n = '' OR p.name = :n2) ORDER BY p.name LIMIT :l "
           "OFFSET :o";
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << query, soci::use(name), soci::use(name),
         soci::use(limit), soci::use(offset));
  json out = json::array();
  for (const auto& r : rs)
    out.push_back(project_json(r));
  auto resp = ok_json(out);
  paginate(resp, path, q, p, total);
  return resp;
}

http_response get_project(database& db, const std::string& name) {
  auto& sql = db.session();
  std::string query = project_columns;
  query += " WHERE p.name = :n";
  soci::rowset<soci::row> rs = (sql.prepare << query, soci::use(name));
  for (const auto& r : rs)
    return ok_json(project_json(r));
  return api_error(404, "NOT_FOUND", "project " + name + " not found");
}

std::optional<bool> metadata_flag(const json& meta, const char* key) {
  auto it = meta.find(key);
  if (it == meta.end())
    return false;
  if (it->is_boolean())
    return it->get<bool>();
  if (it->is_string() && (*it == "true" || *it == "false"))
    return *it == "true";
  return std::nullopt;
}

bool valid_project_name(const std::string& name) {
  if (name.empty() || name.size() > 255)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
          || c == '_' || c == '.'))
      return false;
  return true;
}

http_response create_project(database& db, const json& body) {
  auto& sql = db.session();
  auto name = body["project_name"].get<std::string>();
  json meta = body.contains("metadata") ? body["metadata"] : json::object();
  auto is_public = metadata_flag(meta, "public");
  auto auto_scan = metadata_flag(meta, "auto_scan");
  if (!is_public || !auto_scan)
    return api_error(400, "BAD_REQUEST",
                     "metadata.public and metadata.auto_scan must be "
                     "\"true\" or \"false\"");
  long long now = now_us();
  int pub = *is_public ? 1 : 0, scan = *auto_scan ? 1 : 0;
  soci::statement st
      = (sql.prepare << "INSERT INTO projects (name, public, auto_scan, "
                        "creation_time, update_time) VALUES (:n, :p, "
                        ":s, :c, :u) ON CONFLICT (name) DO NOTHING",
         soci::use(name), soci::use(pub), soci::use(scan), soci::use(now),
         soci::use(now));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return api_error(409, "CONFLICT", "project " + name + " already exists");
  http_response r;
  r.status = 201;
  r.body = "";
  r.headers.emplace_back("Location", "/api/v2.0/projects/" + name);
  return r;
}

http_response list_repositories(database& db, const std::string& project,
                                const std::string& path,
                                const std::map<std::string, std::string>& q,
                                page_spec p) {
  auto& sql = db.session();
  if (!project_exists(sql, project))
    return api_error(404, "NOT_FOUND", "project " + project + " not found");
  long long total = 0;
  sql << "SELECT COUNT(*) FROM repositories WHERE project = :p",
      soci::use(project), soci::into(total);
  std::string query = repository_columns;
  query += " WHERE r.project = :p ORDER BY r.name LIMIT :l OFFSET :o";
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs = (sql.prepare << query, soci::use(project),
                                soci::use(limit), soci::use(offset));
  json out = json::array();
  for (const auto& r : rs)
    out.push_back(repository_json(r));
  auto resp = ok_json(out);
  paginate(resp, path, q, p, total);
  return resp;
}

bool repository_exists(soci::session& sql, const std::string& name) {
  int n = 0;
  sql << "SELECT COUNT(*) FROM repositories WHERE name = :n", soci::use(name),
      soci::into(n);
  return n > 0;
}

http_response get_repository(database& db, const std::string& full) {
  auto& sql = db.session();
  std::string query = repository_columns;
  query += " WHERE r.name = :n";
  soci::rowset<soci::row> rs = (sql.prepare << query, soci::use(full));
  for (const auto& r : rs)
    return ok_json(repository_json(r));
  return api_error(404, "NOT_FOUND", "repository " + full + " not found");
}

http_response
list_artifacts(database& db, const std::string& full, const std::string& path,
               const std::map<std::string, std::string>& q, page_spec p) {
  auto& sql = db.session();
  if (!repository_exists(sql, full))
    return api_error(404, "NOT_FOUND", "repository " + full + " not found");
  long long total = 0;
  sql << "SELECT COUNT(*) FROM artifacts WHERE repository = :r AND "
         "push_time > deleted_at",
      soci::use(full), soci::into(total);
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << "SELECT digest, media_type, size, push_time, "
                        "pull_time, deleted_at FROM artifacts WHERE repository "
                        "= :r AND push_time > deleted_at ORDER BY push_time "
                        "DESC, digest LIMIT :l OFFSET :o",
         soci::use(full), soci::use(limit), soci::use(offset));
  json out = json::array();
  std::vector<std::pair<std::string, long long>> keys;
  for (const auto& r : rs) {
    auto pull = int_at(r, 4);
    out.push_back(
        {{"digest", text_at(r, 0)},
         {"media_type", text_at(r, 1)},
         {"manifest_media_type", text_at(r, 1)},
         {"size", int_at(r, 2)},
         {"push_time", format_rfc3339(int_at(r, 3))},
         {"pull_time", pull > 0 ? json(format_rfc3339(pull)) : json(nullptr)},
         {"repository_name", full},
         {"tags", json::array()}});
    keys.emplace_back(text_at(r, 0), int_at(r, 5));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    soci::rowset<soci::row> tags
        = (sql.prepare << "SELECT name, push_time, pull_time FROM tags WHERE "
                          "repository = :r AND digest = :d AND push_time > "
                          "deleted_at AND push_time > :a ORDER BY name",
           soci::use(full), soci::use(keys[i].first),
           soci::use(keys[i].second));
    for (const auto& t : tags) {
      auto pull = int_at(t, 2);
      out[i]["tags"].push_back(
          {{"name", text_at(t, 0)},
           {"push_time", format_rfc3339(int_at(t, 1))},
           {"pull_time",
            pull > 0 ? json(format_rfc3339(pull)) : json(nullptr)}});
    }
  }
  auto resp = ok_json(out);
  paginate(resp, path, q, p, total);
  return resp;
}

/// Filters from plain parameters or Harbor's `q=k=v,k=v`, where op_time is
/// `[from~to]`.
struct audit_filter {
  std::string operation, username, resource;
  long long from = 0, to = 0;
};

std::optional<http_response>
read_audit_filter(const std::map<std::string, std::string>& q,
                  audit_filter& f) {
  std::map<std::string, std::string> kv = q;
  if (auto it = q.find("q"); it != q.end()) {
    const auto& text = it->second;
    size_t start = 0;
    while (start < text.size()) {
      auto end = text.find(',', start);
      if (end == std::string::npos)
        end = text.size();
      auto item = text.substr(start, end - start);
      auto eq = item.find('=');
      if (eq == std::string::npos)
        return api_error(400, "BAD_REQUEST", "q items must be key=value");
      kv[item.substr(0, eq)] = item.substr(eq + 1);
      start = end + 1;
    }
  }
  auto time_of = [](const std::string& s, long long& out) {
    return s.empty() || parse_rfc3339(s, out);
  };
  if (auto it = kv.find("op_time"); it != kv.end()) {
    auto v = it->second;
    if (v.size() < 3 || v.front() != '[' || v.back() != ']'
        || v.find('~') == std::string::npos)
      return api_error(400, "BAD_REQUEST", "op_time must be [from~to]");
    auto tilde = v.find('~');
    kv["from"] = v.substr(1, tilde - 1);
    kv["to"] = v.substr(tilde + 1, v.size() - tilde - 2);
  }
  f.operation = kv.count("operation") ? kv["operation"] : "";
  f.username = kv.count("username") ? kv["username"] : "";
  f.resource = kv.count("resource") ? kv["resource"] : "";
  if (!f.operation.empty() && f.operation != "push" && f.operation != "pull"
      && f.operation != "delete")
    return api_error(400, "BAD_REQUEST",
                     "operation must be push, pull or delete");
  if (!time_of(kv["from"], f.from) || !time_of(kv["to"], f.to))
    return api_error(400, "BAD_REQUEST", "from and to must be RFC 3339 times");
  return std::nullopt;
}

http_response list_audit_logs(database& db, const std::string& path,
                              const std::map<std::string, std::string>& q,
                              page_spec p, const audit_filter& f) {
  auto& sql = db.session();
  // Fixed SQL: an empty filter value disables its condition.
  constexpr const char* where
      = " WHERE (:o = '' OR operation = :o2) AND (:u = '' OR username = :u2) "
        "AND (:r = '' OR repository = :r2) AND (:f = 0 OR op_time >= :f2) "
        "AND (:t = 0 OR op_time <= :t2)";
  long long total = 0;
  std::string count_query = "SELECT COUNT(*) FROM access_logs";
  count_query += where;
  sql << count_query, soci::use(f.operation), soci::use(f.operation),
      soci::use(f.username), soci::use(f.username), soci::use(f.resource),
      soci::use(f.resource), soci::use(f.from), soci::use(f.from),
      soci::use(f.to), soci::use(f.to), soci::into(total);
  std::string query = "SELECT id, username, repository, tag, digest, "
                      "operation, op_time, event_id FROM access_logs";
  query += where;
  query += " ORDER BY op_time DESC, id DESC LIMIT :l OFFSET :off";
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << query, soci::use(f.operation), soci::use(f.operation),
         soci::use(f.username), soci::use(f.username), soci::use(f.resource),
         soci::use(f.resource), soci::use(f.from), soci::use(f.from),
         soci::use(f.to), soci::use(f.to), soci::use(limit), soci::use(offset));
  json out = json::array();
  for (const auto& r : rs) {
    auto repo = text_at(r, 2);
    auto tag = text_at(r, 3);
    auto digest = text_at(r, 4);
    out.push_back(
        {{"id", int_at(r, 0)},
         {"username", text_at(r, 1)},
         {"resource", tag.empty() ? repo + "@" + digest : repo + ":" + tag},
         {"resource_type", "artifact"},
         {"operation", text_at(r, 5)},
         {"op_time", format_rfc3339(int_at(r, 6))},
         {"event_id", text_at(r, 7)}});
  }
  auto resp = ok_json(out);
  paginate(resp, path, q, p, total);
  return resp;
}

http_response list_dead_letters(database& db, const std::string& path,
                                const std::map<std::string, std::string>& q,
                                page_spec p) {
  auto& sql = db.session();
  long long total = 0;
  sql << "SELECT COUNT(*) FROM dead_letters", soci::into(total);
  long long limit = p.size, offset = p.offset();
  soci::rowset<soci::row> rs
      = (sql.prepare << "SELECT id, event_id, effect, error, attempts, "
                        "created_at, replayed_at FROM dead_letters ORDER BY id "
                        "DESC LIMIT :l OFFSET :o",
         soci::use(limit), soci::use(offset));
  json out = json::array();
  for (const auto& r : rs) {
    auto replayed = int_at(r, 6);
    out.push_back({{"id", int_at(r, 0)},
                   {"event_id", text_at(r, 1)},
                   {"effect", text_at(r, 2)},
                   {"error", text_at(r, 3)},
                   {"attempts", int_at(r, 4)},
                   {"creation_time", format_rfc3339(int_at(r, 5))},
                   {"replay_time", replayed > 0 ? json(format_rfc3339(replayed))
                                                : json(nullptr)}});
  }
  auto resp = ok_json(out);
  paginate(resp, path, q, p, total);
  return resp;
}

http_response replay_dead_letter(database& db, long long id) {
  auto& sql = db.session();
  std::string event_id;
  soci::indicator ind = soci::i_null;
  sql << "SELECT event_id FROM dead_letters WHERE id = :i", soci::use(id),
      soci::into(event_id, ind);
  if (!sql.got_data() || ind == soci::i_null)
    return api_error(404, "NOT_FOUND",
                     "dead letter " + std::to_string(id) + " not found");
  write_transaction tx(db);
  long long now = now_us();
  sql << "UPDATE dead_letters SET replayed_at = :t WHERE id = :i",
      soci::use(now), soci::use(id);
  // Back to pending and unclaimed: recovery dispatches it again; effects
  // already applied are skipped by their marks.
  soci::statement st = (sql.prepare << "UPDATE events SET status = "
                                       "'pending', reason = '', claimed_by = "
                                       "'', claim_expires = 0 WHERE id = :e "
                                       "AND status = 'dead'",
                        soci::use(event_id));
  st.execute(true);
  auto n = st.get_affected_rows();
  tx.commit();
  json body = {{"id", id}, {"event_id", event_id}, {"requeued", n > 0}};
  return ok_json(body, 202);
}

} // namespace

void handle_api(const runtime& rt, actor_runtime& actors,
                incoming_request&& req, const responder& reply_to) {
  const auto& token = rt.cfg->auth.admin_token;
  if (req.authorization.empty() || token.empty()) {
    auto r = api_error(401, "UNAUTHORIZED",
                       token.empty()
                           ? "the management API is off: set auth.admin_token "
                             "or REGEVENT_ADMIN_TOKEN"
                           : "a bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"regevent\"");
    return reply_to->reply(std::move(r));
  }
  if (!bearer_matches(req.authorization, token))
    return reply_to->reply(
        api_error(403, "FORBIDDEN", "the bearer token is not valid"));
  auto parts = split_path(req.target);
  auto path = req.target.substr(0, req.target.find('?'));
  auto q = parse_query(req.target);
  page_spec page;
  if (auto bad = read_page(q, page))
    return reply_to->reply(std::move(*bad));
  // parts: api, v2.0, ...
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v2.0")
    return reply_to->reply(api_error(404, "NOT_FOUND", "no route " + path));
  auto run = [&](std::function<http_response(database&)> work) {
    actors.query({std::move(work), reply_to});
  };
  const bool get = req.method == "GET";
  const auto n = parts.size();
  auto not_allowed = [&](const char* allow) {
    auto r = api_error(405, "METHOD_NOT_ALLOWED", std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    reply_to->reply(std::move(r));
  };
  if (parts[2] == "projects") {
    if (n == 3) {
      if (get)
        return run([path, q, page](database& db) {
          return list_projects(db, path, q, page);
        });
      if (req.method != "POST")
        return not_allowed("GET, POST");
      auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()
          || !body.contains("project_name")
          || !body["project_name"].is_string())
        return reply_to->reply(api_error(
            400, "BAD_REQUEST", "body must be {\"project_name\": \"...\"}"));
      if (!valid_project_name(body["project_name"].get<std::string>()))
        return reply_to->reply(api_error(
            400, "BAD_REQUEST", "project_name must be 1-255 of [a-z0-9._-]"));
      if (body.contains("metadata") && !body["metadata"].is_object())
        return reply_to->reply(
            api_error(400, "BAD_REQUEST", "metadata must be an object"));
      return run([body](database& db) { return create_project(db, body); });
    }
    if (!get)
      return not_allowed("GET");
    auto project = parts[3];
    if (n == 4)
      return run([project](database& db) { return get_project(db, project); });
    if (parts[4] == "repositories") {
      if (n == 5)
        return run([project, path, q, page](database& db) {
          return list_repositories(db, project, path, q, page);
        });
      auto full = project + "/" + parts[5];
      if (n == 6)
        return run([full](database& db) { return get_repository(db, full); });
      if (n == 7 && parts[6] == "artifacts")
        return run([full, path, q, page](database& db) {
          return list_artifacts(db, full, path, q, page);
        });
    }
  } else if (parts[2] == "audit-logs" && n == 3) {
    if (!get)
      return not_allowed("GET");
    audit_filter f;
    if (auto bad = read_audit_filter(q, f))
      return reply_to->reply(std::move(*bad));
    return run([path, q, page, f](database& db) {
      return list_audit_logs(db, path, q, page, f);
    });
  } else if (parts[2] == "dead-letters") {
    if (n == 3) {
      if (!get)
        return not_allowed("GET");
      return run([path, q, page](database& db) {
        return list_dead_letters(db, path, q, page);
      });
    }
    if (n == 5 && parts[4] == "replay") {
      if (req.method != "POST")
        return not_allowed("POST");
      long long id = 0;
      if (!parse_positive(parts[3], 1'000'000'000'000LL, id))
        return reply_to->reply(
            api_error(400, "BAD_REQUEST", "dead letter id must be a number"));
      return run([id](database& db) { return replay_dead_letter(db, id); });
    }
  }
  reply_to->reply(api_error(404, "NOT_FOUND", "no route " + path));
}

} // namespace regevent
