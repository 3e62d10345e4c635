#include "http/api.hpp"

#include "actors/observability/health.hpp"
#include "actors/system.hpp"
#include "config/defaults.hpp"
#include "config/http_url.hpp"
#include "config/percent.hpp"
#include "http/answers.hpp"
#include "http/auth.hpp"
#include "http/harbor_query.hpp"
#include "http/registry_ping.hpp"
#include "http/replication_json.hpp"
#include "http/scanner_adapter.hpp"
#include "http/scanner_json.hpp"
#include "http/webhook_json.hpp"

#include <nlohmann/json.hpp>
#include <uriparser/Uri.h>

#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace regevent {

namespace {

using json = nlohmann::json;

/// The longest repository description: Harbor keeps its descriptions in a
/// TEXT column; a bound keeps one request from storing megabytes.
constexpr size_t max_description = 64 * 1024;

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

/// A decimal number in 1..max. The length guard only keeps std::stoll from
/// throwing (18 digits always fit a long long); the bound is `max`, so it
/// must not be tighter than the longest `max` (a dead letter id).
bool parse_positive(const std::string& text, long long max, long long& out) {
  if (text.empty() || text.size() > 18
      || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(text);
  return out >= 1 && out <= max;
}

std::optional<http_response>
read_page(const std::map<std::string, std::string>& q, page_request& p) {
  if (auto it = q.find("page");
      it != q.end()
      && !parse_positive(it->second, defaults::api::max_page_number, p.page))
    return error_response(400, "BAD_REQUEST",
                          "page must be a positive integer");
  if (auto it = q.find("page_size"); it != q.end()) {
    // Harbor's swagger bounds page_size at 100, which go-swagger checks
    // before the handler: 422 past it, as Harbor answers.
    const long long any = 1'000'000'000'000'000'000LL;
    if (!parse_positive(it->second, any, p.size))
      return error_response(400, "BAD_REQUEST",
                            "page_size in query must be a positive integer");
    if (p.size > static_cast<long long>(defaults::api::max_page_size))
      return error_response(
          422, "UNPROCESSABLE_ENTITY",
          "page_size in query should be less than or equal to "
              + std::to_string(defaults::api::max_page_size));
  }
  return std::nullopt;
}

/// X-Total-Count and Link headers as Harbor sets them.
void paginate(http_response& r, const std::string& path,
              const std::map<std::string, std::string>& q,
              const page_request& p, long long total) {
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
    link += (link.empty() ? "" : ", ") + link_to(p.page + 1) + "; rel=\"next\"";
  if (!link.empty())
    r.headers.emplace_back("Link", link);
}

http_response ok_json(const json& body, unsigned status = 200) {
  http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

bool valid_project_name(const std::string& name) {
  if (name.empty() || name.size() > defaults::api::max_project_name)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
          || c == '_' || c == '.'))
      return false;
  return true;
}

/// regevent's own audit-log filters as plain parameters (`username`,
/// `resource`, `resource_type`, `from`, `to`, RFC 3339); `operation` joins
/// Harbor's `q` as its `operation` key.
std::optional<http_response>
read_audit_filter(const std::map<std::string, std::string>& q,
                  audit_filter& f, list_query& list) {
  auto text = [&q](const char* key) {
    auto it = q.find(key);
    return it == q.end() ? std::string{} : it->second;
  };
  f.username = text("username");
  f.resource = text("resource");
  f.resource_type = text("resource_type");
  auto from = text("from"), to = text("to");
  if ((!from.empty() && !parse_rfc3339(from, f.from))
      || (!to.empty() && !parse_rfc3339(to, f.to)))
    return error_response(400, "BAD_REQUEST",
                          "from and to must be RFC 3339 times");
  if (auto op = text("operation"); !op.empty()) {
    if (op != "push" && op != "pull" && op != "delete" && op != "create"
        && op != "update")
      return error_response(
          400, "BAD_REQUEST",
          "operation must be create (push), pull, delete or update");
    list.terms.push_back({"operation", query_term::match::exact, {op}});
  }
  // Harbor v1 called an artifact's push `push`; v2 writes `create`.
  for (auto& t : list.terms)
    if (t.key == "operation")
      for (auto& v : t.values)
        if (v == "push")
          v = "create";
  return std::nullopt;
}

/// RFC 3339, or null for never (0): regevent's own records.
json time_or_null(timestamp_us t) {
  return t > 0 ? json(format_rfc3339(t)) : json(nullptr);
}

/// RFC 3339, or Harbor's zero time for unknown or never (0): the push time
/// of an artifact known only from pulls or a reconcile, the pull time of
/// one never pulled. Harbor's schemas have no nullable times.
json time_or_zero(timestamp_us t) {
  return t > 0 ? json(format_rfc3339(t)) : json("0001-01-01T00:00:00.000Z");
}

/// A JSON text from the store; `fallback` should it not parse.
json stored_json(const std::string& text, json fallback) {
  auto out = json::parse(text, nullptr, false);
  return out.is_discarded() ? fallback : out;
}

/// Harbor's roles of the caller in every project: a system admin is
/// project admin (1); a read token is a guest (3).
int role_of(bool admin) {
  return admin ? 1 : 3;
}

json to_json(const project_row& p, bool admin) {
  json metadata = stored_json(p.metadata, json::object());
  if (!metadata.is_object())
    metadata = json::object();
  metadata["public"] = p.is_public ? "true" : "false";
  metadata["auto_scan"] = p.auto_scan ? "true" : "false";
  return {{"project_id", p.id},
          {"name", p.name},
          // regevent has no users: every project is the admin's, as a
          // project created by Harbor's admin is (user id 1).
          {"owner_id", 1},
          {"owner_name", "admin"},
          {"registry_id", 0},
          {"deleted", false},
          {"togglable", true},
          {"current_user_role_id", role_of(admin)},
          {"current_user_role_ids", json::array({role_of(admin)})},
          {"metadata", std::move(metadata)},
          // No CVE allowlists here: Harbor's empty one.
          {"cve_allowlist",
           {{"id", 0},
            {"project_id", p.id},
            {"items", json::array()},
            {"creation_time", format_rfc3339(p.creation_time)},
            {"update_time", format_rfc3339(p.update_time)}}},
          {"creation_time", format_rfc3339(p.creation_time)},
          {"update_time", format_rfc3339(p.update_time)},
          {"repo_count", p.repo_count}};
}

json to_json(const repository_row& r) {
  return {{"id", r.id},
          {"project_id", r.project_id},
          {"name", r.name},
          {"description", r.description},
          {"creation_time", format_rfc3339(r.creation_time)},
          {"update_time", format_rfc3339(r.update_time)},
          {"pull_count", r.pull_count},
          {"artifact_count", r.artifact_count}};
}

json to_json(const tag_row& t) {
  return {{"id", t.id},
          {"repository_id", t.repository_id},
          {"artifact_id", t.artifact_id},
          {"name", t.name},
          {"push_time", time_or_zero(t.push_time)},
          {"pull_time", time_or_zero(t.pull_time)},
          // No immutability rules here.
          {"immutable", false}};
}

/// A repository name in a path segment as Harbor's swagger asks for it:
/// its slashes encoded twice (`a/b` → `a%252Fb`).
std::string repository_segment(const std::string& repository) {
  return percent_encode(percent_encode(repository));
}

/// What of an artifact a list or read renders (Harbor's `with_*`).
struct artifact_view {
  bool with_tag = true;
};

json to_json(const artifact_row& a, const artifact_view& view = {}) {
  const auto slash = a.repository.find('/');
  const auto project = a.repository.substr(0, slash);
  const auto name
      = slash == std::string::npos ? a.repository : a.repository.substr(slash + 1);
  json out = {
      {"id", a.id},
      {"type", a.type},
      {"media_type", a.harbor_media_type},
      {"manifest_media_type", a.media_type},
      // Harbor: the manifest's artifactType, else its config's media type.
      {"artifact_type",
       a.artifact_type.empty() ? a.harbor_media_type : a.artifact_type},
      {"project_id", a.project_id},
      {"repository_id", a.repository_id},
      {"repository_name", a.repository},
      {"digest", a.digest},
      {"size", a.details_size > 0 ? a.details_size : a.size},
      {"push_time", time_or_zero(a.push_time)},
      {"pull_time", time_or_zero(a.pull_time)},
      {"extra_attrs", stored_json(a.extra_attrs, json::object())},
      {"annotations", stored_json(a.annotations, json::object())},
      {"references", stored_json(a.references, json::array())},
      // No labels here.
      {"labels", json::array()},
      {"addition_links",
       {{"vulnerabilities",
         {{"href", "/api/v2.0/projects/" + percent_encode(project)
                       + "/repositories/" + repository_segment(name)
                       + "/artifacts/" + a.digest
                       + "/additions/vulnerabilities"},
          {"absolute", false}}}}}};
  if (view.with_tag) {
    json tags = json::array();
    for (const auto& t : a.tags)
      tags.push_back(to_json(t));
    out["tags"] = std::move(tags);
  }
  if (!a.scan_overview.empty())
    out["scan_overview"] = json::parse(a.scan_overview, nullptr, false);
  return out;
}

/// Harbor's AuditLog; the event behind a row only with regevent's own
/// `with_event_id=true`, so that no Harbor client sees a field it does
/// not know.
json to_json(const audit_row& r, bool with_event_id) {
  json out = {{"id", r.id},
              {"username", r.username},
              {"resource", r.resource},
              {"resource_type", r.resource_type},
              {"operation", r.operation},
              {"op_time", format_rfc3339(r.op_time)}};
  if (with_event_id)
    out["event_id"] = r.event_id;
  return out;
}

/// A reconcile run: what it walked and changed, in Harbor's time layout.
json to_json(const reconcile_run& x) {
  const auto& c = x.counts;
  return {{"id", x.id},
          {"trigger", x.trigger},
          {"status", x.status},
          {"instance", x.instance},
          {"creation_time", format_rfc3339(x.created_at)},
          {"start_time", time_or_null(x.started_at)},
          {"end_time", time_or_null(x.finished_at)},
          {"repositories_total", c.repositories_total},
          {"repositories_walked", c.repositories_walked},
          {"repositories_created", c.repositories_created},
          {"created", c.created},
          {"deleted", c.deleted},
          {"corrected", c.corrected},
          {"errors", c.errors},
          {"error", x.error}};
}

json to_json(const dead_letter_row& d) {
  return {{"id", d.id},
          {"event_id", d.event_id},
          {"effect", d.effect},
          {"error", d.error},
          {"attempts", d.attempts},
          {"creation_time", format_rfc3339(d.created_at)},
          {"replay_time", time_or_null(d.replayed_at)}};
}

/// What one API request needs to render its answer, kept until the actors
/// answer.
struct api_call {
  responder reply_to;
  std::string path;
  std::map<std::string, std::string> query;
  page_request page;
  uint32_t retry_after_s;
  /// Whose token asked: the name every change is audited under.
  api_user by;
  /// Whether that token is an admin's (Harbor's role in each project).
  bool admin = false;
  artifact_view view;
  bool with_event_id = false;

  json row_json(const project_row& p) const {
    return to_json(p, admin);
  }
  json row_json(const artifact_row& a) const {
    return to_json(a, view);
  }
  json row_json(const audit_row& a) const {
    return to_json(a, with_event_id);
  }
  template<class Row>
  json row_json(const Row& r) const {
    return to_json(r);
  }

  /// A callback that answers what `format` makes of the result, or maps
  /// the error.
  template<class T, class Format>
  reply_fn<T> answer(Format format) const {
    return [call = *this, format](caf::expected<T> x) {
      if (!x)
        return call.reply_to->reply(
            answer_error(x.error(), call.retry_after_s));
      call.reply_to->reply(format(*x));
    };
  }

  /// 405 naming the methods the route takes.
  void not_allowed(const char* allow) const {
    auto r = error_response(405, "METHOD_NOT_ALLOWED",
                            std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    reply_to->reply(std::move(r));
  }

  void bad_request(const std::string& error) const {
    reply_to->reply(error_response(400, "BAD_REQUEST", error));
  }

  /// A callback that answers a page with what `render` makes of it, and
  /// Harbor's X-Total-Count and Link headers.
  template<class Page, class Render>
  reply_fn<Page> paged(Render render) const {
    return answer<Page>([call = *this, render](const Page& page) {
      http_response r;
      r.body = render(page);
      paginate(r, call.path, call.query, call.page, page.total);
      return r;
    });
  }

  /// A callback that renders a row, or a page of rows, as JSON.
  template<class T>
  reply_fn<T> render() const {
    return answer<T>([call = *this](const T& x) { return call.body_of(x); });
  }

  template<class Row>
  http_response body_of(const page_of<Row>& p) const {
    json out = json::array();
    for (const auto& row : p.items)
      out.push_back(row_json(row));
    auto r = ok_json(out);
    paginate(r, path, query, page, p.total);
    return r;
  }

  template<class Row>
  http_response body_of(const Row& row) const {
    return ok_json(row_json(row));
  }
};

/// `/api/v2.0/replication/executions[/{id}[/tasks|/retry]]`: the runs of
/// replication policies, manual runs, stops (Harbor's `PUT .../{id}`) and
/// re-runs of failed or stopped ones.
void replication_execution_routes(actor_runtime& actors,
                                  const incoming_request& req,
                                  const std::vector<std::string>& parts,
                                  const api_call& call) {
  const auto& reply_to = call.reply_to;
  const auto n = parts.size();
  auto not_allowed = [&call](const char* allow) { call.not_allowed(allow); };
  auto bad = [&call](const std::string& error) { call.bad_request(error); };
  auto execution_answer = [&call](unsigned status) {
    return call.answer<replication_execution>(
        [status](const replication_execution& x) {
          http_response r;
          r.status = status;
          r.body = replication_execution_json(x);
          if (status == 201)
            r.headers.emplace_back("Location",
                                   "/api/v2.0/replication/executions/"
                                       + std::to_string(x.id));
          return r;
        });
  };
  if (n == 4) {
    if (req.method == "POST") {
      std::string error;
      auto policy = parse_replication_start(req.body, error);
      if (!policy)
        return bad(error);
      return actors.start_replication(call.by, *policy, execution_answer(201));
    }
    if (req.method != "GET")
      return not_allowed("GET, POST");
    replication_execution_query q;
    if (auto it = call.query.find("policy_id"); it != call.query.end()) {
      long long policy = 0;
      if (!parse_positive(it->second, defaults::webhooks::max_policy_id,
                          policy))
        return bad("policy_id must be a positive number");
      q.policy_id = policy;
    }
    q.page = call.page.page;
    q.page_size = call.page.size;
    return actors.list_replication_executions(
        std::move(q), call.paged<replication_execution_page>(
                          [](const replication_execution_page& page) {
                            return replication_executions_json(page);
                          }));
  }
  long long id = 0;
  if (!parse_positive(parts[4], defaults::webhooks::max_policy_id, id))
    return bad("execution id must be a number");
  if (n == 5) {
    if (req.method == "PUT")
      return actors.stop_replication_execution(call.by, id,
                                               execution_answer(200));
    if (req.method != "GET")
      return not_allowed("GET, PUT");
    return actors.get_replication_execution(id, execution_answer(200));
  }
  if (parts[5] == "tasks") {
    if (req.method != "GET")
      return not_allowed("GET");
    return actors.list_replication_tasks(
        id, call.answer<replication_task_list>(
                [](const replication_task_list& l) {
                  http_response r;
                  r.body = replication_tasks_json(l);
                  r.headers.emplace_back("X-Total-Count",
                                         std::to_string(l.items.size()));
                  return r;
                }));
  }
  if (parts[5] == "retry") {
    if (req.method != "POST")
      return not_allowed("POST");
    return actors.retry_replication_execution(call.by, id,
                                              execution_answer(200));
  }
  reply_to->reply(error_response(404, "NOT_FOUND", "no route " + call.path));
}

/// `.../webhook/policies/{id}/executions[/{id}[/retry]]` and `.../test`:
/// the delivery log, manual re-sends and test deliveries.
template<class NotAllowed>
void delivery_routes(actor_runtime& actors, const incoming_request& req,
                     const std::vector<std::string>& parts,
                     const api_call& call, NotAllowed not_allowed) {
  const auto& reply_to = call.reply_to;
  const auto n = parts.size();
  long long policy = 0;
  if (!parse_positive(parts[6], defaults::webhooks::max_policy_id, policy))
    return reply_to->reply(error_response(
        400, "BAD_REQUEST", "webhook policy id must be a number"));
  auto execution_answer = [&call](unsigned status) {
    return call.answer<webhook_execution>([status](const webhook_execution& x) {
      http_response r;
      r.status = status;
      r.body = webhook_execution_json(x);
      return r;
    });
  };
  if (n == 8 && parts[7] == "test") {
    if (req.method != "POST")
      return not_allowed("POST");
    return actors.test_webhook_policy(call.by, {parts[3], policy},
                                      execution_answer(201));
  }
  if (parts[7] != "executions" || n > 10)
    return reply_to->reply(
        error_response(404, "NOT_FOUND", "no route " + call.path));
  if (n == 8) {
    if (req.method != "GET")
      return not_allowed("GET");
    webhook_execution_query q{parts[3], policy, call.page.page, call.page.size};
    return actors.list_webhook_executions(
        std::move(q), call.paged<webhook_execution_page>(
                          [](const webhook_execution_page& page) {
                            return webhook_executions_json(page);
                          }));
  }
  long long id = 0;
  if (!parse_positive(parts[8], defaults::webhooks::max_policy_id, id))
    return reply_to->reply(
        error_response(400, "BAD_REQUEST", "execution id must be a number"));
  webhook_execution_ref ref{parts[3], policy, id};
  if (n == 9) {
    if (req.method != "GET")
      return not_allowed("GET");
    return actors.get_webhook_execution(std::move(ref), execution_answer(200));
  }
  if (parts[9] != "retry")
    return reply_to->reply(
        error_response(404, "NOT_FOUND", "no route " + call.path));
  if (req.method != "POST")
    return not_allowed("POST");
  actors.retry_webhook_execution(call.by, std::move(ref),
                                 execution_answer(200));
}

/// `POST /api/v2.0/registries/ping`: 200 when the registry answers `/v2/`
/// and accepts the credential, 400 with the step, status and registry error
/// code when not (Harbor answers a failed ping 400 too).
void ping_route(actor_runtime& actors, const api_services& services,
                const incoming_request& req, const api_call& call) {
  const auto& reply_to = call.reply_to;
  if (!services.outbound)
    return reply_to->reply(error_response(
        503, "SERVICE_UNAVAILABLE", "this daemon has no outbound client"));
  std::string error;
  auto ping = parse_registry_ping(req.body, error);
  if (!ping)
    return reply_to->reply(error_response(400, "BAD_REQUEST", error));
  auto run
      = [outbound = services.outbound, reply_to](const registry_spec& target) {
          ping_registry(outbound, target, [reply_to](std::string failure) {
            if (failure.empty())
              return reply_to->reply(http_response{});
            reply_to->reply(error_response(400, "BAD_REQUEST",
                                           "registry ping failed: " + failure));
          });
        };
  if (ping->id == 0)
    return run(ping->applied_to(registry_spec{}));
  // A saved registry, with its secret, and what the request changes.
  actors.get_registry_with_secret(
      ping->id,
      [request = *ping, run, call](caf::expected<registry_record> stored) {
        if (!stored)
          return call.reply_to->reply(
              answer_error(stored.error(), call.retry_after_s));
        run(request.applied_to(std::move(*stored)));
      });
}

/// `/api/v2.0/registries[/{id}]` and `/api/v2.0/replication/policies[/{id}]`
/// (`base` is "registries" or "policies", `id_at` where the id is).
void replication_routes(const runtime& rt, actor_runtime& actors,
                        const api_services& services,
                        const incoming_request& req,
                        const std::vector<std::string>& parts, size_t id_at,
                        const api_call& call) {
  const bool registries = parts[2] == "registries";
  const auto& method = req.method;
  auto not_allowed = [&call](const char* allow) { call.not_allowed(allow); };
  auto bad = [&call](const std::string& error) { call.bad_request(error); };
  auto listed = [](std::string body, size_t n) {
    http_response r;
    r.body = std::move(body);
    r.headers.emplace_back("X-Total-Count", std::to_string(n));
    return r;
  };
  auto deleted = call.answer<bool>([](bool) { return http_response{}; });
  if (registries) {
    auto answer = [&call](unsigned status) {
      return call.answer<registry_record>([status](const registry_record& x) {
        http_response r;
        r.status = status;
        r.body = registry_json(x);
        if (status == 201)
          r.headers.emplace_back("Location", "/api/v2.0/registries/"
                                                 + std::to_string(x.id));
        return r;
      });
    };
    auto spec_of = [&]() {
      std::string error;
      auto spec = parse_registry(req.body, !rt.cfg->secrets.key.empty(), error);
      if (!spec)
        bad(error);
      return spec;
    };
    if (parts.size() == id_at + 1 && parts[id_at] == "ping") {
      if (method != "POST")
        return not_allowed("POST");
      return ping_route(actors, services, req, call);
    }
    if (parts.size() == id_at) {
      if (method == "GET")
        return actors.list_registries(
            call.answer<registry_list>([listed](const registry_list& l) {
              return listed(registries_json(l.items), l.items.size());
            }));
      if (method != "POST")
        return not_allowed("GET, POST");
      if (auto spec = spec_of())
        return actors.create_registry(call.by, std::move(*spec), answer(201));
      return;
    }
    long long id = 0;
    if (!parse_positive(parts[id_at], defaults::webhooks::max_policy_id, id))
      return bad("registry id must be a number");
    if (method == "GET")
      return actors.get_registry(id, answer(200));
    if (method == "PUT") {
      if (auto spec = spec_of())
        return actors.update_registry(call.by, {id, std::move(*spec)},
                                      answer(200));
      return;
    }
    if (method == "DELETE")
      return actors.delete_registry(call.by, id, std::move(deleted));
    return not_allowed("GET, PUT, DELETE");
  }
  auto answer = [&call](unsigned status) {
    return call.answer<replication_policy>(
        [status](const replication_policy& x) {
          http_response r;
          r.status = status;
          r.body = replication_policy_json(x);
          if (status == 201)
            r.headers.emplace_back("Location", "/api/v2.0/replication/policies/"
                                                   + std::to_string(x.id));
          return r;
        });
  };
  auto spec_of = [&]() {
    std::string error;
    auto spec = parse_replication_policy(req.body, error);
    if (!spec)
      bad(error);
    return spec;
  };
  if (parts.size() == id_at) {
    if (method == "GET")
      return actors.list_replication_policies(
          call.answer<replication_policy_list>(
              [listed](const replication_policy_list& l) {
                return listed(replication_policies_json(l.items),
                              l.items.size());
              }));
    if (method != "POST")
      return not_allowed("GET, POST");
    if (auto spec = spec_of())
      return actors.create_replication_policy(call.by, std::move(*spec),
                                              answer(201));
    return;
  }
  long long id = 0;
  if (!parse_positive(parts[id_at], defaults::webhooks::max_policy_id, id))
    return bad("replication policy id must be a number");
  if (method == "GET")
    return actors.get_replication_policy(id, answer(200));
  if (method == "PUT") {
    if (auto spec = spec_of())
      return actors.update_replication_policy(call.by, {id, std::move(*spec)},
                                              answer(200));
    return;
  }
  if (method == "DELETE")
    return actors.delete_replication_policy(call.by, id, std::move(deleted));
  not_allowed("GET, PUT, DELETE");
}

/// `/api/v2.0/scanners[/{uuid}]`: scanner registrations (Harbor's
/// ScannerRegistration); `PATCH .../{uuid}` `{is_default}` picks the
/// default.
void scanner_routes(const runtime& rt, actor_runtime& actors,
                    const api_services& services, const incoming_request& req,
                    const std::vector<std::string>& parts,
                    const api_call& call) {
  const auto& method = req.method;
  const bool can_seal = !rt.cfg->secrets.key.empty();
  // The adapter's metadata, or 502 with why it could not be had (Harbor's
  // ping answers a failure 400, as for registries).
  // By value: the metadata route calls it after this function returned.
  auto ask_adapter = [outbound = services.outbound, reply_to = call.reply_to](
                         const scanner_spec& target, unsigned failure_status) {
    if (!outbound)
      return reply_to->reply(error_response(
          503, "SERVICE_UNAVAILABLE", "this daemon has no outbound client"));
    fetch_scanner_metadata(
        outbound, target,
        [reply_to, failure_status](scanner_metadata_result r) {
          if (!r.failure.empty())
            return reply_to->reply(error_response(
                failure_status,
                failure_status == 400 ? "BAD_REQUEST" : "BAD_GATEWAY",
                "scanner adapter: " + r.failure));
          http_response ok;
          ok.body = std::move(r.metadata);
          reply_to->reply(std::move(ok));
        });
  };
  if (parts.size() == 4 && parts[3] == "ping") {
    if (method != "POST")
      return call.not_allowed("POST");
    std::string error;
    // Checked as it would be saved, but never stored.
    auto spec = parse_scanner(req.body, true, true, error);
    if (!spec)
      return call.bad_request(error);
    return ask_adapter(*spec, 400);
  }
  if (parts.size() == 5) {
    if (parts[4] != "metadata")
      return call.reply_to->reply(
          error_response(404, "NOT_FOUND", "no route " + call.path));
    if (method != "GET")
      return call.not_allowed("GET");
    return actors.get_scanner_with_credential(
        parts[3], [ask_adapter, call](caf::expected<scanner_registration> x) {
          if (!x)
            return call.reply_to->reply(
                answer_error(x.error(), call.retry_after_s));
          ask_adapter(*x, 502);
        });
  }
  auto answer = [&call](unsigned status) {
    return call.answer<scanner_registration>(
        [status](const scanner_registration& x) {
          http_response r;
          r.status = status;
          r.body = scanner_json(x);
          if (status == 201)
            r.headers.emplace_back("Location", "/api/v2.0/scanners/" + x.uuid);
          return r;
        });
  };
  auto spec_of = [&](bool creating) {
    std::string error;
    auto spec = parse_scanner(req.body, can_seal, creating, error);
    if (!spec)
      call.bad_request(error);
    return spec;
  };
  if (parts.size() == 3) {
    if (method == "GET")
      return actors.list_scanners(
          call.answer<scanner_list>([](const scanner_list& l) {
            http_response r;
            r.body = scanners_json(l.items);
            r.headers.emplace_back("X-Total-Count",
                                   std::to_string(l.items.size()));
            return r;
          }));
    if (method != "POST")
      return call.not_allowed("GET, POST");
    if (auto spec = spec_of(true))
      return actors.create_scanner(call.by, std::move(*spec), answer(201));
    return;
  }
  const auto& uuid = parts[3];
  if (method == "GET")
    return actors.get_scanner(uuid, answer(200));
  if (method == "PUT") {
    if (auto spec = spec_of(false))
      return actors.update_scanner(call.by, {uuid, std::move(*spec)},
                                   answer(200));
    return;
  }
  if (method == "PATCH") {
    std::string error;
    auto is_default = parse_scanner_default(req.body, error);
    if (!is_default)
      return call.bad_request(error);
    return actors.set_default_scanner(call.by, {uuid, *is_default},
                                      answer(200));
  }
  if (method == "DELETE")
    return actors.delete_scanner(
        call.by, uuid, call.answer<bool>([](bool) { return http_response{}; }));
  call.not_allowed("GET, PUT, PATCH, DELETE");
}

/// `/api/v2.0/system/reconcile[/runs]`: POST queues a reconcile with the
/// source registry (202; 409 while one is unfinished), GET shows the
/// newest run, `/runs` the newest ten.
void reconcile_routes(const runtime& rt, actor_runtime& actors,
                      const incoming_request& req,
                      const std::vector<std::string>& parts,
                      const api_call& call) {
  const auto n = parts.size();
  if (n == 5) {
    if (parts[4] != "runs")
      return call.reply_to->reply(
          error_response(404, "NOT_FOUND", "no route " + call.path));
    if (req.method != "GET")
      return call.not_allowed("GET");
    return actors.list_reconcile_runs(
        call.answer<reconcile_run_list>([](const reconcile_run_list& x) {
          json out = json::array();
          for (const auto& run : x.runs)
            out.push_back(to_json(run));
          return ok_json(out);
        }));
  }
  if (req.method == "POST") {
    if (rt.cfg->source_registry.url.empty())
      return call.reply_to->reply(error_response(
          412, "PRECONDITION_FAILED",
          "no source_registry.url is configured: there is no registry to "
          "reconcile with"));
    return actors.start_reconcile(
        call.by,

        call.answer<reconcile_run>([](const reconcile_run& x) {
          auto r = ok_json(to_json(x), 202);
          r.headers.emplace_back("Location", "/api/v2.0/system/reconcile");
          return r;
        }));
  }
  if (req.method != "GET")
    return call.not_allowed("GET, POST");
  return actors.list_reconcile_runs(
      call.answer<reconcile_run_list>([](const reconcile_run_list& x) {
        if (x.runs.empty())
          return error_response(404, "NOT_FOUND",
                                "no reconcile has run yet");
        return ok_json(to_json(x.runs.front()));
      }));
}

/// `/api/v2.0/projects/{project}/scanner`: the scanner the project's scans
/// use (its own, else the default); PUT `{uuid}` sets its own.
void project_scanner_route(actor_runtime& actors, const incoming_request& req,
                           const std::string& project, const api_call& call) {
  if (req.method == "GET")
    return actors.get_project_scanner(
        project, call.answer<scanner_registration>(
                     [](const scanner_registration& x) {
                       http_response r;
                       r.body = scanner_json(x);
                       return r;
                     }));
  if (req.method != "PUT")
    return call.not_allowed("GET, PUT");
  std::string error;
  auto uuid = parse_project_scanner(req.body, error);
  if (!uuid)
    return call.bad_request(error);
  actors.set_project_scanner(
      call.by, {project, std::move(*uuid)},
      call.answer<bool>([](bool) { return http_response{}; }));
}

/// `/api/v2.0/projects/{p}/repositories/{r}/artifacts/{reference}/...`:
/// a scan by hand (`/scan`), the stored report
/// (`/additions/vulnerabilities`) and a scan's log
/// (`/scan/{report_id}/log`), as Harbor v2.0 has them.
void artifact_scan_routes(actor_runtime& actors, const incoming_request& req,
                          const std::vector<std::string>& parts,
                          const api_call& call) {
  const auto n = parts.size();
  artifact_reference artifact{parts[3] + "/" + parts[5], parts[7]};
  if (n == 9 && parts[8] == "scan") {
    if (req.method != "POST")
      return call.not_allowed("POST");
    // Accepted: the scan runs on its own; its progress shows in the
    // artifact's scan_overview.
    return actors.scan_artifact(
        call.by, std::move(artifact),
        call.answer<scan_request_result>([](const scan_request_result&) {
          http_response r;
          r.status = 202;
          return r;
        }));
  }
  if (n == 10 && parts[8] == "additions" && parts[9] == "vulnerabilities") {
    if (req.method != "GET")
      return call.not_allowed("GET");
    return actors.get_vulnerabilities(
        std::move(artifact),
        call.answer<scan_report_doc>([](const scan_report_doc& doc) {
          // Keyed by the report's media type, as Harbor answers; {} when
          // the artifact has no report yet.
          json out = json::object();
          if (!doc.report.empty())
            out[doc.report_mime] = json::parse(doc.report, nullptr, false);
          http_response r;
          r.body = out.dump();
          return r;
        }));
  }
  if (n == 11 && parts[8] == "scan" && parts[10] == "log") {
    if (req.method != "GET")
      return call.not_allowed("GET");
    return actors.get_scan_log(
        {std::move(artifact), parts[9]},
        call.answer<scan_log>([](const scan_log& log) {
          http_response r;
          r.content_type = "text/plain; charset=utf-8";
          r.body = log.text;
          return r;
        }));
  }
  call.reply_to->reply(error_response(
      404, "NOT_FOUND", "no route " + req.target));
}

/// `/api/v2.0/projects/{project}/webhook/...`: policies and event types.
void webhook_routes(const runtime& rt, actor_runtime& actors,
                    const address_guard& guard, const incoming_request& req,
                    const std::vector<std::string>& parts,
                    const api_call& call) {
  const auto& reply_to = call.reply_to;
  const auto n = parts.size();
  const auto& project = parts[3];
  const auto& method = req.method;
  auto not_allowed = [&](const char* allow) {
    auto r = error_response(405, "METHOD_NOT_ALLOWED",
                            std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    reply_to->reply(std::move(r));
  };
  auto policy_answer = [&call](unsigned status) {
    return call.answer<webhook_policy>([status](const webhook_policy& p) {
      http_response r;
      r.status = status;
      r.body = webhook_policy_json(p);
      if (status == 201)
        r.headers.emplace_back(
            "Location", "/api/v2.0/projects/" + percent_encode(p.project)
                            + "/webhook/policies/" + std::to_string(p.id));
      return r;
    });
  };
  auto spec_of = [&]() -> std::optional<webhook_policy_spec> {
    std::string error;
    auto spec = parse_webhook_policy(req.body, project,
                                     !rt.cfg->secrets.key.empty(), error);
    // Resolves target names synchronously on this io thread (the system
    // resolver, no cancellation): acceptable for a rare admin call; the
    // delivery checks again after its own asynchronous resolution.
    if (spec && !check_webhook_targets(*spec, guard, error))
      spec.reset();
    if (!spec)
      reply_to->reply(error_response(400, "BAD_REQUEST", error));
    return spec;
  };
  if (n == 6 && parts[5] == "events") {
    if (method != "GET")
      return not_allowed("GET");
    // Known to the project: 404 for one that does not exist.
    return actors.get_project(project,
                              call.answer<project_row>([](const project_row&) {
                                http_response r;
                                r.body = webhook_events_json();
                                return r;
                              }));
  }
  if (n == 6 && parts[5] == "policies") {
    if (method == "GET")
      return actors.list_webhook_policies(
          project,
          call.answer<webhook_policy_list>([](const webhook_policy_list& l) {
            http_response r;
            r.body = webhook_policies_json(l);
            r.headers.emplace_back("X-Total-Count",
                                   std::to_string(l.items.size()));
            return r;
          }));
    if (method != "POST")
      return not_allowed("GET, POST");
    if (auto spec = spec_of())
      return actors.create_webhook_policy(call.by, std::move(*spec),
                                          policy_answer(201));
    return;
  }
  if (n == 7 && parts[5] == "policies") {
    long long id = 0;
    if (!parse_positive(parts[6], defaults::webhooks::max_policy_id, id))
      return reply_to->reply(error_response(
          400, "BAD_REQUEST", "webhook policy id must be a number"));
    webhook_policy_ref ref{project, id};
    if (method == "GET")
      return actors.get_webhook_policy(std::move(ref), policy_answer(200));
    if (method == "PUT") {
      if (auto spec = spec_of())
        return actors.update_webhook_policy(call.by, {id, std::move(*spec)},
                                            policy_answer(200));
      return;
    }
    if (method == "DELETE")
      return actors.delete_webhook_policy(call.by, std::move(ref),
                                          call.answer<bool>([](bool) {
                                            http_response r;
                                            r.status = 200;
                                            return r;
                                          }));
    return not_allowed("GET, PUT, DELETE");
  }
  if (n >= 8 && parts[5] == "policies")
    return delivery_routes(actors, req, parts, call, not_allowed);
  reply_to->reply(error_response(404, "NOT_FOUND", "no route " + call.path));
}

/// `/api/v2.0/systeminfo`: Harbor's GeneralInfo, what of it regevent has.
/// Anonymous, as Harbor's is; it holds nothing secret.
http_response system_info(const runtime& rt) {
  std::string error;
  std::string registry;
  if (auto url = parse_http_url(rt.cfg->source_registry.url, error))
    registry = url->host_header;
  return ok_json({{"current_time", format_rfc3339(now_us())},
                  {"registry_url", registry},
                  {"auth_mode", "db_auth"},
                  {"primary_auth_mode", false},
                  {"project_creation_restriction", "adminonly"},
                  {"self_registration", false},
                  {"has_ca_root", false},
                  {"harbor_version",
                   std::string("v2.0.0-regevent-") + REGEVENT_VERSION},
                  {"read_only", false},
                  {"notification_enable", true},
                  {"banner_message", ""}});
}

/// `/api/v2.0/health`: Harbor's OverallHealthStatus. `core` answers (this
/// daemon), `database` is the readiness /readyz reports. Anonymous, as
/// Harbor's is.
http_response overall_health(const runtime& rt) {
  const auto why = rt.status->not_ready_reason();
  json database = {{"name", "database"},
                   {"status", why.empty() ? "healthy" : "unhealthy"}};
  if (!why.empty())
    database["error"] = why;
  json components = json::array();
  components.push_back({{"name", "core"}, {"status", "healthy"}});
  components.push_back(std::move(database));
  json out = json::object();
  out["status"] = why.empty() ? "healthy" : "unhealthy";
  out["components"] = std::move(components);
  return ok_json(out);
}

/// Reads `q` and `sort` for a list with `keys` into `list`; false after
/// answering 400.
template<size_t N>
bool read_list(const api_call& call, const list_key (&keys)[N],
               list_query& list) {
  auto text = [&call](const char* key) {
    auto it = call.query.find(key);
    return it == call.query.end() ? std::string{} : it->second;
  };
  if (auto error = parse_list_query(text("q"), text("sort"), keys, list)) {
    call.bad_request(*error);
    return false;
  }
  return true;
}

/// A boolean query parameter as go-swagger reads one: `true`/`1` or
/// `false`/`0`; `fallback` when absent. nullopt for anything else.
std::optional<bool> flag_param(const api_call& call, const char* key,
                               bool fallback) {
  auto it = call.query.find(key);
  if (it == call.query.end())
    return fallback;
  if (it->second == "true" || it->second == "1")
    return true;
  if (it->second == "false" || it->second == "0")
    return false;
  return std::nullopt;
}

/// Harbor's ProjectMetadata keys. The booleans are "true"/"false"
/// strings, as Harbor stores them.
struct metadata_key {
  const char* name;
  enum { boolean, integer, severity, text } kind;
};
constexpr metadata_key project_metadata_keys[] = {
    {"public", metadata_key::boolean},
    {"enable_content_trust", metadata_key::boolean},
    {"enable_content_trust_cosign", metadata_key::boolean},
    {"prevent_vul", metadata_key::boolean},
    {"severity", metadata_key::severity},
    {"auto_scan", metadata_key::boolean},
    {"auto_sbom_generation", metadata_key::boolean},
    {"reuse_sys_cve_allowlist", metadata_key::boolean},
    {"retention_id", metadata_key::integer},
    {"proxy_speed_kb", metadata_key::integer},
    {"max_upstream_conn", metadata_key::integer},
    {"proxy_cache_local_on_not_found", metadata_key::boolean},
    {"proxy_referrer_api", metadata_key::boolean},
    {"proxy_cache_filter_pattern", metadata_key::text},
    {"proxy_cache_filter_kind", metadata_key::text},
};

/// A ProjectReq's `metadata` (and its old top-level `public`) as a spec:
/// every key of Harbor's schema kept as a string, `public` and `auto_scan`
/// acted on; an unknown key or a value of the wrong kind is an error, not
/// dropped.
std::optional<std::string> read_project_metadata(const json& body,
                                                 project_spec& spec) {
  json meta = json::object();
  if (body.contains("metadata")) {
    if (!body["metadata"].is_object())
      return "metadata must be an object";
    meta = body["metadata"];
  }
  // ProjectReq's deprecated `public`, which Harbor still honours.
  if (body.contains("public") && !meta.contains("public")) {
    if (!body["public"].is_boolean())
      return "public must be true or false";
    meta["public"] = body["public"].get<bool>() ? "true" : "false";
  }
  json extra = json::object();
  for (const auto& [key, value] : meta.items()) {
    const metadata_key* known = nullptr;
    for (const auto& k : project_metadata_keys)
      if (key == k.name)
        known = &k;
    if (!known)
      return "metadata." + key + " is not a key of Harbor's ProjectMetadata";
    std::string text;
    if (value.is_string())
      text = value.get<std::string>();
    else if (value.is_boolean() && known->kind == metadata_key::boolean)
      text = value.get<bool>() ? "true" : "false";
    else if (value.is_number_integer() && known->kind == metadata_key::integer)
      text = std::to_string(value.get<long long>());
    else
      return "metadata." + key + " must be a string";
    bool ok = true;
    switch (known->kind) {
      case metadata_key::boolean:
        ok = text == "true" || text == "false";
        break;
      case metadata_key::integer:
        ok = !text.empty() && text.size() <= 18
             && text.find_first_not_of("-0123456789") == std::string::npos;
        break;
      case metadata_key::severity:
        ok = text == "none" || text == "low" || text == "medium"
             || text == "high" || text == "critical";
        break;
      case metadata_key::text:
        ok = text.size() <= defaults::api::max_project_name;
        break;
    }
    if (!ok)
      return "metadata." + key + ": '" + text + "' is not a valid value";
    if (key == "public")
      spec.is_public = text == "true";
    else if (key == "auto_scan")
      spec.auto_scan = text == "true";
    else
      extra[key] = text;
  }
  spec.metadata = extra.dump();
  return std::nullopt;
}

/// POST `/api/v2.0/projects`: Harbor's ProjectReq.
void create_project_route(actor_runtime& actors, const incoming_request& req,
                          const api_call& call) {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()
      || !body.contains("project_name") || !body["project_name"].is_string())
    return call.bad_request("body must be {\"project_name\": \"...\"}");
  project_spec spec;
  spec.name = body["project_name"].get<std::string>();
  if (!valid_project_name(spec.name))
    return call.bad_request("project_name must be 1-255 of [a-z0-9._-]");
  if (auto error = read_project_metadata(body, spec))
    return call.bad_request(*error);
  // Harbor answers a creation with 201, no body and the new location.
  actors.create_project(
      call.by, std::move(spec),
      call.answer<project_row>([](const project_row& created) {
        http_response r;
        r.status = 201;
        r.headers.emplace_back("Location", "/api/v2.0/projects/"
                                               + percent_encode(created.name));
        return r;
      }));
}

/// GET `/api/v2.0/projects` with Harbor's `q`, `sort`, `name` (fuzzy),
/// `public` and `owner`.
void list_projects_route(actor_runtime& actors, const api_call& call) {
  project_query pq;
  pq.page = call.page;
  if (!read_list(call, project_keys, pq.list))
    return;
  const auto& q = call.query;
  using m = query_term::match;
  if (auto it = q.find("name"); it != q.end() && !it->second.empty())
    pq.list.terms.push_back({"name", m::fuzzy, {it->second}});
  if (auto it = q.find("owner"); it != q.end() && !it->second.empty())
    pq.list.terms.push_back({"owner", m::exact, {it->second}});
  if (q.count("public")) {
    auto pub = flag_param(call, "public", false);
    if (!pub)
      return call.bad_request("public in query must be of type boolean");
    pq.list.terms.push_back({"public", m::exact, {*pub ? "1" : "0"}});
  }
  if (!flag_param(call, "with_detail", true))
    return call.bad_request("with_detail in query must be of type boolean");
  actors.list_projects(std::move(pq), call.render<project_page>());
}

/// One project by name, or by id when the segment is all digits (Harbor's
/// project_name_or_id, with `X-Is-Resource-Name: true` forcing a name).
void get_project_route(actor_runtime& actors, const incoming_request& req,
                       const std::string& name_or_id, const api_call& call) {
  long long id = 0;
  // Harbor's project_id is an int32: longer digits can only be a name.
  if (req.is_resource_name != "true"
      && parse_positive(name_or_id, std::numeric_limits<int32_t>::max(),
                        id)) {
    project_query pq;
    pq.page.size = 1;
    pq.list.terms.push_back(
        {"project_id", query_term::match::exact, {std::to_string(id)}});
    return actors.list_projects(
        std::move(pq),
        call.answer<project_page>([call, name_or_id](const project_page& p) {
          if (p.items.empty())
            return error_response(404, "NOT_FOUND",
                                  "project " + name_or_id + " not found");
          return ok_json(call.row_json(p.items.front()));
        }));
  }
  actors.get_project(name_or_id, call.render<project_row>());
}

/// `/api/v2.0/projects/{p}/repositories/{r}/artifacts/{reference}[/tags[/{t}]]`.
void artifact_routes(actor_runtime& actors, const incoming_request& req,
                     const std::vector<std::string>& parts,
                     const std::string& repository, const api_call& call) {
  const auto n = parts.size();
  const auto& reference = parts[7];
  if (n == 8) {
    if (req.method == "DELETE")
      return actors.delete_artifact(
          call.by, {repository, reference, false},
          call.answer<std::string>([](const std::string&) {
            return http_response{};
          }));
    if (req.method != "GET")
      return call.not_allowed("GET, DELETE");
    auto overview = flag_param(call, "with_scan_overview", false);
    if (!overview)
      return call.bad_request(
          "with_scan_overview in query must be of type boolean");
    return actors.get_artifact({repository, reference, *overview},
                               call.render<artifact_row>());
  }
  if (n == 9) {
    if (req.method != "GET")
      return call.not_allowed("GET");
    tag_query tq{repository, reference, call.page, {}};
    if (!read_list(call, tag_keys, tq.list))
      return;
    return actors.list_tags(std::move(tq), call.render<tag_page>());
  }
  if (req.method != "DELETE")
    return call.not_allowed("DELETE");
  actors.delete_tag(call.by, {repository, reference, parts[9]},
                    call.answer<bool>([](bool) { return http_response{}; }));
}

/// `/api/v2.0/projects/{p}/repositories[/{r}[/artifacts]]` and
/// `/api/v2.0/repositories`: the catalog, read as Harbor's.
void repository_routes(actor_runtime& actors, const incoming_request& req,
                       const std::vector<std::string>& parts,
                       const api_call& call) {
  const auto n = parts.size();
  const bool get = req.method == "GET";
  if (parts[2] == "repositories" || n == 5) {
    if (!get)
      return call.not_allowed("GET");
    repository_query rq;
    rq.project = parts[2] == "repositories" ? std::string{} : parts[3];
    rq.page = call.page;
    if (!read_list(call, repository_keys, rq.list))
      return;
    return actors.list_repositories(std::move(rq),
                                    call.render<repository_page>());
  }
  auto full = parts[3] + "/" + parts[5];
  if (n == 6) {
    if (req.method == "PUT") {
      auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()
          || (body.contains("description")
              && !body["description"].is_string()))
        return call.bad_request("body must be {\"description\": \"...\"}");
      const auto description = body.value("description", std::string{});
      if (description.size() > max_description)
        return call.bad_request(
            "description must be at most "
            + std::to_string(max_description) + " bytes");
      return actors.update_repository(
          call.by, {full, description},
          call.answer<repository_row>(
              [](const repository_row&) { return http_response{}; }));
    }
    if (!get)
      return call.not_allowed("GET, PUT");
    return actors.get_repository(full, call.render<repository_row>());
  }
  if (n == 7 && parts[6] == "artifacts") {
    if (!get)
      return call.not_allowed("GET");
    artifact_query aq;
    aq.repository = full;
    aq.page = call.page;
    auto overview = flag_param(call, "with_scan_overview", false);
    auto tags = flag_param(call, "with_tag", true);
    if (!overview || !tags || !flag_param(call, "with_label", false)
        || !flag_param(call, "with_immutable_status", false))
      return call.bad_request(
          "with_tag, with_label, with_scan_overview and "
          "with_immutable_status must be of type boolean");
    aq.with_scan_overview = *overview;
    if (!read_list(call, artifact_keys, aq.list))
      return;
    auto with_view = call;
    with_view.view.with_tag = *tags;
    return actors.list_artifacts(std::move(aq),
                                 with_view.render<artifact_page>());
  }
  if (n >= 8 && n <= 10 && parts[6] == "artifacts"
      && (n == 8 || parts[8] == "tags"))
    return artifact_routes(actors, req, parts, full, call);
  if (n >= 9 && parts[6] == "artifacts")
    return artifact_scan_routes(actors, req, parts, call);
  call.reply_to->reply(
      error_response(404, "NOT_FOUND", "no route " + call.path));
}

/// GET `/api/v2.0/audit-logs` and `/api/v2.0/projects/{p}/logs`.
void audit_route(actor_runtime& actors, const incoming_request& req,
                 const std::string& project, api_call call) {
  if (req.method != "GET")
    return call.not_allowed("GET");
  audit_query a;
  a.page = call.page;
  a.filter.project = project;
  if (!read_list(call, audit_keys, a.list))
    return;
  // regevent's older plain `op_time=[from~to]`, read as Harbor's q term.
  if (auto it = call.query.find("op_time"); it != call.query.end()) {
    list_query plain;
    if (auto error = parse_list_query("op_time=" + it->second, "",
                                      audit_keys, plain))
      return call.bad_request(*error);
    if (plain.terms.empty() || plain.terms[0].kind != query_term::match::range)
      return call.bad_request("op_time must be [from~to]");
    a.list.terms.push_back(std::move(plain.terms[0]));
  }
  if (auto bad = read_audit_filter(call.query, a.filter, a.list))
    return call.reply_to->reply(std::move(*bad));
  auto with_event = flag_param(call, "with_event_id", false);
  if (!with_event)
    return call.bad_request("with_event_id in query must be of type boolean");
  call.with_event_id = *with_event;
  actors.list_audit_logs(std::move(a), call.render<audit_page>());
}

} // namespace

void handle_api(const runtime& rt, actor_runtime& actors,
                const api_services& services, incoming_request&& req,
                const responder& reply_to) {
  const auto& guard = services.guard;
  const auto& auth = rt.cfg->auth;
  {
    const auto path = req.target.substr(0, req.target.find('?'));
    const bool read = req.method == "GET" || req.method == "HEAD";
    if (path == "/api/v2.0/systeminfo" && read)
      return reply_to->reply(system_info(rt));
    if (path == "/api/v2.0/health" && read)
      return reply_to->reply(overall_health(rt));
  }
  const bool off = auth.admin_token.empty() && auth.tokens.empty();
  if (req.authorization.empty() || off) {
    auto r = error_response(
        401, "UNAUTHORIZED",
        off ? "the management API is off: set auth.admin_token (or "
              "REGEVENT_ADMIN_TOKEN) or auth.api_tokens"
            : "a bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"regevent\"");
    return reply_to->reply(std::move(r));
  }
  // A client past its failed authentications is refused before its token
  // is looked at, so that guessing on cannot tell a hit.
  const auto client = address_of(req.remote);
  const auto now = auth_limiter::clock_type::now();
  if (services.limiter)
    if (auto wait = services.limiter->retry_after(client, now); wait > 0)
      return reply_to->reply(too_many_failures(client, wait));
  auto caller = api_caller_of(req.authorization, auth);
  if (!caller) {
    if (services.limiter)
      services.limiter->failed(client, now);
    return reply_to->reply(
        error_response(403, "FORBIDDEN", "the bearer token is not valid"));
  }
  if (!caller->admin && req.method != "GET" && req.method != "HEAD")
    return reply_to->reply(error_response(
        403, "FORBIDDEN",
        "the token '" + caller->name
            + "' has the read role: GET and HEAD only"));
  auto parts = split_path(req.target);
  api_call call{reply_to,
                req.target.substr(0, req.target.find('?')),
                parse_query(req.target),
                page_request{},
                rt.cfg->ingest.retry_after_s,
                api_user{caller->name},
                caller->admin,
                artifact_view{},
                false};
  call.page.size = static_cast<long long>(defaults::api::page_size);
  const auto& path = call.path;
  const auto& q = call.query;
  if (auto bad = read_page(q, call.page))
    return reply_to->reply(std::move(*bad));
  // A nested repository name is encoded twice in its segment, as Harbor's
  // swagger asks (`a%252Fb`); once-encoded (`a%2Fb`) decodes the same.
  if (parts.size() >= 6 && parts[2] == "projects" && parts[4] == "repositories")
    parts[5] = percent_decode(parts[5]);
  // parts: api, v2.0, ...
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v2.0")
    return reply_to->reply(
        error_response(404, "NOT_FOUND", "no route " + path));
  const bool get = req.method == "GET";
  const auto n = parts.size();
  auto not_allowed = [&](const char* allow) {
    auto r = error_response(405, "METHOD_NOT_ALLOWED",
                            std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    reply_to->reply(std::move(r));
  };
  if (parts[2] == "projects") {
    if (n == 3) {
      if (get)
        return list_projects_route(actors, call);
      if (req.method == "HEAD") {
        // Harbor's check of a name: 200 when taken, 404 when free.
        auto it = q.find("project_name");
        if (it == q.end() || it->second.empty())
          return reply_to->reply(error_response(
              422, "UNPROCESSABLE_ENTITY",
              "project_name in query is required"));
        return actors.get_project(
            it->second,
            call.answer<project_row>([](const project_row&) {
              return http_response{};
            }));
      }
      if (req.method != "POST")
        return not_allowed("GET, HEAD, POST");
      return create_project_route(actors, req, call);
    }
    if (n >= 5 && parts[4] == "webhook")
      return webhook_routes(rt, actors, guard, req, parts, call);
    if (n == 5 && parts[4] == "scanner")
      return project_scanner_route(actors, req, parts[3], call);
    if (n >= 5 && parts[4] == "repositories")
      return repository_routes(actors, req, parts, call);
    if (n == 5 && parts[4] == "logs")
      return audit_route(actors, req, parts[3], call);
    if (n == 4) {
      if (!get)
        return not_allowed("GET");
      return get_project_route(actors, req, parts[3], call);
    }
  } else if (parts[2] == "repositories" && n == 3) {
    return repository_routes(actors, req, parts, call);
  } else if (parts[2] == "scanners" && n <= 5) {
    return scanner_routes(rt, actors, services, req, parts, call);
  } else if (parts[2] == "registries" && n <= 4) {
    return replication_routes(rt, actors, services, req, parts, 3, call);
  } else if (parts[2] == "replication" && n >= 4 && n <= 5
             && parts[3] == "policies") {
    return replication_routes(rt, actors, services, req, parts, 4, call);
  } else if (parts[2] == "replication" && n >= 4 && n <= 6
             && parts[3] == "executions") {
    return replication_execution_routes(actors, req, parts, call);
  } else if (parts[2] == "system" && n >= 4 && n <= 5
             && parts[3] == "reconcile") {
    return reconcile_routes(rt, actors, req, parts, call);
  } else if (parts[2] == "audit-logs" && n == 3) {
    return audit_route(actors, req, {}, call);
  } else if (parts[2] == "dead-letters") {
    if (n == 3) {
      if (!get)
        return not_allowed("GET");
      return actors.list_dead_letters(call.page,
                                      call.render<dead_letter_page>());
    }
    if (n == 5 && parts[4] == "replay") {
      if (req.method != "POST")
        return not_allowed("POST");
      long long id = 0;
      if (!parse_positive(parts[3], defaults::api::max_dead_letter_id, id))
        return reply_to->reply(error_response(
            400, "BAD_REQUEST", "dead letter id must be a number"));
      // Accepted: the event is pending again and runs on its own.
      return actors.replay_dead_letter(
          id, call.answer<replay_result>([](const replay_result& x) {
            return ok_json({{"id", x.id},
                            {"event_id", x.event_id},
                            {"requeued", x.requeued}},
                           202);
          }));
    }
  }
  reply_to->reply(error_response(404, "NOT_FOUND", "no route " + path));
}

} // namespace regevent
