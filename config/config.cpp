#include "config/config.hpp"

#include "config/defaults.hpp"

#include <uriparser/Uri.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace regevent {

namespace {

std::string range_text(const UriTextRangeA& r) {
  if (r.first == nullptr || r.afterLast == nullptr)
    return {};
  return std::string(r.first, r.afterLast);
}

std::string unescape(std::string s) {
  uriUnescapeInPlaceA(s.data());
  s.resize(std::char_traits<char>::length(s.c_str()));
  return s;
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that a
/// component put back into a URL parses to the same value.
std::string escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// The URL as typed with the password, if any, replaced by `***`: for error
/// messages about URLs that did not parse.
std::string redact_raw(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos)
    return url;
  start += 3;
  auto at = url.rfind('@');
  if (at == std::string::npos || at < start)
    return url;
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

/// Quotes a libpq keyword value.
std::string pq_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "'";
}

} // namespace

database_url parse_database_url(const std::string& url) {
  database_url result;
  const std::string sqlite_prefix = "sqlite://";
  if (url.rfind(sqlite_prefix, 0) == 0) {
    // sqlite:///abs.db keeps the leading slash; sqlite://rel.db is relative.
    result.backend = database_url::backend_kind::sqlite;
    result.path = url.substr(sqlite_prefix.size());
    if (result.path.empty() || result.path == "/")
      throw config_error("database.url: sqlite URL has no file path: " + url);
    result.redacted = url;
    return result;
  }
  UriUriA uri;
  const char* error_pos = nullptr;
  if (uriParseSingleUriA(&uri, url.c_str(), &error_pos) != URI_SUCCESS)
    throw config_error("database.url: not a valid URL: " + redact_raw(url));
  struct guard {
    UriUriA* u;
    ~guard() {
      uriFreeUriMembersA(u);
    }
  } g{&uri};
  auto scheme = range_text(uri.scheme);
  if (scheme != "postgresql" && scheme != "postgres")
    throw config_error("database.url: unsupported scheme '" + scheme
                       + "' (use sqlite:// or postgresql://)");
  result.backend = database_url::backend_kind::postgresql;
  auto userinfo = range_text(uri.userInfo);
  std::string user, password;
  if (auto colon = userinfo.find(':'); colon != std::string::npos) {
    user = unescape(userinfo.substr(0, colon));
    password = unescape(userinfo.substr(colon + 1));
  } else {
    user = unescape(userinfo);
  }
  auto host = range_text(uri.hostText);
  auto port = range_text(uri.portText);
  std::string dbname;
  for (auto* seg = uri.pathHead; seg != nullptr; seg = seg->next) {
    if (!dbname.empty())
      dbname += '/';
    dbname += range_text(seg->text);
  }
  dbname = unescape(dbname);
  if (host.empty())
    throw config_error("database.url: postgresql URL has no host: "
                       + redact_raw(url));
  if (dbname.empty())
    throw config_error("database.url: postgresql URL has no database name");
  std::string cs = "host=" + pq_value(host);
  if (!port.empty())
    cs += " port=" + pq_value(port);
  cs += " dbname=" + pq_value(dbname);
  if (!user.empty())
    cs += " user=" + pq_value(user);
  if (!password.empty())
    cs += " password=" + pq_value(password);
  // Query parameters are libpq keywords (sslmode=require, connect_timeout):
  // dropping them silently would, for one, allow a connection without TLS.
  std::string query;
  auto query_text = range_text(uri.query);
  for (size_t pos = 0; pos < query_text.size();) {
    auto amp = query_text.find('&', pos);
    auto item = query_text.substr(
        pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query_text.size() : amp + 1;
    if (item.empty())
      continue;
    auto eq = item.find('=');
    auto key = unescape(item.substr(0, eq));
    auto value = eq == std::string::npos ? std::string{}
                                         : unescape(item.substr(eq + 1));
    if (key.empty()
        || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_")
               != std::string::npos)
      throw config_error("database.url: invalid connection parameter '" + key
                         + "'");
    cs += " " + key + "=" + pq_value(value);
    query += (query.empty() ? "?" : "&") + key + "="
             + (key == "password" ? std::string("***") : escape(value));
  }
  result.connection_string = cs;
  // Components are escaped again (a user may contain '@') and an IPv6
  // host gets its brackets back, so that the redacted URL still parses.
  bool ipv6
      = uri.hostData.ip6 != nullptr || host.find(':') != std::string::npos;
  result.redacted = "postgresql://" + (user.empty() ? "" : escape(user))
                    + (password.empty() ? "" : ":***")
                    + (user.empty() && password.empty() ? "" : "@")
                    + (ipv6 ? "[" + host + "]" : host)
                    + (port.empty() ? "" : ":" + port) + "/" + escape(dbname)
                    + query;
  return result;
}

const char* to_string(head_policy x) {
  switch (x) {
    case head_policy::count:
      return "count";
    case head_policy::touch:
      return "touch";
    case head_policy::ignore:
      return "ignore";
  }
  return "?";
}

const char* to_string(unknown_project_policy x) {
  return x == unknown_project_policy::create ? "create" : "skip";
}

const char* to_string(fault_mode x) {
  switch (x) {
    case fault_mode::none:
      return "none";
    case fault_mode::fail:
      return "fail";
    case fault_mode::raise:
      return "throw";
  }
  return "?";
}

const std::vector<std::string>& effect_names() {
  static const std::vector<std::string> names{"access_log", "repositories",
                                              "pull_counter", "artifacts"};
  return names;
}

config default_config() {
  namespace d = defaults;
  config c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 8080;
  c.database.url = d::database_url;
  c.database.sqlite_synchronous = d::database::sqlite_synchronous;
  c.database.busy_timeout_ms = d::database::busy_timeout_ms;
  c.database.pool_size = d::database::pool_size;
  c.database.wal_limit_bytes = d::database::wal_limit_bytes;
  c.http = {d::http::io_threads,      d::http::body_limit,
            d::http::header_limit,    d::http::read_timeout_ms,
            d::http::idle_timeout_ms, d::http::write_timeout_ms,
            d::http::max_pipeline,    d::http::max_connections};
  c.log = {"info", "text"};
  c.ingest = {d::ingest::max_backlog, d::ingest::retry_after_s,
              d::ingest::group_commit_max, d::ingest::journal_timeout_ms};
  c.filter.default_project = "library";
  c.filter.internal_user_agents
      = {"harbor-registry-client", "harbor-replication-service",
         "regevent-replicator", "regevent-scanner"};
  c.dispatch
      = {d::dispatch::max_dispatchers, d::dispatch::recovery_dispatchers,
         d::dispatch::recovery_batch,  d::dispatch::recovery_poll_ms,
         d::dispatch::claim_lease_ms,  d::dispatch::heartbeat_timeout_ms};
  for (const auto& name : effect_names())
    c.effects.actors[name] = effect_config{true, 1, d::effects::batch_size,
                                           d::effects::batch_delay_ms,
                                           d::effects::request_timeout_ms};
  c.effects.retry = {d::effects::retry_attempts, d::effects::retry_base_ms,
                     d::effects::retry_max_ms, d::effects::retry_jitter};
  c.effects.restart = {d::effects::max_restarts, d::effects::restart_window_s};
  c.retention = {d::retention::access_log_days, d::retention::purge_interval_s,
                 d::retention::purge_batch};
  c.shutdown_grace_ms = d::shutdown::grace_period_ms;
  c.database.parsed = parse_database_url(c.database.url);
  return c;
}

namespace {

/// Walks a YAML mapping, reading known keys and rejecting unknown ones, so
/// that every error names the full key path and the line.
class section {
public:
  section(const YAML::Node& node, std::string path)
      : node_(node), path_(std::move(path)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      fail(path_.empty() ? "configuration" : path_, node_, "must be a mapping");
  }

  ~section() noexcept(false) {
    if (!node_ || !node_.IsMap() || std::uncaught_exceptions() > 0)
      return;
    for (const auto& kv : node_) {
      // A complex key (`? [a, b]`) is no name we know; as<std::string>()
      // would throw a yaml-cpp exception instead of a config_error.
      if (!kv.first.IsScalar())
        fail(path_.empty() ? "configuration" : path_, kv.first,
             "keys must be plain names");
      auto key = kv.first.Scalar();
      if (known_.count(key) == 0)
        fail(join(key), kv.first, "unknown key");
    }
  }

  [[noreturn]] static void fail(const std::string& key, const YAML::Node& n,
                                const std::string& what) {
    std::string where;
    if (n && n.Mark().line >= 0)
      where = " (line " + std::to_string(n.Mark().line + 1) + ")";
    throw config_error(key + where + ": " + what);
  }

  std::string join(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  YAML::Node child(const std::string& key) {
    known_.insert(key);
    if (!node_ || !node_.IsMap())
      return YAML::Node{};
    return node_[key];
  }

  void read(const std::string& key, std::string& out) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    if (!n.IsScalar())
      fail(join(key), n, "must be a string");
    out = n.Scalar();
  }

  void read(const std::string& key, bool& out) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
      fail(join(key), n, "must be true or false");
    out = v;
  }

  template<class T>
  void read_uint(const std::string& key, T& out, uint64_t min, uint64_t max) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    const auto& s = n.IsScalar() ? n.Scalar() : std::string{};
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
      fail(join(key), n, "must be a non-negative integer");
    uint64_t v = 0;
    try {
      v = std::stoull(s);
    } catch (const std::exception&) {
      fail(join(key), n, "is out of range");
    }
    if (v < min || v > max)
      fail(join(key), n,
           "must be between " + std::to_string(min) + " and "
               + std::to_string(max) + ", got " + s);
    out = static_cast<T>(v);
  }

  void read(const std::string& key, double& out, double min, double max) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    double v;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
      fail(join(key), n, "must be a number");
    // Written so that NaN, which compares false with everything, fails.
    if (!(v >= min && v <= max))
      fail(join(key), n,
           "must be between " + std::to_string(min) + " and "
               + std::to_string(max));
    out = v;
  }

  void read(const std::string& key, std::vector<std::string>& out) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    if (!n.IsSequence())
      fail(join(key), n, "must be a list of strings");
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar())
        fail(join(key), item, "must be a list of strings");
      out.push_back(item.Scalar());
    }
  }

  template<class E>
  void read_enum(const std::string& key, E& out,
                 std::initializer_list<std::pair<const char*, E>> options) {
    auto n = child(key);
    if (!n || n.IsNull())
      return;
    std::string names;
    for (const auto& [name, value] : options) {
      if (n.IsScalar() && n.Scalar() == name) {
        out = value;
        return;
      }
      names += names.empty() ? name : std::string(", ") + name;
    }
    fail(join(key), n, "must be one of: " + names);
  }

private:
  YAML::Node node_;
  std::string path_;
  std::set<std::string> known_;
};

constexpr uint32_t max_ms = 24u * 3600u * 1000u;

void split_listen(const std::string& value, const std::string& key, config& c) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error(key + ": must be host:port, got '" + value + "'");
  auto host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = value.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos
      || port.size() > 5 || std::stoul(port) > 65535)
    throw config_error(key + ": port must be 0..65535, got '" + port + "'");
  c.listen_host = host;
  c.listen_port = static_cast<uint16_t>(std::stoul(port));
}

void apply_yaml(config& c, const YAML::Node& root) {
  section top(root, "");
  std::string listen;
  top.read("listen", listen);
  if (!listen.empty())
    split_listen(listen, "listen", c);
  {
    section s(top.child("database"), "database");
    s.read("url", c.database.url);
    s.read_enum("sqlite_synchronous", c.database.sqlite_synchronous,
                {{"off", "off"},
                 {"normal", "normal"},
                 {"full", "full"},
                 {"extra", "extra"}});
    s.read_uint("busy_timeout_ms", c.database.busy_timeout_ms, 0, max_ms);
    s.read_uint("pool_size", c.database.pool_size, 1, 256);
    s.read_uint("wal_limit_bytes", c.database.wal_limit_bytes, 1u << 20,
                1ull << 40);
  }
  {
    section s(top.child("http"), "http");
    s.read_uint("io_threads", c.http.io_threads, 1, 64);
    s.read_uint("body_limit", c.http.body_limit, 1024, 64u << 20);
    s.read_uint("header_limit", c.http.header_limit, 1024, 1u << 20);
    s.read_uint("read_timeout_ms", c.http.read_timeout_ms, 1, max_ms);
    s.read_uint("idle_timeout_ms", c.http.idle_timeout_ms, 1, max_ms);
    s.read_uint("write_timeout_ms", c.http.write_timeout_ms, 1, max_ms);
    s.read_uint("max_pipeline", c.http.max_pipeline, 1, 1024);
    s.read_uint("max_connections", c.http.max_connections, 1, 1u << 20);
  }
  {
    section s(top.child("auth"), "auth");
    s.read("notify_token", c.auth.notify_token);
    s.read("admin_token", c.auth.admin_token);
  }
  {
    section s(top.child("log"), "log");
    s.read_enum("level", c.log.level,
                {{"trace", "trace"},
                 {"debug", "debug"},
                 {"info", "info"},
                 {"warn", "warn"},
                 {"error", "error"},
                 {"off", "off"}});
    s.read_enum("format", c.log.format, {{"text", "text"}, {"json", "json"}});
  }
  {
    section s(top.child("ingest"), "ingest");
    s.read_uint("max_backlog", c.ingest.max_backlog, 1,
                std::numeric_limits<uint32_t>::max());
    s.read_uint("retry_after_s", c.ingest.retry_after_s, 1, 3600);
    s.read_uint("group_commit_max", c.ingest.group_commit_max, 1, 100'000);
    s.read_uint("journal_timeout_ms", c.ingest.journal_timeout_ms, 1, max_ms);
  }
  {
    section s(top.child("filter"), "filter");
    s.read("default_project", c.filter.default_project);
    if (c.filter.default_project.empty()
        || c.filter.default_project.find('/') != std::string::npos)
      throw config_error("filter.default_project: must be a name without '/'");
    s.read_enum("unknown_project", c.filter.unknown_project,
                {{"create", unknown_project_policy::create},
                 {"skip", unknown_project_policy::skip}});
    s.read_enum("head_requests", c.filter.head_requests,
                {{"touch", head_policy::touch},
                 {"count", head_policy::count},
                 {"ignore", head_policy::ignore}});
    s.read("internal_user_agents", c.filter.internal_user_agents);
  }
  {
    section s(top.child("dispatch"), "dispatch");
    s.read_uint("max_dispatchers", c.dispatch.max_dispatchers, 1, 100'000);
    s.read_uint("recovery_dispatchers", c.dispatch.recovery_dispatchers, 1,
                10'000);
    s.read_uint("recovery_batch", c.dispatch.recovery_batch, 1, 100'000);
    s.read_uint("recovery_poll_ms", c.dispatch.recovery_poll_ms, 10, max_ms);
    s.read_uint("claim_lease_ms", c.dispatch.claim_lease_ms, 1000, max_ms);
    s.read_uint("heartbeat_timeout_ms", c.dispatch.heartbeat_timeout_ms, 1000,
                max_ms);
  }
  {
    section s(top.child("effects"), "effects");
    s.read("paused", c.effects.paused);
    {
      section r(s.child("retry"), "effects.retry");
      r.read_uint("attempts", c.effects.retry.attempts, 1, 1000);
      r.read_uint("base_ms", c.effects.retry.base_ms, 1, max_ms);
      r.read_uint("max_ms", c.effects.retry.max_ms, 1, max_ms);
      r.read("jitter", c.effects.retry.jitter, 0.0, 1.0);
    }
    {
      section r(s.child("restart"), "effects.restart");
      r.read_uint("max_restarts", c.effects.restart.max_restarts, 0, 100'000);
      r.read_uint("window_s", c.effects.restart.window_s, 1, 86'400);
    }
    for (const auto& name : effect_names()) {
      auto& e = c.effects.actors[name];
      section a(s.child(name), "effects." + name);
      a.read("enabled", e.enabled);
      a.read_uint("instances", e.instances, 1, 64);
      a.read_uint("batch_size", e.batch_size, 1, 100'000);
      a.read_uint("batch_delay_ms", e.batch_delay_ms, 0, 60'000);
      a.read_uint("request_timeout_ms", e.request_timeout_ms, 1, max_ms);
    }
  }
  {
    section s(top.child("retention"), "retention");
    s.read_uint("access_log_days", c.retention.access_log_days, 0, 36'500);
    s.read_uint("purge_interval_s", c.retention.purge_interval_s, 1, 86'400);
    s.read_uint("purge_batch", c.retention.purge_batch, 1, 1'000'000);
  }
  {
    section s(top.child("shutdown"), "shutdown");
    s.read_uint("grace_period_ms", c.shutdown_grace_ms, 0, max_ms);
  }
  {
    section s(top.child("fault_injection"), "fault_injection");
    s.read("effect", c.faults.effect);
    s.read_enum("mode", c.faults.mode,
                {{"none", fault_mode::none},
                 {"fail", fault_mode::fail},
                 {"throw", fault_mode::raise}});
    s.read_uint("count", c.faults.count, 0, 1'000'000);
  }
}

std::string read_secret_file(const std::string& var, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw config_error(var + ": cannot read file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

/// Reads VAR, or the file named by VAR_FILE; VAR wins when both are set.
std::optional<std::string> env_value(const std::string& var) {
  if (const char* v = std::getenv(var.c_str()))
    return std::string(v);
  if (const char* f = std::getenv((var + "_FILE").c_str()))
    return read_secret_file(var + "_FILE", f);
  return std::nullopt;
}

void apply_environment(config& c) {
  if (auto v = env_value("REGEVENT_LISTEN"))
    split_listen(*v, "REGEVENT_LISTEN", c);
  if (auto v = env_value("REGEVENT_DATABASE_URL")) {
    // Name the variable: the file's database.url is not what failed.
    try {
      parse_database_url(*v);
    } catch (const config_error& e) {
      throw config_error(std::string("REGEVENT_DATABASE_URL: ") + e.what());
    }
    c.database.url = *v;
  }
  if (auto v = env_value("REGEVENT_NOTIFY_TOKEN"))
    c.auth.notify_token = *v;
  if (auto v = env_value("REGEVENT_ADMIN_TOKEN"))
    c.auth.admin_token = *v;
  if (const char* v = std::getenv("REGEVENT_FAULT_INJECTION")) {
    // effect:mode:count, test-only.
    std::string s = v;
    auto a = s.find(':');
    auto b = s.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos)
      throw config_error("REGEVENT_FAULT_INJECTION: must be effect:mode:count");
    c.faults.effect = s.substr(0, a);
    auto mode = s.substr(a + 1, b - a - 1);
    if (mode == "fail")
      c.faults.mode = fault_mode::fail;
    else if (mode == "throw")
      c.faults.mode = fault_mode::raise;
    else
      throw config_error(
          "REGEVENT_FAULT_INJECTION: mode must be fail or throw");
    // stoul alone would accept "-1" (wrapping), "3x" and values past
    // uint32_t: digits only, within the range the file allows.
    auto count = s.substr(b + 1);
    if (count.empty() || count.size() > 7
        || count.find_first_not_of("0123456789") != std::string::npos
        || std::stoul(count) > 1'000'000)
      throw config_error(
          "REGEVENT_FAULT_INJECTION: count must be a number 0..1000000");
    c.faults.count = static_cast<uint32_t>(std::stoul(count));
  }
}

void validate(config& c) {
  c.database.parsed = parse_database_url(c.database.url);
  if (c.dispatch.heartbeat_timeout_ms < 3 * c.dispatch.recovery_poll_ms)
    throw config_error("dispatch.heartbeat_timeout_ms: must be at least three "
                       "times dispatch.recovery_poll_ms (the heartbeat)");
  if (c.effects.retry.base_ms > c.effects.retry.max_ms)
    throw config_error("effects.retry.base_ms: must not exceed max_ms");
  if (c.faults.mode != fault_mode::none
      && c.effects.actors.count(c.faults.effect) == 0)
    throw config_error("fault_injection.effect: unknown effect '"
                       + c.faults.effect + "'");
}

} // namespace

config load_config_from_string(const std::string& yaml) {
  auto c = default_config();
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw config_error(std::string("configuration is not valid YAML: ")
                       + e.what());
  }
  if (root && !root.IsNull())
    apply_yaml(c, root);
  validate(c);
  return c;
}

config load_config(const std::string& path) {
  auto c = default_config();
  if (!path.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
      throw config_error("cannot read configuration file '" + path + "'");
    } catch (const YAML::Exception& e) {
      throw config_error(path + ": not valid YAML: " + e.what());
    }
    if (root && !root.IsNull())
      apply_yaml(c, root);
  }
  apply_environment(c);
  validate(c);
  return c;
}

std::string to_yaml(const config& c) {
  auto secret = [](const std::string& s) {
    return s.empty() ? std::string{} : std::string{"<redacted>"};
  };
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value
      << (c.listen_host.find(':') != std::string::npos
              ? "[" + c.listen_host + "]"
              : c.listen_host)
             + ":" + std::to_string(c.listen_port);
  out << YAML::Key << "database" << YAML::Value << YAML::BeginMap << YAML::Key
      << "url" << YAML::Value << c.database.parsed.redacted << YAML::Key
      << "sqlite_synchronous" << YAML::Value << c.database.sqlite_synchronous
      << YAML::Key << "busy_timeout_ms" << YAML::Value
      << c.database.busy_timeout_ms << YAML::Key << "pool_size" << YAML::Value
      << c.database.pool_size << YAML::Key << "wal_limit_bytes" << YAML::Value
      << c.database.wal_limit_bytes << YAML::EndMap;
  out << YAML::Key << "http" << YAML::Value << YAML::BeginMap << YAML::Key
      << "io_threads" << YAML::Value << c.http.io_threads << YAML::Key
      << "body_limit" << YAML::Value << c.http.body_limit << YAML::Key
      << "header_limit" << YAML::Value << c.http.header_limit << YAML::Key
      << "read_timeout_ms" << YAML::Value << c.http.read_timeout_ms << YAML::Key
      << "idle_timeout_ms" << YAML::Value << c.http.idle_timeout_ms << YAML::Key
      << "write_timeout_ms" << YAML::Value << c.http.write_timeout_ms
      << YAML::Key << "max_pipeline" << YAML::Value << c.http.max_pipeline
      << YAML::Key << "max_connections" << YAML::Value << c.http.max_connections
      << YAML::EndMap;
  out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap << YAML::Key
      << "notify_token" << YAML::Value << secret(c.auth.notify_token)
      << YAML::Key << "admin_token" << YAML::Value << secret(c.auth.admin_token)
      << YAML::EndMap;
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap << YAML::Key
      << "level" << YAML::Value << c.log.level << YAML::Key << "format"
      << YAML::Value << c.log.format << YAML::EndMap;
  out << YAML::Key << "ingest" << YAML::Value << YAML::BeginMap << YAML::Key
      << "max_backlog" << YAML::Value << c.ingest.max_backlog << YAML::Key
      << "retry_after_s" << YAML::Value << c.ingest.retry_after_s << YAML::Key
      << "group_commit_max" << YAML::Value << c.ingest.group_commit_max
      << YAML::Key << "journal_timeout_ms" << YAML::Value
      << c.ingest.journal_timeout_ms << YAML::EndMap;
  out << YAML::Key << "filter" << YAML::Value << YAML::BeginMap << YAML::Key
      << "default_project" << YAML::Value << c.filter.default_project
      << YAML::Key << "unknown_project" << YAML::Value
      << to_string(c.filter.unknown_project) << YAML::Key << "head_requests"
      << YAML::Value << to_string(c.filter.head_requests) << YAML::Key
      << "internal_user_agents" << YAML::Value << YAML::Flow
      << c.filter.internal_user_agents << YAML::EndMap;
  out << YAML::Key << "dispatch" << YAML::Value << YAML::BeginMap << YAML::Key
      << "max_dispatchers" << YAML::Value << c.dispatch.max_dispatchers
      << YAML::Key << "recovery_dispatchers" << YAML::Value
      << c.dispatch.recovery_dispatchers << YAML::Key << "recovery_batch"
      << YAML::Value << c.dispatch.recovery_batch << YAML::Key
      << "recovery_poll_ms" << YAML::Value << c.dispatch.recovery_poll_ms
      << YAML::Key << "claim_lease_ms" << YAML::Value
      << c.dispatch.claim_lease_ms << YAML::Key << "heartbeat_timeout_ms"
      << YAML::Value << c.dispatch.heartbeat_timeout_ms << YAML::EndMap;
  out << YAML::Key << "effects" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "paused" << YAML::Value << c.effects.paused;
  out << YAML::Key << "retry" << YAML::Value << YAML::BeginMap << YAML::Key
      << "attempts" << YAML::Value << c.effects.retry.attempts << YAML::Key
      << "base_ms" << YAML::Value << c.effects.retry.base_ms << YAML::Key
      << "max_ms" << YAML::Value << c.effects.retry.max_ms << YAML::Key
      << "jitter" << YAML::Value << c.effects.retry.jitter << YAML::EndMap;
  out << YAML::Key << "restart" << YAML::Value << YAML::BeginMap << YAML::Key
      << "max_restarts" << YAML::Value << c.effects.restart.max_restarts
      << YAML::Key << "window_s" << YAML::Value << c.effects.restart.window_s
      << YAML::EndMap;
  for (const auto& [name, e] : c.effects.actors) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap << YAML::Key
        << "enabled" << YAML::Value << e.enabled << YAML::Key << "instances"
        << YAML::Value << e.instances << YAML::Key << "batch_size"
        << YAML::Value << e.batch_size << YAML::Key << "batch_delay_ms"
        << YAML::Value << e.batch_delay_ms << YAML::Key << "request_timeout_ms"
        << YAML::Value << e.request_timeout_ms << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "retention" << YAML::Value << YAML::BeginMap << YAML::Key
      << "access_log_days" << YAML::Value << c.retention.access_log_days
      << YAML::Key << "purge_interval_s" << YAML::Value
      << c.retention.purge_interval_s << YAML::Key << "purge_batch"
      << YAML::Value << c.retention.purge_batch << YAML::EndMap;
  out << YAML::Key << "shutdown" << YAML::Value << YAML::BeginMap << YAML::Key
      << "grace_period_ms" << YAML::Value << c.shutdown_grace_ms
      << YAML::EndMap;
  if (c.faults.mode != fault_mode::none) {
    out << YAML::Key << "fault_injection" << YAML::Value << YAML::BeginMap
        << YAML::Key << "effect" << YAML::Value << c.faults.effect << YAML::Key
        << "mode" << YAML::Value << to_string(c.faults.mode) << YAML::Key
        << "count" << YAML::Value << c.faults.count << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

} // namespace regevent
