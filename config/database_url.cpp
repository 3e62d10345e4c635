#include "config/database_url.hpp"

#include "config/percent.hpp"
#include "config/uri_text.hpp"

namespace regevent {

namespace {

/// Decodes one URL component. libpq reads its connection string as a C
/// string: a `%00` would cut the value short, so it is refused.
std::string decode(const std::string& component) {
  auto value = percent_decode(component);
  if (value.find('\0') != std::string::npos)
    throw config_error("database.url: a component contains %00");
  return value;
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

database_url parse_sqlite(const std::string& url, size_t prefix_size) {
  // sqlite:///abs.db keeps the leading slash; sqlite://rel.db is relative.
  database_url result;
  result.backend = database_url::backend_kind::sqlite;
  result.path = url.substr(prefix_size);
  if (result.path.empty() || result.path == "/")
    throw config_error("database.url: sqlite URL has no file path: " + url);
  result.redacted = url;
  return result;
}

} // namespace

database_url parse_database_url(const std::string& url) {
  const std::string sqlite_prefix = "sqlite://";
  if (url.rfind(sqlite_prefix, 0) == 0)
    return parse_sqlite(url, sqlite_prefix.size());
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
  auto scheme = uri_text(uri.scheme);
  if (scheme != "postgresql" && scheme != "postgres")
    throw config_error("database.url: unsupported scheme '" + scheme
                       + "' (use sqlite:// or postgresql://)");
  database_url result;
  result.backend = database_url::backend_kind::postgresql;
  auto userinfo = uri_text(uri.userInfo);
  std::string user, password;
  if (auto colon = userinfo.find(':'); colon != std::string::npos) {
    user = decode(userinfo.substr(0, colon));
    password = decode(userinfo.substr(colon + 1));
  } else {
    user = decode(userinfo);
  }
  auto host = uri_text(uri.hostText);
  auto port = uri_text(uri.portText);
  std::string dbname;
  for (auto* seg = uri.pathHead; seg != nullptr; seg = seg->next) {
    if (!dbname.empty())
      dbname += '/';
    dbname += uri_text(seg->text);
  }
  dbname = decode(dbname);
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
  auto query_text = uri_text(uri.query);
  for (size_t pos = 0; pos < query_text.size();) {
    auto amp = query_text.find('&', pos);
    auto item = query_text.substr(
        pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query_text.size() : amp + 1;
    if (item.empty())
      continue;
    auto eq = item.find('=');
    auto key = decode(item.substr(0, eq));
    auto value
        = eq == std::string::npos ? std::string{} : decode(item.substr(eq + 1));
    if (key.empty()
        || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_")
               != std::string::npos)
      throw config_error("database.url: invalid connection parameter '" + key
                         + "'");
    cs += " " + key + "=" + pq_value(value);
    query += (query.empty() ? "?" : "&") + key + "="
             + (key == "password" ? std::string("***") : percent_encode(value));
  }
  result.connection_string = cs;
  // Components are encoded again (a user may contain '@') and an IPv6
  // host gets its brackets back, so that the redacted URL still parses.
  bool ipv6
      = uri.hostData.ip6 != nullptr || host.find(':') != std::string::npos;
  result.redacted = "postgresql://" + percent_encode(user)
                    + (password.empty() ? "" : ":***")
                    + (user.empty() && password.empty() ? "" : "@")
                    + (ipv6 ? "[" + host + "]" : host)
                    + (port.empty() ? "" : ":" + port) + "/"
                    + percent_encode(dbname) + query;
  return result;
}

} // namespace regevent
