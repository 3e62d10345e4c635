#include "http/registry_client.hpp"

#include "config/percent.hpp"
#include "persistence/base64.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <uriparser/Uri.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <memory>
#include <thread>

namespace regevent {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr const char* octet_stream = "application/octet-stream";

std::string hex(const unsigned char* bytes, unsigned int n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

/// A digest computed piece by piece with the algorithm a digest string
/// names (`sha256:...`, `sha512:...`).
class digester {
public:
  explicit digester(const std::string& algorithm)
      : algorithm_(algorithm), ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    const EVP_MD* md = EVP_get_digestbyname(algorithm.c_str());
    ok_ = md && ctx_ && EVP_DigestInit_ex(ctx_.get(), md, nullptr) == 1;
  }
  bool ok() const {
    return ok_;
  }
  void update(std::string_view bytes) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
  }
  /// `algorithm:hex`, or empty when OpenSSL failed.
  std::string finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &n) != 1)
      return {};
    return algorithm_ + ":" + hex(md, n);
  }

private:
  std::string algorithm_;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  bool ok_ = false;
};

/// Characters of a repository name, tag or digest that keep a URL path
/// unambiguous: Distribution's grammar allows no others.
bool valid_path_part(const std::string& s) {
  if (s.empty() || s.find("..") != std::string::npos)
    return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/'
           || c == ':' || c == '+' || c == '=';
  });
}

std::string accept_manifests() {
  return std::string(media_type::oci_index) + ", " + media_type::oci_manifest
         + ", " + media_type::docker_manifest_list + ", "
         + media_type::docker_manifest;
}

/// The `scope` of a repository operation, as Distribution names it in its
/// challenges.
std::string repository_scope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":pull,push" : ":pull");
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

/// `scheme://host[:port]` of an absolute URL, for messages: a URL's path
/// and query may carry a signature or a token.
std::string origin_of(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return "?";
  auto path = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, path);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

/// A non-negative decimal header value.
std::optional<uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 19)
    return std::nullopt;
  uint64_t n = 0;
  for (char c : *text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

} // namespace

const char* to_string(blob_copy_method m) {
  switch (m) {
    case blob_copy_method::existed:
      return "existed";
    case blob_copy_method::mounted:
      return "mounted";
    case blob_copy_method::monolithic:
      return "monolithic";
    case blob_copy_method::chunked:
      return "chunked";
  }
  return "unknown";
}

std::string sha256_of(std::string_view bytes) {
  digester d("sha256");
  d.update(bytes);
  return d.finish();
}

std::string registry_error::text() const {
  std::string out = step + ": ";
  if (status == 0)
    return out + to_string(transport) + ": " + message;
  out += std::to_string(status);
  if (!code.empty())
    out += " " + code;
  if (!message.empty())
    out += ": " + message;
  return out;
}

/// One request as the client builds it, before authorization.
struct registry_client::call {
  std::string method = "GET";
  /// Absolute.
  std::string url;
  outbound_headers headers;
  std::string body;
  /// What the request needs a token for; the cache's key.
  std::string scope;
  /// For errors: "GET manifest library/hello:1".
  std::string step;
  size_t body_limit = defaults::outbound::body_limit;
  std::chrono::milliseconds timeout{0};
  /// False for a redirect to another origin (a storage back end's signed
  /// URL), which must never see the registry's credentials or tokens.
  bool authorize = true;
  /// The scheme of the Authorization it carries ("basic", "bearer"), empty
  /// for none.
  std::string sent_scheme;

  void drop_authorization() {
    headers.erase(std::remove_if(
                      headers.begin(), headers.end(),
                      [](const auto& h) { return h.first == "Authorization"; }),
                  headers.end());
    sent_scheme.clear();
  }
};

namespace {

/// Paths are appended to the URL: `https://r.example/` becomes
/// `https://r.example`.
registry_endpoint without_trailing_slash(registry_endpoint e) {
  while (!e.url.empty() && e.url.back() == '/')
    e.url.pop_back();
  return e;
}

} // namespace

registry_client::registry_client(outbound_client& client,
                                 registry_endpoint endpoint,
                                 registry_client_config cfg)
    : client_(client),
      endpoint_(without_trailing_slash(std::move(endpoint))),
      cfg_(std::move(cfg)) {}

registry_error registry_client::failure(const std::string& step,
                                        const outbound_result& r) const {
  registry_error e;
  e.step = step;
  e.transport = r.error;
  if (!r.ok()) {
    e.message = r.error_text;
    return e;
  }
  e.status = r.status;
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("errors") && body["errors"].is_array()
      && !body["errors"].empty()) {
    const auto& first = body["errors"][0];
    if (first.contains("code") && first["code"].is_string())
      e.code = first["code"].get<std::string>();
    if (first.contains("message") && first["message"].is_string())
      e.message = first["message"].get<std::string>();
  }
  if (e.message.empty() && r.status == 401)
    e.message = endpoint_.username.empty()
                    ? "authentication required and no credentials configured"
                    : "the credentials were refused";
  return e;
}

std::string registry_client::absolute(const std::string& location) const {
  UriUriA base;
  UriUriA relative;
  UriUriA resolved;
  const char* error = nullptr;
  auto base_text = endpoint_.url + "/";
  std::string out;
  if (uriParseSingleUriA(&base, base_text.c_str(), &error) != URI_SUCCESS)
    return location;
  if (uriParseSingleUriA(&relative, location.c_str(), &error) == URI_SUCCESS) {
    if (uriAddBaseUriA(&resolved, &relative, &base) == URI_SUCCESS) {
      int chars = 0;
      if (uriToStringCharsRequiredA(&resolved, &chars) == URI_SUCCESS) {
        out.resize(static_cast<size_t>(chars) + 1);
        if (uriToStringA(out.data(), &resolved, chars + 1, nullptr)
            == URI_SUCCESS)
          out.resize(static_cast<size_t>(chars));
        else
          out.clear();
      }
      uriFreeUriMembersA(&resolved);
    }
    uriFreeUriMembersA(&relative);
  }
  uriFreeUriMembersA(&base);
  return out.empty() ? location : out;
}

registry_result<std::string>
registry_client::fetch_token(const auth_challenge& challenge,
                             const std::string& scope, bool fresh,
                             const std::string& step) {
  auto realm = challenge.param("realm");
  registry_error e;
  e.step = step + " (token from " + origin_of(realm) + ")";
  if (realm.rfind("http://", 0) != 0 && realm.rfind("https://", 0) != 0) {
    e.message = "the registry's Bearer challenge names no http(s) realm";
    return e;
  }
  std::string query;
  if (auto service = challenge.param("service"); !service.empty())
    query = "service=" + percent_encode(service);
  // A fresh challenge's scope is the registry's word on what this request
  // needs; a remembered one named another request's. Several scopes are
  // separated by spaces and sent as several `scope` parameters.
  auto wanted = fresh ? challenge.param("scope") : std::string();
  if (wanted.empty())
    wanted = scope;
  size_t at = 0;
  while (at < wanted.size()) {
    auto end = wanted.find(' ', at);
    if (end == std::string::npos)
      end = wanted.size();
    if (end > at)
      query += (query.empty() ? "" : "&") + std::string("scope=")
               + percent_encode(wanted.substr(at, end - at));
    at = end + 1;
  }
  outbound_request req;
  req.url = query.empty() ? realm : with_query(realm, query);
  req.headers.emplace_back("User-Agent", cfg_.user_agent);
  if (!endpoint_.username.empty())
    req.headers.emplace_back(
        "Authorization",
        "Basic " + to_base64(endpoint_.username + ":" + endpoint_.password));
  req.options.total_timeout = cfg_.request_timeout;
  req.options.tls = endpoint_.tls;
  auto r = client_.send_and_wait(std::move(req));
  if (!r.ok() || r.status != 200) {
    auto f = failure(e.step, r);
    if (r.ok() && (r.status == 401 || r.status == 403) && f.code.empty())
      f.message = endpoint_.username.empty()
                      ? "the token service wants credentials"
                      : "the token service refused the credentials";
    return f;
  }
  auto body = json::parse(r.body, nullptr, false);
  std::string token;
  for (const char* field : {"token", "access_token"})
    if (token.empty() && body.is_object() && body.contains(field)
        && body[field].is_string())
      token = body[field].get<std::string>();
  if (token.empty()) {
    e.status = r.status;
    e.message = "the token service's answer holds no token";
    return e;
  }
  auto expires_in
      = std::chrono::seconds(defaults::registry::token_default_expiry_s);
  if (body.contains("expires_in") && body["expires_in"].is_number_integer()
      && body["expires_in"].get<int64_t>() > 0)
    expires_in = std::chrono::seconds(body["expires_in"].get<int64_t>());
  tokens_.store(scope, token, expires_in);
  return token;
}

std::optional<registry_error>
registry_client::authorize(call& c, const auth_challenge& challenge, bool fresh,
                           bool refused_before) {
  c.drop_authorization();
  c.sent_scheme = challenge.scheme;
  if (challenge.scheme == "basic") {
    if (!endpoint_.username.empty())
      c.headers.emplace_back(
          "Authorization",
          "Basic " + to_base64(endpoint_.username + ":" + endpoint_.password));
    return std::nullopt;
  }
  std::optional<std::string> token;
  if (refused_before)
    tokens_.drop(c.scope);
  else
    token = tokens_.find(c.scope);
  if (!token) {
    auto fetched = fetch_token(challenge, c.scope, fresh, c.step);
    if (!fetched)
      return fetched.error();
    token = std::move(*fetched);
  }
  c.headers.emplace_back("Authorization", "Bearer " + *token);
  return std::nullopt;
}

std::optional<registry_error> registry_client::authorize_known(call& c) {
  if (!c.authorize)
    return std::nullopt;
  std::optional<auth_challenge> known;
  {
    std::lock_guard<std::mutex> lock(challenge_mtx_);
    known = challenge_;
  }
  // The scheme learned from an earlier challenge saves a 401 per request;
  // a Bearer challenge's realm and service hold for every scope.
  if (!known)
    return std::nullopt;
  return authorize(c, *known, false, false);
}

registry_result<bool>
registry_client::answer_challenge(call& c, const outbound_result& r) {
  if (!c.authorize || !r.ok() || r.status != 401)
    return false;
  std::optional<auth_challenge> challenge;
  for (const auto& [name, value] : r.headers) {
    if (!iequals(name, "www-authenticate"))
      continue;
    for (auto& ch : parse_www_authenticate(value))
      if (ch.scheme == "bearer" || (ch.scheme == "basic" && !challenge))
        challenge = std::move(ch);
  }
  // No challenge we can answer, or Basic without credentials: the 401 is
  // the answer.
  if (!challenge
      || (challenge->scheme == "basic" && endpoint_.username.empty()))
    return false;
  bool refused_before = c.sent_scheme == challenge->scheme;
  // Basic credentials sent and refused: the same ones cannot do better.
  if (refused_before && challenge->scheme == "basic")
    return false;
  {
    std::lock_guard<std::mutex> lock(challenge_mtx_);
    challenge_ = challenge;
  }
  if (auto e = authorize(c, *challenge, true, refused_before))
    return *e;
  return true;
}

outbound_request registry_client::request_of(const call& c,
                                             std::string body) const {
  outbound_request req;
  req.method = c.method;
  req.url = c.url;
  req.headers = c.headers;
  req.headers.emplace_back("User-Agent", cfg_.user_agent);
  req.body = std::move(body);
  req.options.total_timeout
      = c.timeout.count() > 0 ? c.timeout : cfg_.request_timeout;
  req.options.body_limit = c.body_limit;
  req.options.tls = endpoint_.tls;
  return req;
}

registry_result<outbound_result> registry_client::send(call c) {
  if (auto e = authorize_known(c))
    return *e;
  // A body is kept for the one retry after a challenge when keeping it is
  // cheap (a manifest); a blob's piece is sent after the upload's POST,
  // which answered any challenge for the same scope.
  std::optional<std::string> spare;
  if (c.authorize && c.body.size() <= defaults::registry::retry_body_limit)
    spare = c.body;
  auto r = client_.send_and_wait(request_of(c, std::move(c.body)));
  if (!spare)
    return r;
  auto again = answer_challenge(c, r);
  if (!again)
    return again.error();
  if (!*again)
    return r;
  return client_.send_and_wait(request_of(c, std::move(*spare)));
}

registry_client::call
registry_client::repository_call(std::string method,
                                 const std::string& repository,
                                 const std::string& path, bool push,
                                 std::string step) const {
  call c;
  c.method = std::move(method);
  c.url = endpoint_.url + "/v2/" + repository + path;
  c.scope = repository_scope(repository, push);
  c.step = std::move(step);
  return c;
}

registry_result<outbound_result>
registry_client::expect(call c, unsigned expected, unsigned also) {
  auto step = c.step;
  auto r = send(std::move(c));
  if (!r)
    return r.error();
  if (!r->ok() || (r->status != expected && (also == 0 || r->status != also)))
    return failure(step, *r);
  return r;
}

namespace {

registry_error invalid(const std::string& step, const std::string& what) {
  registry_error e;
  e.step = step;
  e.transport = outbound_error::invalid_request;
  e.message = what;
  return e;
}

/// A copy its caller stopped (as image_copy names one: the image is still
/// to copy, and the next attempt resumes from the blobs already there).
registry_error cancelled(const std::string& step) {
  registry_error e;
  e.step = step;
  e.transport = outbound_error::shutdown;
  e.message = "cancelled";
  return e;
}

} // namespace

registry_result<registry_done> registry_client::ping() {
  call c;
  c.url = endpoint_.url + "/v2/";
  c.step = "GET /v2/ of " + origin_of(endpoint_.url);
  auto r = expect(std::move(c), 200);
  if (!r)
    return r.error();
  return registry_done{};
}

registry_result<registry_manifest>
registry_client::get_manifest(const std::string& repository,
                              const std::string& reference) {
  auto step = "GET manifest " + repository + ":" + reference;
  if (!valid_path_part(repository) || !valid_path_part(reference))
    return invalid(step, "not a valid repository name or reference");
  auto c = repository_call("GET", repository, "/manifests/" + reference, false,
                           step);
  c.headers.emplace_back("Accept", accept_manifests());
  c.body_limit = cfg_.manifest_limit;
  auto r = expect(std::move(c), 200);
  if (!r)
    return r.error();
  registry_manifest m;
  m.media_type = r->header("Content-Type").value_or("");
  m.digest = r->header("Docker-Content-Digest").value_or("");
  m.bytes = std::move(r->body);
  return m;
}

registry_result<std::optional<registry_manifest_info>>
registry_client::head_manifest(const std::string& repository,
                               const std::string& reference) {
  auto step = "HEAD manifest " + repository + ":" + reference;
  if (!valid_path_part(repository) || !valid_path_part(reference))
    return invalid(step, "not a valid repository name or reference");
  auto c = repository_call("HEAD", repository, "/manifests/" + reference, false,
                           step);
  c.headers.emplace_back("Accept", accept_manifests());
  auto r = expect(std::move(c), 200, 404);
  if (!r)
    return r.error();
  if (r->status == 404)
    return std::optional<registry_manifest_info>();
  registry_manifest_info info;
  info.media_type = r->header("Content-Type").value_or("");
  info.digest = r->header("Docker-Content-Digest").value_or("");
  info.size = parse_size(r->header("Content-Length")).value_or(0);
  return std::optional<registry_manifest_info>(std::move(info));
}

registry_result<std::string>
registry_client::pull_authorization(const std::string& repository,
                                    const std::string& reference) {
  auto step = "authorize a pull of " + repository + ":" + reference;
  auto c = repository_call("HEAD", repository, "/manifests/" + reference, false,
                           step);
  // A token of its own, fresh: the adapter pulls later, perhaps for
  // minutes, and a cached one may be close to its end.
  tokens_.drop(c.scope);
  auto found = head_manifest(repository, reference);
  if (!found)
    return found.error();
  if (!*found) {
    registry_error e;
    e.step = step;
    e.status = 404;
    e.code = "MANIFEST_UNKNOWN";
    e.message = "the registry no longer has it";
    return e;
  }
  // The same request again, authorized as the HEAD was: from the cached
  // challenge and the scope's token it just fetched.
  if (auto e = authorize_known(c))
    return *e;
  for (const auto& [name, value] : c.headers)
    if (name == "Authorization")
      return value;
  return std::string();
}

registry_result<std::string>
registry_client::put_manifest(const std::string& repository,
                              const std::string& reference,
                              const std::string& bytes,
                              const std::string& media_type) {
  auto step = "PUT manifest " + repository + ":" + reference;
  if (!valid_path_part(repository) || !valid_path_part(reference))
    return invalid(step, "not a valid repository name or reference");
  auto c = repository_call("PUT", repository, "/manifests/" + reference, true,
                           step);
  c.headers.emplace_back("Content-Type", media_type);
  c.body = bytes;
  auto r = expect(std::move(c), 201);
  if (!r)
    return r.error();
  return r->header("Docker-Content-Digest").value_or(sha256_of(bytes));
}

registry_result<bool>
registry_client::delete_manifest(const std::string& repository,
                                 const std::string& digest) {
  auto step = "DELETE manifest " + repository + "@" + digest;
  // Distribution deletes by digest only; a tag here would be refused (or,
  // elsewhere, untag rather than delete).
  if (!valid_path_part(repository) || !valid_path_part(digest)
      || digest.find(':') == std::string::npos)
    return invalid(step, "not a valid repository name or digest");
  auto c = repository_call("DELETE", repository, "/manifests/" + digest, true,
                           step);
  // Distribution's token authorization asks for its own action on a
  // DELETE (a 401 naming another scope is still answered).
  c.scope = "repository:" + repository + ":delete";
  auto r = send(std::move(c));
  if (!r)
    return r.error();
  if (r->ok() && r->status == 404)
    return false;
  if (!r->ok() || (r->status != 202 && r->status != 200))
    return failure(step, *r);
  return true;
}

registry_result<std::optional<uint64_t>>
registry_client::blob_size(const std::string& repository,
                           const std::string& digest) {
  auto step = "HEAD blob " + digest + " in " + repository;
  if (!valid_path_part(repository) || !valid_path_part(digest))
    return invalid(step, "not a valid repository name or digest");
  auto c = repository_call("HEAD", repository, "/blobs/" + digest, false, step);
  auto r = expect(std::move(c), 200, 404);
  if (!r)
    return r.error();
  if (r->status == 404)
    return std::optional<uint64_t>();
  return std::optional<uint64_t>(
      parse_size(r->header("Content-Length")).value_or(0));
}

registry_result<std::string>
registry_client::start_upload(const std::string& repository,
                              const std::string& step) {
  auto c = repository_call("POST", repository, "/blobs/uploads/", true,
                           step + " (start upload)");
  auto r = expect(std::move(c), 202);
  if (!r)
    return r.error();
  auto location = r->header("Location");
  if (!location || location->empty())
    return invalid(step, "the registry opened an upload without a Location");
  return absolute(*location);
}

void registry_client::cancel_upload(const std::string& location,
                                    const std::string& repository) {
  // Best effort: the registry purges abandoned uploads itself.
  call c;
  c.method = "DELETE";
  c.url = location;
  c.scope = repository_scope(repository, true);
  c.step = "DELETE upload in " + repository;
  send(std::move(c));
}

registry_result<std::optional<std::string>>
registry_client::try_mount(const std::string& repository,
                           const std::string& digest, const std::string& from,
                           const std::string& step) {
  auto c = repository_call("POST", repository,
                           "/blobs/uploads/?mount=" + percent_encode(digest)
                               + "&from=" + percent_encode(from),
                           true, step);
  // Distribution asks for both in one challenge.
  c.scope += " " + repository_scope(from, false);
  auto r = expect(std::move(c), 201, 202);
  if (!r)
    return r.error();
  if (r->status == 201)
    return std::optional<std::string>();
  auto location = r->header("Location");
  return std::optional<std::string>(location ? absolute(*location)
                                             : std::string());
}

registry_result<bool> registry_client::mount_blob(const std::string& repository,
                                                  const std::string& digest,
                                                  const std::string& from) {
  auto step = "mount blob " + digest + " from " + from + " into " + repository;
  if (!valid_path_part(repository) || !valid_path_part(digest)
      || !valid_path_part(from))
    return invalid(step, "not a valid repository name or digest");
  auto mounted = try_mount(repository, digest, from, step);
  if (!mounted)
    return mounted.error();
  if (!*mounted)
    return true;
  if (!(*mounted)->empty())
    cancel_upload(**mounted, repository);
  return false;
}

/// A streamed GET's body on its way from the outbound client's io thread
/// (the sink appends) to the copying thread (which uploads it). The GET
/// pauses whenever a whole piece waits: with the piece being uploaded,
/// about two pieces and one read buffer are held whatever the blob's size.
registry_result<std::string>
registry_client::get_blob(const std::string& repository,
                          const std::string& digest, size_t limit) {
  auto step = "GET blob " + digest + " in " + repository;
  if (!valid_path_part(repository) || !valid_path_part(digest))
    return invalid(step, "not a valid repository name or digest");
  auto c = repository_call("GET", repository, "/blobs/" + digest, false, step);
  c.body_limit = limit;
  for (int redirects = 0;;) {
    auto r = send(c);
    if (!r)
      return r.error();
    if (r->ok() && r->status == 200) {
      if (digest.rfind("sha256:", 0) == 0 && sha256_of(r->body) != digest)
        return invalid(step, "the blob does not match its digest");
      return std::move(r->body);
    }
    bool redirect = r->ok()
                    && (r->status == 301 || r->status == 302
                        || r->status == 303 || r->status == 307
                        || r->status == 308);
    auto location = r->header("Location");
    if (!redirect || !location
        || redirects++ >= defaults::registry::max_redirects)
      return failure(step, *r);
    auto next = absolute(*location);
    // A storage back end's signed URL carries its own authorization; the
    // registry's token or password must not leave the registry.
    if (!iequals(origin_of(next), origin_of(endpoint_.url))) {
      c.authorize = false;
      c.drop_authorization();
    }
    c.url = std::move(next);
  }
}

class registry_client::blob_stream {
public:
  explicit blob_stream(size_t piece_size) : piece_size_(piece_size) {}
  /// The callbacks use this object: a GET still running is stopped and
  /// its end awaited.
  ~blob_stream() {
    std::unique_lock<std::mutex> lock(mtx_);
    stopping_ = true;
    if (auto resume = std::move(paused_)) {
      paused_ = nullptr;
      lock.unlock();
      resume(false);
      lock.lock();
    }
    cv_.wait(lock, [this] { return !running_ || ended_; });
  }
  blob_stream(const blob_stream&) = delete;
  blob_stream& operator=(const blob_stream&) = delete;

  /// Sends `req` with this stream as its body's sink.
  void send(outbound_client& client, outbound_request req) {
    {
      std::lock_guard<std::mutex> lock(mtx_);
      buffer_.clear();
      ended_.reset();
      received_ = false;
      running_ = true;
    }
    req.body_sink
        = [this](std::string_view bytes, std::function<void(bool)> resume) {
            std::unique_lock<std::mutex> lock(mtx_);
            if (stopping_) {
              lock.unlock();
              return resume(false);
            }
            // Room for a piece and one read past it: never a doubling.
            if (buffer_.capacity() < piece_size_)
              buffer_.reserve(piece_size_ + bytes.size());
            buffer_.append(bytes.data(), bytes.size());
            received_ = true;
            if (buffer_.size() < piece_size_) {
              lock.unlock();
              return resume(true);
            }
            paused_ = std::move(resume);
            cv_.notify_all();
          };
    client.send(std::move(req), [this](outbound_result r) {
      std::lock_guard<std::mutex> lock(mtx_);
      ended_ = std::move(r);
      cv_.notify_all();
    });
  }

  /// Waits until the body flows (true) or the answer ended without one
  /// (false: see `result()`).
  bool wait_started() {
    std::unique_lock<std::mutex> lock(mtx_);
    cv_.wait(lock, [this] { return received_ || ended_; });
    return received_;
  }

  /// The answer of a GET that ended.
  const outbound_result& result() const {
    return *ended_;
  }

  /// A paused GET's go-ahead: called with true, it reads on; dropped
  /// uncalled (the copy gave up with this piece in hand), it stops the GET,
  /// so that the stream's end is never waited for in vain.
  class resumer {
  public:
    resumer() = default;
    explicit resumer(std::function<void(bool)> f) : f_(std::move(f)) {}
    resumer(resumer&& other) noexcept : f_(std::exchange(other.f_, nullptr)) {}
    resumer& operator=(resumer&& other) noexcept {
      finish(false);
      f_ = std::exchange(other.f_, nullptr);
      return *this;
    }
    resumer(const resumer&) = delete;
    resumer& operator=(const resumer&) = delete;
    ~resumer() {
      finish(false);
    }
    explicit operator bool() const {
      return static_cast<bool>(f_);
    }
    void operator()(bool more) {
      finish(more);
    }

  private:
    void finish(bool more) {
      if (auto f = std::exchange(f_, nullptr))
        f(more);
    }
    std::function<void(bool)> f_;
  };

  struct piece {
    /// At most a piece's size.
    std::string bytes;
    /// Set when the GET may read on once these bytes are used.
    resumer resume;
    /// Set when these are the body's last bytes.
    std::optional<outbound_result> ended;
  };

  /// Waits for a whole piece or the end of the answer. A read may leave
  /// more than a piece: the GET stays paused until less is left.
  piece next() {
    std::unique_lock<std::mutex> lock(mtx_);
    cv_.wait(lock, [this] { return paused_ || ended_; });
    piece p;
    p.bytes = std::move(buffer_);
    buffer_.clear();
    if (p.bytes.size() > piece_size_) {
      // The tail (less than one read) stays for the next piece.
      buffer_ = p.bytes.substr(piece_size_);
      p.bytes.resize(piece_size_);
    }
    if (paused_ && buffer_.size() < piece_size_) {
      p.resume = resumer(std::move(paused_));
      paused_ = nullptr;
    }
    if (ended_ && buffer_.empty())
      p.ended = ended_;
    return p;
  }

private:
  const size_t piece_size_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::string buffer_;
  std::function<void(bool)> paused_;
  std::optional<outbound_result> ended_;
  bool received_ = false;
  bool running_ = false;
  bool stopping_ = false;
};

registry_result<registry_done>
registry_client::open_blob(const std::string& repository,
                           const std::string& digest, uint64_t size,
                           std::chrono::milliseconds timeout,
                           blob_stream& stream, const std::string& step) {
  auto c = repository_call("GET", repository, "/blobs/" + digest, false,
                           step + " (GET)");
  c.body_limit = static_cast<size_t>(size);
  c.timeout = timeout;
  if (auto e = authorize_known(c))
    return *e;
  bool challenged = false;
  for (int redirects = 0;;) {
    stream.send(client_, request_of(c, {}));
    if (stream.wait_started())
      return registry_done{};
    const auto& r = stream.result();
    if (r.ok() && r.status / 100 == 2)
      return registry_done{}; // an empty blob
    if (!challenged && r.ok() && r.status == 401) {
      challenged = true;
      auto again = answer_challenge(c, r);
      if (!again)
        return again.error();
      if (*again)
        continue;
    }
    bool redirect = r.ok()
                    && (r.status == 301 || r.status == 302 || r.status == 303
                        || r.status == 307 || r.status == 308);
    auto location = r.header("Location");
    if (!redirect || !location
        || redirects++ >= defaults::registry::max_redirects)
      return failure(c.step, r);
    auto next = absolute(*location);
    // A storage back end's signed URL carries its own authorization; the
    // registry's token or password must not leave the registry.
    if (!iequals(origin_of(next), origin_of(endpoint_.url))) {
      c.authorize = false;
      c.drop_authorization();
    }
    c.url = std::move(next);
  }
}

bool registry_client::throttle(clock_type::time_point started, uint64_t bytes,
                               const std::atomic<bool>* cancel) const {
  if (cfg_.rate_limit_kib == 0)
    return true;
  // The copying thread waits, and with it the paused GET: the rate holds
  // on average over the whole blob. In short steps, so that a stop is
  // seen at once and not after a piece's worth of waiting.
  const auto until
      = started
        + std::chrono::microseconds(bytes * 1'000'000
                                    / (cfg_.rate_limit_kib * 1024));
  constexpr auto step = std::chrono::milliseconds(100);
  for (auto now = clock_type::now(); now < until; now = clock_type::now()) {
    if (cancel && cancel->load())
      return false;
    std::this_thread::sleep_until(std::min(until, now + step));
  }
  return true;
}

registry_result<blob_copy_report>
registry_client::copy_blob(registry_client& source,
                           const std::string& source_repository,
                           const std::string& repository,
                           const std::string& digest, uint64_t size,
                           const std::atomic<bool>* cancel) {
  auto step = "copy blob " + digest + " from " + source_repository + " to "
              + repository;
  if (!valid_path_part(repository) || !valid_path_part(digest)
      || !valid_path_part(source_repository))
    return invalid(step, "not a valid repository name or digest");
  auto colon = digest.find(':');
  digester hash(colon == std::string::npos ? "" : digest.substr(0, colon));
  if (!hash.ok())
    return invalid(step, "unsupported digest algorithm");
  auto present = blob_size(repository, digest);
  if (!present)
    return present.error();
  if (*present)
    return blob_copy_report{blob_copy_method::existed, 0};

  std::string location;
  if (iequals(source.endpoint_.url, endpoint_.url)) {
    auto mounted
        = try_mount(repository, digest, source_repository, step + " (mount)");
    if (!mounted)
      return mounted.error();
    if (!*mounted)
      return blob_copy_report{blob_copy_method::mounted, 0};
    // Declined (the source repository is not readable with these
    // credentials, or the blob is not in it): the upload it opened serves.
    location = std::move(**mounted);
  }
  if (location.empty()) {
    auto started = start_upload(repository, step);
    if (!started)
      return started.error();
    location = std::move(*started);
  }
  auto give_up = [&](registry_error e) {
    cancel_upload(location, repository);
    return e;
  };

  const uint64_t chunk = std::max<uint64_t>(cfg_.chunk_size, 1);
  // Each piece may take a chunk's time, and a rate limit its own.
  auto timeout = cfg_.request_timeout + cfg_.chunk_timeout * (size / chunk + 1);
  if (cfg_.rate_limit_kib > 0)
    timeout += std::chrono::milliseconds(size / cfg_.rate_limit_kib);
  const auto started_at = clock_type::now();
  blob_stream stream(static_cast<size_t>(chunk));
  auto opened = source.open_blob(
      source_repository, digest, size,
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout), stream,
      step);
  if (!opened)
    return give_up(opened.error());

  uint64_t offset = 0;
  bool patched = false;
  std::string whole;
  for (;;) {
    auto piece = stream.next();
    offset += piece.bytes.size();
    if (offset > size)
      return give_up(invalid(step, "the source sent more than the "
                                       + std::to_string(size)
                                       + " bytes of the blob"));
    hash.update(piece.bytes);
    if (piece.ended) {
      if (!piece.ended->ok() || piece.ended->status / 100 != 2)
        return give_up(failure(step + " (GET)", *piece.ended));
      if (offset != size)
        return give_up(invalid(step, "the source sent " + std::to_string(offset)
                                         + " bytes, not "
                                         + std::to_string(size)));
      // Before the PUT that names the digest: wrong bytes never land.
      if (auto got = hash.finish(); got != digest)
        return give_up(invalid(step, "the source's bytes have digest " + got
                                         + ", not the one asked for"));
    }
    if (!throttle(started_at, offset, cancel) || (cancel && cancel->load()))
      return give_up(cancelled(step));
    if (piece.ended && !patched) {
      whole = std::move(piece.bytes); // the whole blob in one piece: one PUT
      break;
    }
    // The GET reads the next piece while this one is sent: two pieces at
    // most are held, and neither side waits for the other.
    if (piece.resume)
      piece.resume(true);
    if (!piece.bytes.empty()) {
      call c;
      c.method = "PATCH";
      c.url = location;
      c.headers = {{"Content-Type", octet_stream},
                   {"Content-Range", std::to_string(offset - piece.bytes.size())
                                         + "-" + std::to_string(offset - 1)}};
      c.body = std::move(piece.bytes);
      c.scope = repository_scope(repository, true);
      c.step = step + " (PATCH)";
      c.timeout = cfg_.chunk_timeout;
      auto r = expect(std::move(c), 202);
      if (!r)
        return give_up(r.error());
      if (auto l = r->header("Location"))
        location = absolute(*l);
      patched = true;
      piece.bytes.clear();
    }
    if (piece.ended)
      break;
  }

  call c;
  c.method = "PUT";
  c.url = with_query(location, "digest=" + percent_encode(digest));
  c.headers = {{"Content-Type", octet_stream}};
  c.body = std::move(whole);
  c.scope = repository_scope(repository, true);
  c.step = step + " (PUT)";
  c.timeout = cfg_.chunk_timeout;
  auto r = expect(std::move(c), 201);
  if (!r)
    return give_up(r.error());
  return blob_copy_report{
      patched ? blob_copy_method::chunked : blob_copy_method::monolithic, size};
}

registry_result<std::vector<std::string>>
registry_client::list(const std::string& path, size_t page_size,
                      const std::string& scope, const char* field,
                      const std::string& step) {
  std::vector<std::string> out;
  std::string last;
  for (;;) {
    auto p = page(path, page_size, last, scope, field, step);
    if (!p)
      return p.error();
    out.insert(out.end(), p->items.begin(), p->items.end());
    if (!p->more)
      return out;
    last = p->items.back();
  }
}

registry_result<std::vector<std::string>>
registry_client::list_tags(const std::string& repository, size_t page_size) {
  auto step = "GET tags of " + repository;
  if (!valid_path_part(repository))
    return invalid(step, "not a valid repository name");
  return list("/v2/" + repository + "/tags/list", page_size,
              repository_scope(repository, false), "tags", step);
}

registry_result<registry_page>
registry_client::page(std::string path, size_t page_size,
                      const std::string& last, const std::string& scope,
                      const char* field, const std::string& step) {
  std::string query;
  if (page_size > 0)
    query = "n=" + std::to_string(page_size);
  if (!last.empty())
    query += (query.empty() ? "" : "&") + ("last=" + percent_encode(last));
  if (!query.empty())
    path += "?" + query;
  call c;
  c.url = endpoint_.url + path;
  c.scope = scope;
  c.step = step;
  auto r = expect(std::move(c), 200);
  if (!r)
    return r.error();
  auto body = json::parse(r->body, nullptr, false);
  if (!body.is_object())
    return invalid(step, "the registry's answer is not a JSON object");
  registry_page out;
  // `"tags": null` is how Distribution lists a repository without tags.
  if (body.contains(field) && body[field].is_array())
    for (const auto& item : body[field])
      if (item.is_string())
        out.items.push_back(item.get<std::string>());
  // A page after `last` cannot hold it: a registry that ignores `last`
  // would answer its first page again and again, or end the walk early
  // without a word.
  if (!last.empty()
      && std::find(out.items.begin(), out.items.end(), last)
             != out.items.end())
    return invalid(step, "the registry answered items up to '" + last
                             + "' again: it does not page by last=");
  // A `rel="next"` link says more remain. The next page starts after
  // this one's last item: the link's own URL is not followed, so that a
  // page never leaves this registry.
  auto link = r->header("Link");
  out.more = !out.items.empty() && link && next_link(*link).has_value();
  return out;
}

registry_result<registry_page>
registry_client::catalog_page(size_t page_size, const std::string& last) {
  return page("/v2/_catalog", page_size, last, "registry:catalog:*",
              "repositories", "GET catalog of " + origin_of(endpoint_.url));
}

registry_result<registry_page>
registry_client::tags_page(const std::string& repository, size_t page_size,
                           const std::string& last) {
  auto step = "GET tags of " + repository;
  if (!valid_path_part(repository))
    return invalid(step, "not a valid repository name");
  return page("/v2/" + repository + "/tags/list", page_size, last,
              repository_scope(repository, false), "tags", step);
}

registry_result<std::vector<std::string>>
registry_client::catalog(size_t page_size) {
  return list("/v2/_catalog", page_size, "registry:catalog:*", "repositories",
              "GET catalog of " + origin_of(endpoint_.url));
}

} // namespace regevent
