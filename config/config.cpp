#include "config/config.hpp"

#include "config/defaults.hpp"
#include "config/effects.hpp"
#include "config/keys.hpp"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

namespace regevent {

namespace {

// --- the names of enum values: one table per enum ---------------------------

template<class E>
using name_table = std::vector<std::pair<std::string, E>>;

/// In the order error messages list them.
const name_table<head_policy>& head_policy_names() {
  static const name_table<head_policy> names{{"touch", head_policy::touch},
                                             {"count", head_policy::count},
                                             {"ignore", head_policy::ignore}};
  return names;
}

const name_table<unknown_project_policy>& unknown_project_names() {
  static const name_table<unknown_project_policy> names{
      {"create", unknown_project_policy::create},
      {"skip", unknown_project_policy::skip}};
  return names;
}

const name_table<fault_mode>& fault_mode_names() {
  static const name_table<fault_mode> names{{"none", fault_mode::none},
                                            {"fail", fault_mode::fail},
                                            {"throw", fault_mode::raise}};
  return names;
}

/// A string key that takes one of a few words names them in both columns.
name_table<std::string> words(std::initializer_list<const char*> list) {
  name_table<std::string> out;
  for (const char* w : list)
    out.emplace_back(w, w);
  return out;
}

template<class E>
const char* name_of(const name_table<E>& names, const E& value) {
  for (const auto& [name, v] : names)
    if (v == value)
      return name.c_str();
  return "?";
}

} // namespace

const char* to_string(head_policy x) {
  return name_of(head_policy_names(), x);
}

const char* to_string(unknown_project_policy x) {
  return name_of(unknown_project_names(), x);
}

const char* to_string(fault_mode x) {
  return name_of(fault_mode_names(), x);
}

const std::vector<std::string>& effect_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (auto e : all_effects)
      v.emplace_back(to_string(e));
    return v;
  }();
  return names;
}

namespace {

// --- reading and writing single values --------------------------------------

[[noreturn]] void fail(const std::string& key, const YAML::Node& n,
                       const std::string& what) {
  std::string where;
  if (n && n.Mark().line >= 0)
    where = " (line " + std::to_string(n.Mark().line + 1) + ")";
  throw config_error(key + where + ": " + what);
}

/// The shortest text that reads back as exactly `x` (0.2, not
/// 0.20000000000000001).
std::string real_text(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  if (ec != std::errc{})
    return std::to_string(x);
  return std::string(buf, end);
}

/// A string as a YAML scalar, quoted where plain text would read back as
/// something else or break the line (`#`, `: `, leading spaces).
std::string string_text(const std::string& s) {
  YAML::Emitter out;
  out << s;
  if (out.good())
    return out.c_str();
  // Text that is not valid UTF-8 cannot be plain: escape every byte.
  YAML::Emitter escaped;
  escaped << YAML::EscapeNonAscii << YAML::DoubleQuoted << s;
  return escaped.c_str();
}

std::string list_text(const std::vector<std::string>& list) {
  YAML::Emitter out;
  out << YAML::Flow << list;
  return out.c_str();
}

std::string read_string(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar())
    fail(path, n, "must be a string");
  return n.Scalar();
}

bool read_boolean(const YAML::Node& n, const std::string& path) {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
    fail(path, n, "must be true or false");
  return v;
}

uint64_t read_integer(const YAML::Node& n, const std::string& path,
                      uint64_t min, uint64_t max) {
  const auto& s = n.IsScalar() ? n.Scalar() : std::string{};
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
    fail(path, n, "must be a non-negative integer");
  uint64_t v = 0;
  try {
    v = std::stoull(s);
  } catch (const std::exception&) {
    fail(path, n, "is out of range");
  }
  if (v < min || v > max)
    fail(path, n,
         "must be between " + std::to_string(min) + " and "
             + std::to_string(max) + ", got " + s);
  return v;
}

double read_real(const YAML::Node& n, const std::string& path, double min,
                 double max) {
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
    fail(path, n, "must be a number");
  // Written so that NaN, which compares false with everything, fails.
  if (!(v >= min && v <= max))
    fail(path, n,
         "must be between " + real_text(min) + " and " + real_text(max)
             + ", got " + n.Scalar());
  return v;
}

std::vector<std::string> read_list(const YAML::Node& n,
                                   const std::string& path) {
  if (!n.IsSequence())
    fail(path, n, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : n) {
    if (!item.IsScalar())
      fail(path, item, "must be a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

template<class V>
V read_choice(const YAML::Node& n, const std::string& path,
              const name_table<V>& names) {
  std::string list;
  for (const auto& [name, value] : names) {
    if (n.IsScalar() && n.Scalar() == name)
      return value;
    list += list.empty() ? name : ", " + name;
  }
  fail(path, n, "must be one of: " + list);
}

/// Splits `host:port` (an IPv6 host in brackets); the error text on failure.
std::string split_listen(const std::string& value, std::string& host,
                         uint16_t& port) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return "must be host:port, got '" + value + "'";
  auto h = value.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  auto p = value.substr(colon + 1);
  if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos
      || p.size() > 5 || std::stoul(p) > std::numeric_limits<uint16_t>::max())
    return "port must be 0..65535, got '" + p + "'";
  host = h;
  port = static_cast<uint16_t>(std::stoul(p));
  return {};
}

// --- the table
// ----------------------------------------------------------------

/// One key: its description and the four things done with it.
struct entry {
  config_key info;
  std::function<void(config&)> set_default;
  /// Reads a non-null YAML value; errors name `info.path` and the line.
  std::function<void(config&, const YAML::Node&)> read;
  /// The value as YAML text.
  std::function<std::string(const config&)> write;
  /// Takes the value of `info.env`; errors name the variable.
  std::function<void(config&, const std::string&)> from_env;
  /// Whether `to_yaml` writes the key; always when empty.
  std::function<bool(const config&)> shown;
};

/// The member an accessor reaches, for a mutable config.
template<class F>
using member_t = std::remove_reference_t<decltype(std::declval<F>()(
    std::declval<config&>()))>;

entry make(std::string path, key_kind kind, std::string doc) {
  entry e;
  e.info.path = std::move(path);
  e.info.kind = kind;
  e.info.doc = std::move(doc);
  return e;
}

/// A key kept in one member: `read(node, path)` turns YAML into the value,
/// `write(value)` turns it into YAML text.
template<class F, class V, class Read, class Write>
entry member(std::string path, key_kind kind, F at, V def, Read read,
             Write write, std::string doc) {
  auto e = make(path, kind, std::move(doc));
  e.set_default = [at, def](config& c) {
    at(c) = def;
  };
  e.read = [at, path, read](config& c, const YAML::Node& n) {
    at(c) = read(n, path);
  };
  e.write = [at, write](const config& c) {
    return write(at(c));
  };
  return e;
}

template<class F>
entry integer(std::string path, F at, uint64_t def, uint64_t min, uint64_t max,
              std::string doc) {
  using T = member_t<F>;
  static_assert(std::is_unsigned_v<T>);
  if (max > std::numeric_limits<T>::max() || def < min || def > max)
    throw std::logic_error(path + ": bounds do not fit the member or default");
  auto e = member(
      path, key_kind::integer, at, static_cast<T>(def),
      [min, max](const YAML::Node& n, const std::string& key) {
        return static_cast<T>(read_integer(n, key, min, max));
      },
      [](T v) { return std::to_string(v); }, std::move(doc));
  e.info.min = min;
  e.info.max = max;
  return e;
}

template<class F>
entry real(std::string path, F at, double def, double min, double max,
           std::string doc) {
  auto e = member(
      path, key_kind::real, at, def,
      [min, max](const YAML::Node& n, const std::string& key) {
        return read_real(n, key, min, max);
      },
      real_text, std::move(doc));
  e.info.min_real = min;
  e.info.max_real = max;
  return e;
}

template<class F>
entry boolean(std::string path, F at, bool def, std::string doc) {
  return member(
      path, key_kind::boolean, at, def, read_boolean,
      [](bool v) { return std::string(v ? "true" : "false"); }, std::move(doc));
}

/// `check` returns what is wrong with a value, or nothing.
template<class F>
entry string(std::string path, F at, std::string def, std::string doc,
             std::function<std::string(const std::string&)> check = {}) {
  return member(
      path, key_kind::string, at, def,
      [check](const YAML::Node& n, const std::string& key) {
        auto value = read_string(n, key);
        if (check)
          if (auto problem = check(value); !problem.empty())
            fail(key, n, problem);
        return value;
      },
      string_text, std::move(doc));
}

/// A token: written as `<redacted>` when set, so that `--check-config`
/// output can be shared.
template<class F>
entry secret(std::string path, F at, std::string env, std::string doc) {
  auto e = member(
      path, key_kind::secret, at, std::string{}, read_string,
      [](const std::string& v) {
        return string_text(v.empty() ? "" : "<redacted>");
      },
      std::move(doc));
  e.info.env = std::move(env);
  e.from_env = [at](config& c, const std::string& value) {
    at(c) = value;
  };
  return e;
}

template<class F, class V>
entry choice(std::string path, F at, V def, name_table<V> names,
             std::string doc) {
  auto e = member(
      path, key_kind::choice, at, def,
      [names](const YAML::Node& n, const std::string& key) {
        return read_choice(n, key, names);
      },
      [names](const V& v) { return std::string(name_of(names, v)); },
      std::move(doc));
  for (const auto& name : names)
    e.info.choices.push_back(name.first);
  return e;
}

template<class F>
entry list(std::string path, F at, std::vector<std::string> def,
           std::string doc) {
  return member(path, key_kind::list, at, std::move(def), read_list, list_text,
                std::move(doc));
}

entry listen(std::string path, std::string def, std::string env,
             std::string doc) {
  auto e = make(path, key_kind::listen, std::move(doc));
  e.info.env = env;
  e.set_default = [def](config& c) {
    split_listen(def, c.listen_host, c.listen_port);
  };
  e.read = [path](config& c, const YAML::Node& n) {
    auto value = read_string(n, path);
    if (auto problem = split_listen(value, c.listen_host, c.listen_port);
        !problem.empty())
      fail(path, n, problem);
  };
  e.write = [](const config& c) {
    bool ipv6 = c.listen_host.find(':') != std::string::npos;
    return string_text((ipv6 ? "[" + c.listen_host + "]" : c.listen_host) + ":"
                       + std::to_string(c.listen_port));
  };
  e.from_env = [env](config& c, const std::string& value) {
    if (auto problem = split_listen(value, c.listen_host, c.listen_port);
        !problem.empty())
      throw config_error(env + ": " + problem);
  };
  return e;
}

/// Parsed (and so checked) in validate(), after the environment had its say.
entry url(std::string path, std::string def, std::string env, std::string doc) {
  auto e = make(path, key_kind::url, std::move(doc));
  e.info.env = env;
  e.set_default = [def](config& c) {
    c.database.url = def;
  };
  e.read = [path](config& c, const YAML::Node& n) {
    c.database.url = read_string(n, path);
  };
  e.write = [](const config& c) {
    return string_text(c.database.parsed.redacted);
  };
  e.from_env = [env](config& c, const std::string& value) {
    // Name the variable: the file's database.url is not what failed.
    try {
      parse_database_url(value);
    } catch (const config_error& err) {
      throw config_error(env + ": " + err.what());
    }
    c.database.url = value;
  };
  return e;
}

/// The settings of effect `name`: created when reached through a mutable
/// config (default_config does so for every effect), looked up otherwise.
template<class C>
auto& actor_of(C& c, const std::string& name) {
  if constexpr (std::is_const_v<C>)
    return c.effects.actors.at(name);
  else
    return c.effects.actors[name];
}

/// The upper bound of timeouts and intervals: a day. Past it a value is a
/// typo (a few zeros too many), not a wish.
constexpr uint64_t max_ms = 24ull * 3600 * 1000;

/// Every effect has the same keys; only the first says what they do.
std::vector<entry> effect_keys(const std::string& name, bool documented) {
  namespace d = defaults::effects;
  auto doc = [documented](const char* text) {
    return documented ? std::string(text) : std::string{};
  };
  auto p = "effects." + name + ".";
  return {
      boolean(
          p + "enabled",
          [name](auto& c) -> auto& { return actor_of(c, name).enabled; }, true,
          doc("false: no actor runs this effect")),
      integer(
          p + "instances",
          [name](auto& c) -> auto& { return actor_of(c, name).instances; },
          d::instances, 1, 64, doc("actors sharing the effect's work")),
      integer(
          p + "batch_size",
          [name](auto& c) -> auto& { return actor_of(c, name).batch_size; },
          d::batch_size, 1, 100'000, doc("events per commit at most")),
      integer(
          p + "batch_delay_ms",
          [name](auto& c) -> auto& { return actor_of(c, name).batch_delay_ms; },
          d::batch_delay_ms, 0, 60'000, doc("wait this long to fill a batch")),
      integer(
          p + "request_timeout_ms",
          [name](auto& c) -> auto& {
            return actor_of(c, name).request_timeout_ms;
          },
          d::request_timeout_ms, 1, max_ms,
          doc("a dispatcher retries after this")),
  };
}

std::string project_name_problem(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    return "must be a name without '/'";
  return {};
}

#define REGEVENT_AT(member)                                                    \
  [](auto& c) -> auto& {                                                       \
    return c.member;                                                           \
  }

/// Every key, once, in the order to_yaml writes them.
std::vector<entry> make_table() {
  namespace d = defaults;
  std::vector<entry> t{
      listen("listen", d::listen, "REGEVENT_LISTEN",
             "host:port; port 0 takes any free port"),
      url("database.url", d::database_url, "REGEVENT_DATABASE_URL",
          "sqlite://FILE or postgresql://..."),
      choice("database.sqlite_synchronous",
             REGEVENT_AT(database.sqlite_synchronous),
             std::string(d::database::sqlite_synchronous),
             words({"off", "normal", "full", "extra"}), "see below"),
      integer("database.busy_timeout_ms", REGEVENT_AT(database.busy_timeout_ms),
              d::database::busy_timeout_ms, 0, max_ms,
              "SQLite: wait for the write lock"),
      integer("database.pool_size", REGEVENT_AT(database.pool_size),
              d::database::pool_size, 1, 256,
              "management API connections (query actors)"),
      integer("database.wal_limit_bytes", REGEVENT_AT(database.wal_limit_bytes),
              d::database::wal_limit_bytes, 1u << 20, 1ull << 40,
              "SQLite: checkpoint and truncate the WAL past this"),
      integer("http.io_threads", REGEVENT_AT(http.io_threads),
              d::http::io_threads, 1, 64, "threads reading and writing HTTP"),
      integer("http.body_limit", REGEVENT_AT(http.body_limit),
              d::http::body_limit, 1024, 64u << 20, "413 above"),
      integer("http.header_limit", REGEVENT_AT(http.header_limit),
              d::http::header_limit, 1024, 1u << 20, "431 above"),
      integer("http.read_timeout_ms", REGEVENT_AT(http.read_timeout_ms),
              d::http::read_timeout_ms, 1, max_ms,
              "whole request after its first byte"),
      integer("http.idle_timeout_ms", REGEVENT_AT(http.idle_timeout_ms),
              d::http::idle_timeout_ms, 1, max_ms,
              "keep-alive connection without a request"),
      integer("http.write_timeout_ms", REGEVENT_AT(http.write_timeout_ms),
              d::http::write_timeout_ms, 1, max_ms, "whole response"),
      integer("http.max_pipeline", REGEVENT_AT(http.max_pipeline),
              d::http::max_pipeline, 1, 1024,
              "requests read ahead on one connection"),
      integer("http.max_connections", REGEVENT_AT(http.max_connections),
              d::http::max_connections, 1, 1u << 20,
              "connections past this are closed at once"),
      string("tls.cert_file", REGEVENT_AT(tls.cert_file), "",
             "PEM chain, server certificate first; empty: plain HTTP; "
             "reread on SIGHUP"),
      string("tls.key_file", REGEVENT_AT(tls.key_file), "",
             "PEM private key of tls.cert_file; reread on SIGHUP"),
      string("tls.client_ca_file", REGEVENT_AT(tls.client_ca_file), "",
             "PEM CAs of client certificates; set: notifications need one"),
      choice("tls.min_version", REGEVENT_AT(tls.min_version),
             std::string(d::tls::min_version), words({"1.2", "1.3"}),
             "oldest TLS version accepted"),
      secret("auth.notify_token", REGEVENT_AT(auth.notify_token),
             "REGEVENT_NOTIFY_TOKEN",
             "POST /service/notifications needs Bearer <token> when set"),
      secret("auth.admin_token", REGEVENT_AT(auth.admin_token),
             "REGEVENT_ADMIN_TOKEN",
             "the management API is off (401) until set"),
      list("auth.api_tokens", REGEVENT_AT(auth.api_tokens), {},
           "more API tokens as name:read|admin:sha256 hex of the token"),
      integer("auth.max_failures", REGEVENT_AT(auth.max_failures),
              d::auth::max_failures, 0, 1'000'000,
              "failed authentications from one address before 429; 0: none"),
      integer("auth.failure_window_s", REGEVENT_AT(auth.failure_window_s),
              d::auth::failure_window_s, 1, 86'400,
              "the window those failures are counted in"),
      secret("secrets.key", REGEVENT_AT(secrets.key), "REGEVENT_SECRETS_KEY",
             "base64 of 32 random bytes sealing stored secrets; webhook "
             "secrets and auth headers are refused until set"),
      choice("log.level", REGEVENT_AT(log.level),
             std::string(d::logging::level),
             words({"trace", "debug", "info", "warn", "error", "off"}), ""),
      choice("log.format", REGEVENT_AT(log.format),
             std::string(d::logging::format), words({"text", "json"}),
             "json writes one object per line"),
      string("log.file", REGEVENT_AT(log.file), "",
             "empty: stderr; a file is reopened on SIGHUP (logrotate)"),
      integer("ingest.max_backlog", REGEVENT_AT(ingest.max_backlog),
              d::ingest::max_backlog, 1, std::numeric_limits<uint32_t>::max(),
              "pending events past which notifications get 503"),
      integer("ingest.retry_after_s", REGEVENT_AT(ingest.retry_after_s),
              d::ingest::retry_after_s, 1, 3600, "Retry-After of a 503"),
      integer("ingest.group_commit_max", REGEVENT_AT(ingest.group_commit_max),
              d::ingest::group_commit_max, 1, 100'000,
              "events per journal commit at most"),
      integer("ingest.journal_timeout_ms",
              REGEVENT_AT(ingest.journal_timeout_ms),
              d::ingest::journal_timeout_ms, 1, max_ms,
              "503 if the journal has not committed by then"),
      string("filter.default_project", REGEVENT_AT(filter.default_project),
             d::filter::default_project, "project of a repository without '/'",
             project_name_problem),
      choice("filter.unknown_project", REGEVENT_AT(filter.unknown_project),
             unknown_project_policy::create, unknown_project_names(),
             "skip drops the events of unknown projects"),
      choice("filter.head_requests", REGEVENT_AT(filter.head_requests),
             head_policy::touch, head_policy_names(),
             "what a HEAD pull does to the pull count"),
      list("filter.internal_user_agents",
           REGEVENT_AT(filter.internal_user_agents),
           {std::begin(d::filter::internal_user_agents),
            std::end(d::filter::internal_user_agents)},
           "pulls by these clients are not counted"),
      list("filter.internal_accounts", REGEVENT_AT(filter.internal_accounts),
           {}, "pulls by these registry accounts are not counted"),
      integer("dispatch.max_dispatchers", REGEVENT_AT(dispatch.max_dispatchers),
              d::dispatch::max_dispatchers, 1, 100'000,
              "live batches in flight; the rest wait in the journal"),
      integer("dispatch.recovery_dispatchers",
              REGEVENT_AT(dispatch.recovery_dispatchers),
              d::dispatch::recovery_dispatchers, 1, 10'000,
              "recovered batches in flight"),
      integer("dispatch.recovery_batch", REGEVENT_AT(dispatch.recovery_batch),
              d::dispatch::recovery_batch, 1, 100'000,
              "events per recovered batch"),
      integer("dispatch.recovery_poll_ms",
              REGEVENT_AT(dispatch.recovery_poll_ms),
              d::dispatch::recovery_poll_ms, 10, max_ms,
              "look for abandoned work; also the heartbeat"),
      integer("dispatch.claim_lease_ms", REGEVENT_AT(dispatch.claim_lease_ms),
              d::dispatch::claim_lease_ms, 1000, max_ms,
              "a claim's lifetime (also covers a dispatcher that died)"),
      integer("dispatch.heartbeat_timeout_ms",
              REGEVENT_AT(dispatch.heartbeat_timeout_ms),
              d::dispatch::heartbeat_timeout_ms, 1000, max_ms,
              "an instance silent this long is dead: its claims are taken "
              "over"),
      boolean("effects.paused", REGEVENT_AT(effects.paused), false,
              "test/benchmark switch: journal only, apply nothing"),
      integer("effects.retry.attempts", REGEVENT_AT(effects.retry.attempts),
              d::effects::retry_attempts, 1, 1000,
              "tries of an effect before it is dead-lettered"),
      integer("effects.retry.base_ms", REGEVENT_AT(effects.retry.base_ms),
              d::effects::retry_base_ms, 1, max_ms,
              "first retry delay, doubled per attempt"),
      integer("effects.retry.max_ms", REGEVENT_AT(effects.retry.max_ms),
              d::effects::retry_max_ms, 1, max_ms, "longest retry delay"),
      real("effects.retry.jitter", REGEVENT_AT(effects.retry.jitter),
           d::effects::retry_jitter, 0.0, 1.0,
           "delays vary by this fraction either way"),
      integer("effects.restart.max_restarts",
              REGEVENT_AT(effects.restart.max_restarts),
              d::effects::max_restarts, 0, 100'000,
              "restarts of an actor within window_s before not-ready"),
      integer("effects.restart.window_s", REGEVENT_AT(effects.restart.window_s),
              d::effects::restart_window_s, 1, 86'400, ""),
  };
  for (const auto& name : effect_names())
    for (auto& e : effect_keys(name, name == effect_names().front()))
      t.push_back(std::move(e));
  std::vector<entry> rest{
      integer("retention.access_log_days",
              REGEVENT_AT(retention.access_log_days),
              d::retention::access_log_days, 0, 36'500,
              "0 keeps audit rows forever"),
      integer("retention.journal_days", REGEVENT_AT(retention.journal_days),
              d::retention::journal_days, 1, 36'500,
              "finished events older than this keep only their row, for "
              "deduplication"),
      integer("retention.dedup_days", REGEVENT_AT(retention.dedup_days),
              d::retention::dedup_days, 0, 36'500,
              "finished events older than this (and journal_days) are "
              "deleted; a later delivery of one is new again. 0: never"),
      integer("retention.purge_interval_s",
              REGEVENT_AT(retention.purge_interval_s),
              d::retention::purge_interval_s, 1, 86'400, ""),
      integer("retention.purge_batch", REGEVENT_AT(retention.purge_batch),
              d::retention::purge_batch, 1, 1'000'000,
              "rows per delete; batches are spaced out"),
      list("webhooks.allow_networks", REGEVENT_AT(webhooks.allow_networks), {},
           "CIDRs a target may reach although loopback, private, "
           "link-local or metadata (e.g. 127.0.0.0/8, ::1/128)"),
      string("webhooks.registry_address",
             REGEVENT_AT(webhooks.registry_address), "",
             "host[:port] of the registry in each resource_url"),
      integer("webhooks.workers", REGEVENT_AT(webhooks.workers),
              d::webhooks::workers, 1, 10'000, "deliveries in flight at once"),
      integer("webhooks.max_retries", REGEVENT_AT(webhooks.max_retries),
              d::webhooks::max_retries, 0, 100,
              "retries after the first try before a delivery fails"),
      integer("webhooks.retry_base_ms", REGEVENT_AT(webhooks.retry_base_ms),
              d::webhooks::retry_base_ms, 1, max_ms,
              "first retry delay, doubled per retry, 20% jitter"),
      integer("webhooks.retry_max_ms", REGEVENT_AT(webhooks.retry_max_ms),
              d::webhooks::retry_max_ms, 1, max_ms, "longest retry delay"),
      integer("webhooks.timeout_ms", REGEVENT_AT(webhooks.timeout_ms),
              d::webhooks::timeout_ms, 1, max_ms,
              "one attempt, connect to last byte"),
      integer("webhooks.per_target_concurrency",
              REGEVENT_AT(webhooks.per_target_concurrency),
              d::webhooks::per_target_concurrency, 1, 1'000,
              "deliveries in flight to one target"),
      integer("webhooks.breaker_failures",
              REGEVENT_AT(webhooks.breaker_failures),
              d::webhooks::breaker_failures, 1, 1'000,
              "failures in a row that open a target's circuit"),
      integer("webhooks.breaker_cooldown_ms",
              REGEVENT_AT(webhooks.breaker_cooldown_ms),
              d::webhooks::breaker_cooldown_ms, 1, max_ms,
              "an open circuit is tried again after this"),
      integer(
          "webhooks.poll_interval_ms", REGEVENT_AT(webhooks.poll_interval_ms),
          d::webhooks::poll_interval_ms, 10, max_ms, "look for due deliveries"),
      integer("webhooks.claim_lease_ms", REGEVENT_AT(webhooks.claim_lease_ms),
              d::webhooks::claim_lease_ms, 1000, max_ms,
              "a claimed delivery unfinished by then is sent again"),
      integer("webhooks.log_retention_days",
              REGEVENT_AT(webhooks.log_retention_days),
              d::webhooks::log_retention_days, 1, 36'500,
              "finished deliveries older than this are deleted"),
      string("source_registry.url", REGEVENT_AT(source_registry.url), "",
             "http[s]://host[:port] of the registry that notifies; "
             "replication copies from it"),
      boolean("source_registry.insecure", REGEVENT_AT(source_registry.insecure),
              false, "skip verifying its certificate"),
      string("source_registry.ca_file", REGEVENT_AT(source_registry.ca_file),
             "", "PEM CAs trusted for it besides the system store"),
      string("source_registry.username",
             REGEVENT_AT(source_registry.username), "",
             "pull credential; empty: anonymous"),
      secret("source_registry.password",
             REGEVENT_AT(source_registry.password),
             "REGEVENT_SOURCE_REGISTRY_PASSWORD", "pull credential"),
      integer("replication.workers", REGEVENT_AT(replication.workers),
              d::replication::workers, 1, 256,
              "copies at once, one per destination repository"),
      integer("replication.max_retries", REGEVENT_AT(replication.max_retries),
              d::replication::max_retries, 0, 100,
              "retries after the first try before a task fails"),
      integer("replication.retry_base_ms",
              REGEVENT_AT(replication.retry_base_ms),
              d::replication::retry_base_ms, 1, max_ms,
              "first retry delay, doubled per retry, 20% jitter"),
      integer("replication.retry_max_ms", REGEVENT_AT(replication.retry_max_ms),
              d::replication::retry_max_ms, 1, max_ms, "longest retry delay"),
      integer("replication.poll_interval_ms",
              REGEVENT_AT(replication.poll_interval_ms),
              d::replication::poll_interval_ms, 10, max_ms,
              "look for due tasks"),
      integer("replication.claim_lease_ms",
              REGEVENT_AT(replication.claim_lease_ms),
              d::replication::claim_lease_ms, 3000, max_ms,
              "a claimed task unrenewed this long is taken up again"),
      integer("replication.execution_retention_days",
              REGEVENT_AT(replication.execution_retention_days),
              d::replication::execution_retention_days, 1, 36'500,
              "ended executions older than this are deleted with their "
              "tasks"),
      integer("scanning.workers", REGEVENT_AT(scanning.workers),
              d::scanning::workers, 1, 256, "scans in flight at once"),
      integer("scanning.max_retries", REGEVENT_AT(scanning.max_retries),
              d::scanning::max_retries, 0, 100,
              "retries of an adapter that is down before a scan fails"),
      integer("scanning.retry_base_ms", REGEVENT_AT(scanning.retry_base_ms),
              d::scanning::retry_base_ms, 1, max_ms,
              "first retry delay, doubled per retry, 20% jitter"),
      integer("scanning.retry_max_ms", REGEVENT_AT(scanning.retry_max_ms),
              d::scanning::retry_max_ms, 1, max_ms, "longest retry delay"),
      integer("scanning.poll_interval_ms",
              REGEVENT_AT(scanning.poll_interval_ms),
              d::scanning::poll_interval_ms, 10, max_ms, "look for due scans"),
      integer("scanning.claim_lease_ms", REGEVENT_AT(scanning.claim_lease_ms),
              d::scanning::claim_lease_ms, 3000, max_ms,
              "a claimed scan unrenewed this long is taken up again"),
      integer("scanning.report_deadline_s",
              REGEVENT_AT(scanning.report_deadline_s),
              d::scanning::report_deadline_s, 1, 604'800,
              "a scan with no report this long after it started fails"),
      integer("scanning.timeout_ms", REGEVENT_AT(scanning.timeout_ms),
              d::scanning::timeout_ms, 1, max_ms,
              "one request to an adapter, connect to last byte"),
      integer("scanning.metadata_cache_s",
              REGEVENT_AT(scanning.metadata_cache_s),
              d::scanning::metadata_cache_s, 0, 604'800,
              "an adapter's metadata is asked again after this"),
      string("scanning.registry_url", REGEVENT_AT(scanning.registry_url), "",
             "the registry as adapters reach it; empty: source_registry.url"),
      boolean("reconcile.on_start", REGEVENT_AT(reconcile.on_start), false,
              "import and reconcile the source registry at start"),
      integer("reconcile.interval_s", REGEVENT_AT(reconcile.interval_s), 0, 0,
              31'536'000, "reconcile this often; 0: only when asked"),
      integer("reconcile.concurrency", REGEVENT_AT(reconcile.concurrency),
              d::reconcile::concurrency, 1, 64, "repositories walked at once"),
      integer("reconcile.rate", REGEVENT_AT(reconcile.rate), d::reconcile::rate,
              0, 100'000, "requests per second to the registry; 0: no limit"),
      integer("reconcile.page_size", REGEVENT_AT(reconcile.page_size),
              d::reconcile::page_size, 1, 10'000,
              "repositories or tags per page of the registry's lists"),
      integer("reconcile.lease_ms", REGEVENT_AT(reconcile.lease_ms),
              d::reconcile::lease_ms, 3000, max_ms,
              "a run unrenewed this long (its instance died) fails"),
      integer("reconcile.poll_interval_ms",
              REGEVENT_AT(reconcile.poll_interval_ms),
              d::reconcile::poll_interval_ms, 10, max_ms,
              "look for a run to take"),
      integer("shutdown.grace_period_ms", REGEVENT_AT(shutdown_grace_ms),
              d::shutdown::grace_period_ms, 0, max_ms,
              "how long each stage may take to finish"),
      string("fault_injection.effect", REGEVENT_AT(faults.effect), "",
             "test only: the effect (or `journal`) that fails"),
      choice("fault_injection.mode", REGEVENT_AT(faults.mode), fault_mode::none,
             fault_mode_names(), ""),
      integer("fault_injection.count", REGEVENT_AT(faults.count), 0, 0,
              1'000'000, "commits that fail"),
      integer("fault_injection.skip", REGEVENT_AT(faults.skip), 0, 0, 1'000'000,
              "commits that succeed before the first fault"),
  };
  for (auto& e : rest) {
    // Test-only keys stay out of the output unless they are switched on.
    if (e.info.path.rfind("fault_injection.", 0) == 0)
      e.shown = [](const config& c) {
        return c.faults.mode != fault_mode::none;
      };
    t.push_back(std::move(e));
  }
  return t;
}

#undef REGEVENT_AT

const std::vector<entry>& table() {
  static const std::vector<entry> t = make_table();
  return t;
}

const entry& entry_at(const std::string& path) {
  for (const auto& e : table())
    if (e.info.path == path)
      return e;
  throw std::logic_error("no configuration key " + path);
}

// --- reading YAML
// -------------------------------------------------------------

/// The table as a tree: keys by path, and every path that is a section.
struct key_tree {
  std::map<std::string, const entry*> keys;
  std::set<std::string> sections;
};

const key_tree& key_index() {
  static const key_tree i = [] {
    key_tree out;
    for (const auto& e : table()) {
      out.keys.emplace(e.info.path, &e);
      for (auto dot = e.info.path.find('.'); dot != std::string::npos;
           dot = e.info.path.find('.', dot + 1))
        out.sections.insert(e.info.path.substr(0, dot));
    }
    return out;
  }();
  return i;
}

/// Reads the mapping at `prefix` (empty: the document), so that every error
/// names the full key path and the line. A null value keeps the default.
void apply_yaml(config& c, const YAML::Node& node, const std::string& prefix) {
  if (!node || node.IsNull())
    return;
  const auto& where = prefix.empty() ? std::string("configuration") : prefix;
  if (!node.IsMap())
    fail(where, node, "must be a mapping");
  const auto& idx = key_index();
  std::set<std::string> seen;
  for (const auto& kv : node) {
    // A complex key (`? [a, b]`) is no name we know; as<std::string>()
    // would throw a yaml-cpp exception instead of a config_error.
    if (!kv.first.IsScalar())
      fail(where, kv.first, "keys must be plain names");
    auto path
        = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    // yaml-cpp keeps both; one of them would win silently.
    if (!seen.insert(path).second)
      fail(path, kv.first, "duplicate key");
    if (auto it = idx.keys.find(path); it != idx.keys.end()) {
      if (kv.second && !kv.second.IsNull())
        it->second->read(c, kv.second);
    } else if (idx.sections.count(path) != 0) {
      apply_yaml(c, kv.second, path);
    } else {
      fail(path, kv.first, "unknown key");
    }
  }
}

// --- environment
// ----------------------------------------------------------------

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

/// REGEVENT_FAULT_INJECTION=effect:mode:count, test-only.
void apply_fault_injection(config& c, const std::string& s) {
  const std::string var = "REGEVENT_FAULT_INJECTION";
  auto a = s.find(':');
  auto b = s.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos)
    throw config_error(var + ": must be effect:mode:count");
  c.faults.effect = s.substr(0, a);
  auto mode = s.substr(a + 1, b - a - 1);
  c.faults.mode = fault_mode::none;
  for (const auto& [name, value] : fault_mode_names())
    if (mode == name)
      c.faults.mode = value;
  // `none` would switch injection off: not what setting the variable means.
  if (c.faults.mode == fault_mode::none)
    throw config_error(var + ": mode must be fail or throw");
  // stoull alone would accept "-1" (wrapping) and "3x": digits only, within
  // the range the file allows.
  auto max = entry_at("fault_injection.count").info.max;
  auto count = s.substr(b + 1);
  if (count.empty() || count.size() > std::to_string(max).size()
      || count.find_first_not_of("0123456789") != std::string::npos
      || std::stoull(count) > max)
    throw config_error(var + ": count must be a number 0.."
                       + std::to_string(max));
  c.faults.count = static_cast<uint32_t>(std::stoull(count));
}

void apply_environment(config& c) {
  for (const auto& e : table())
    if (!e.info.env.empty())
      if (auto v = env_value(e.info.env))
        e.from_env(c, *v);
  if (const char* v = std::getenv("REGEVENT_FAULT_INJECTION"))
    apply_fault_injection(c, v);
}

/// The form of 32 bytes in base64: 43 characters of the alphabet and one
/// `=`. The bytes themselves are decoded where they are used
/// (persistence/secret_box, with OpenSSL); this only lets a malformed key
/// fail `--check-config` and start-up with the key's name.
bool is_sealing_key(const std::string& key) {
  if (key.size() != 44 || key.back() != '=')
    return false;
  return std::all_of(key.begin(), key.end() - 1, [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '+' || c == '/';
  });
}

/// `address/prefix` with the host bits clear, IPv4 or IPv6.
bool is_network(const std::string& text) {
  boost::system::error_code ec;
  if (text.find(':') != std::string::npos) {
    auto n = boost::asio::ip::make_network_v6(text, ec);
    return !ec && n == n.canonical();
  }
  auto n = boost::asio::ip::make_network_v4(text, ec);
  return !ec && n == n.canonical();
}

/// `name:role:sha256hex` of `auth.api_tokens`.
config::api_token parse_api_token(const std::string& entry, size_t index) {
  // The entry is not repeated: a token pasted whole instead of its hash
  // must not reach the log.
  auto fail = [index](const std::string& why) {
    return config_error("auth.api_tokens[" + std::to_string(index)
                        + "]: " + why
                        + " (name:read|admin:sha256 hex of the token)");
  };
  auto first = entry.find(':');
  auto second = first == std::string::npos ? first : entry.find(':', first + 1);
  if (second == std::string::npos)
    throw fail("three fields separated by ':' are needed");
  config::api_token t;
  t.name = entry.substr(0, first);
  auto role = entry.substr(first + 1, second - first - 1);
  auto hex = entry.substr(second + 1);
  if (t.name.empty() || t.name.size() > 64
      || t.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
                                  "RSTUVWXYZ0123456789._-")
             != std::string::npos)
    throw fail("the name must be 1-64 of [A-Za-z0-9._-]");
  if (role != "read" && role != "admin")
    throw fail("the role must be read or admin");
  t.admin = role == "admin";
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF")
                              != std::string::npos)
    throw fail("the hash must be 64 hex digits (sha256sum of the token)");
  for (size_t i = 0; i < 64; i += 2)
    t.sha256.push_back(
        static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return t;
}

/// Rules across keys; each key's own range was checked when it was read.
void validate(config& c) {
  c.database.parsed = parse_database_url(c.database.url);
  c.auth.tokens.clear();
  for (const auto& entry : c.auth.api_tokens) {
    auto t = parse_api_token(entry, c.auth.tokens.size());
    for (const auto& other : c.auth.tokens) {
      if (other.name == t.name)
        throw config_error("auth.api_tokens: the name '" + t.name
                           + "' is given twice");
      // One token under two names (and perhaps two roles): which one it
      // is would depend on the order.
      if (other.sha256 == t.sha256)
        throw config_error("auth.api_tokens: '" + t.name + "' and '"
                           + other.name + "' have the same hash");
    }
    if (t.name == "admin" && !c.auth.admin_token.empty())
      throw config_error("auth.api_tokens: 'admin' names auth.admin_token");
    c.auth.tokens.push_back(std::move(t));
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty())
    throw config_error("tls.cert_file and tls.key_file: set both or neither");
  if (!c.tls.client_ca_file.empty() && c.tls.cert_file.empty())
    throw config_error("tls.client_ca_file: needs tls.cert_file (client "
                       "certificates are asked for in the TLS handshake)");
  if (c.dispatch.heartbeat_timeout_ms < 3 * c.dispatch.recovery_poll_ms)
    throw config_error("dispatch.heartbeat_timeout_ms: must be at least three "
                       "times dispatch.recovery_poll_ms (the heartbeat)");
  if (c.effects.retry.base_ms > c.effects.retry.max_ms)
    throw config_error("effects.retry.base_ms: must not exceed max_ms");
  if (c.webhooks.retry_base_ms > c.webhooks.retry_max_ms)
    throw config_error("webhooks.retry_base_ms: must not exceed retry_max_ms");
  // A claimed delivery may wait for its target's slot for up to one
  // attempt's time before its own attempt starts.
  if (c.webhooks.claim_lease_ms < 2ull * c.webhooks.timeout_ms + 1000)
    throw config_error("webhooks.claim_lease_ms: must be at least twice "
                       "webhooks.timeout_ms plus 1000 (a delivery still in "
                       "flight would be sent twice)");
  if (c.replication.retry_base_ms > c.replication.retry_max_ms)
    throw config_error(
        "replication.retry_base_ms: must not exceed retry_max_ms");
  if (c.scanning.retry_base_ms > c.scanning.retry_max_ms)
    throw config_error("scanning.retry_base_ms: must not exceed retry_max_ms");
  if ((c.reconcile.on_start || c.reconcile.interval_s > 0)
      && c.source_registry.url.empty())
    throw config_error("reconcile: on_start and interval_s need "
                       "source_registry.url (the registry to reconcile with)");
  for (const auto& [key, url] :
       {std::pair{"source_registry.url", &c.source_registry.url},
        std::pair{"scanning.registry_url", &c.scanning.registry_url}})
    if (!url->empty() && url->rfind("http://", 0) != 0
        && url->rfind("https://", 0) != 0)
      throw config_error(std::string(key)
                         + ": must start with http:// or https://");
  for (const auto& n : c.webhooks.allow_networks)
    if (!is_network(n))
      throw config_error("webhooks.allow_networks: '" + n
                         + "' is not a CIDR network (address/prefix)");
  if (!c.secrets.key.empty() && !is_sealing_key(c.secrets.key))
    throw config_error("secrets.key: must be the base64 of 32 random bytes "
                       "(openssl rand -base64 32)");
  if (c.faults.mode != fault_mode::none
      && c.effects.actors.count(c.faults.effect) == 0
      && c.faults.effect != "journal")
    throw config_error("fault_injection.effect: unknown effect '"
                       + c.faults.effect + "'");
}

// --- writing YAML
// ---------------------------------------------------------------

/// Comments start in this column, as in the README, unless the line is
/// longer; then the comment goes on the line above.
constexpr size_t comment_column = 31;

std::string comment_of(const config_key& key) {
  std::string out;
  for (const auto& choice : key.choices)
    out += (out.empty() ? "" : "|") + choice;
  if (!key.doc.empty())
    out += (out.empty() ? "" : ": ") + key.doc;
  return out;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (auto dot = path.find('.'); dot != std::string::npos;
       dot = path.find('.', start)) {
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(path.substr(start));
  return parts;
}

} // namespace

const std::vector<config_key>& config_keys() {
  static const std::vector<config_key> keys = [] {
    std::vector<config_key> out;
    for (const auto& e : table())
      out.push_back(e.info);
    return out;
  }();
  return keys;
}

config default_config() {
  config c;
  for (const auto& e : table())
    e.set_default(c);
  c.database.parsed = parse_database_url(c.database.url);
  return c;
}

config load_config_from_string(const std::string& yaml) {
  auto c = default_config();
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw config_error(std::string("configuration is not valid YAML: ")
                       + e.what());
  }
  apply_yaml(c, root, "");
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
    apply_yaml(c, root, "");
  }
  apply_environment(c);
  validate(c);
  return c;
}

std::string to_yaml(const config& c) {
  std::string out;
  std::vector<std::string> open; // the sections the last key was in
  for (const auto& e : table()) {
    if (e.shown && !e.shown(c))
      continue;
    auto parts = split_path(e.info.path);
    auto depth = parts.size() - 1;
    size_t same = 0;
    while (same < open.size() && same < depth && open[same] == parts[same])
      ++same;
    open.resize(same);
    for (; same < depth; ++same) {
      out += std::string(2 * same, ' ') + parts[same] + ":\n";
      open.push_back(parts[same]);
    }
    auto indent = std::string(2 * depth, ' ');
    auto line = indent + parts.back() + ": " + e.write(c);
    auto comment = comment_of(e.info);
    if (comment.empty())
      out += line + "\n";
    else if (line.size() + 2 <= comment_column)
      out += line + std::string(comment_column - line.size(), ' ') + "# "
             + comment + "\n";
    else
      out += indent + "# " + comment + "\n" + line + "\n";
  }
  return out;
}

} // namespace regevent
