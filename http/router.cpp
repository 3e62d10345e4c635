#include "http/router.hpp"

#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"
#include "actors/system.hpp"
#include "http/address_guard.hpp"
#include "http/answers.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/envelope.hpp"

#include <spdlog/spdlog.h>

namespace regevent {

namespace {

/// Counts and logs the answer, then hands it to the connection.
class observed_responder : public reply_sink {
public:
  observed_responder(responder next, std::shared_ptr<metrics> stats,
                     const char* route, std::string method, std::string target,
                     std::string request_id, std::string remote)
      : next_(std::move(next)),
        stats_(std::move(stats)),
        route_(route),
        method_(std::move(method)),
        target_(std::move(target)),
        request_id_(std::move(request_id)),
        remote_(std::move(remote)),
        started_(std::chrono::steady_clock::now()) {}

  void reply(http_response r) override {
    stats_->count_request(route_, r.status);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
    auto level = r.status >= 500   ? spdlog::level::warn
                 : r.status >= 400 ? spdlog::level::info
                                   : spdlog::level::debug;
    spdlog::log(level, "http {} {} {} from {} answered {} in {} us (id {})",
                route_, method_, target_, remote_, r.status, micros,
                request_id_);
    next_->reply(std::move(r));
  }

private:
  responder next_;
  std::shared_ptr<metrics> stats_;
  const char* route_;
  std::string method_;
  std::string target_;
  std::string request_id_;
  std::string remote_;
  std::chrono::steady_clock::time_point started_;
};

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http_response method_not_allowed(const char* allow) {
  auto r
      = error_response(405, "METHOD_NOT_ALLOWED", std::string("use ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

void notifications(const runtime& rt, actor_runtime& actors,
                   auth_limiter& limiter, incoming_request& req,
                   const responder& reply_to) {
  if (req.method != "POST")
    return reply_to->reply(method_not_allowed("POST"));
  // With client certificates configured the sender proves itself in the
  // handshake, which a guessed token cannot replace. A certificate that
  // does not verify never gets here: its handshake fails.
  if (!rt.cfg->tls.client_ca_file.empty() && !req.client_certificate)
    return reply_to->reply(error_response(
        403, "FORBIDDEN",
        "notifications need a client certificate signed by a CA of "
        "tls.client_ca_file"));
  const auto& token = rt.cfg->auth.notify_token;
  const auto client = address_of(req.remote);
  const auto now = auth_limiter::clock_type::now();
  // An address past its failures is refused before its token is looked
  // at, so that guessing on cannot tell a hit; one that has sent the
  // right token before (a registry) is always heard, so that someone
  // guessing from its address never slows it.
  if (!token.empty() && !limiter.known_good(client))
    if (auto wait = limiter.retry_after(client, now); wait > 0)
      return reply_to->reply(too_many_failures(client, wait));
  if (!token.empty() && !bearer_matches(req.authorization, token)) {
    limiter.failed(client, now);
    auto r = error_response(401, "UNAUTHORIZED",
                            "a valid bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"regevent\"");
    return reply_to->reply(std::move(r));
  }
  if (!token.empty())
    limiter.succeeded(client);
  if (!is_notification_content_type(req.content_type))
    return reply_to->reply(error_response(
        415, "UNSUPPORTED_MEDIA_TYPE",
        "content type '" + req.content_type
            + "' is not application/vnd.docker.distribution.events.v1+json, "
              "...events.v2+json or application/json"));
  std::string error;
  auto parsed = parse_envelope(req.body, now_us(), error);
  if (!parsed)
    return reply_to->reply(error_response(400, "BAD_REQUEST", error));
  actors.ingest(
      std::move(parsed->events), parsed->ignored,
      [reply_to, retry_after = rt.cfg->ingest.retry_after_s](
          caf::expected<ingest_result> x) {
        if (!x)
          return reply_to->reply(answer_error(x.error(), retry_after));
        reply_to->reply(json_response(
            200, "{\"accepted\":" + std::to_string(x->accepted)
                     + ",\"duplicates\":" + std::to_string(x->duplicates)
                     + ",\"ignored\":" + std::to_string(x->ignored) + "}"));
      });
}

} // namespace

router::router(const runtime& rt, actor_runtime& actors,
               std::shared_ptr<outbound_client> outbound)
    : rt_(rt),
      actors_(actors),
      guard_(std::make_shared<const address_guard>(
          rt.cfg->webhooks.allow_networks)),
      outbound_(std::move(outbound)),
      limiter_(std::make_shared<auth_limiter>(
          rt.cfg->auth.max_failures,
          std::chrono::seconds(rt.cfg->auth.failure_window_s))) {}

void router::operator()(incoming_request&& req, responder reply_to) const {
  auto path = path_of(req.target);
  const char* route = "other";
  if (path == "/service/notifications")
    route = "notifications";
  else if (path == "/healthz")
    route = "healthz";
  else if (path == "/readyz")
    route = "readyz";
  else if (path == "/metrics")
    route = "metrics";
  else if (path.rfind("/api/", 0) == 0)
    route = "api";
  auto observed = std::make_shared<observed_responder>(
      std::move(reply_to), rt_.stats, route, req.method, req.target,
      req.request_id, req.remote);
  std::string_view r = route;
  if (r == "notifications")
    return notifications(rt_, actors_, *limiter_, req, observed);
  if (r == "api")
    return handle_api(rt_, actors_, {*guard_, outbound_, limiter_.get()},
                      std::move(req), observed);
  bool read = req.method == "GET" || req.method == "HEAD";
  if (r == "healthz")
    return observed->reply(read ? json_response(200, "{\"status\":\"ok\"}")
                                : method_not_allowed("GET"));
  if (r == "readyz") {
    if (!read)
      return observed->reply(method_not_allowed("GET"));
    auto why = rt_.status->not_ready_reason();
    if (why.empty())
      return observed->reply(json_response(200, "{\"status\":\"ready\"}"));
    return observed->reply(error_response(503, "NOT_READY", why));
  }
  if (r == "metrics") {
    if (!read)
      return observed->reply(method_not_allowed("GET"));
    rt_.stats->ready.Set(rt_.status->not_ready_reason().empty() ? 1 : 0);
    http_response m;
    m.content_type = "text/plain; version=0.0.4; charset=utf-8";
    m.body = rt_.stats->render();
    return observed->reply(std::move(m));
  }
  observed->reply(error_response(404, "NOT_FOUND", "no route for " + path));
}

} // namespace regevent
