#pragma once

#include <string>

namespace regevent::bench {

/// `url` (postgresql://user@host:port/db?params) with its database name
/// replaced by `name`; the query string is kept.
std::string with_database(const std::string& url, const std::string& name);

/// Whether `url` names a PostgreSQL database (postgresql:// or postgres://).
bool is_postgresql_url(const std::string& url);

/// A database the harness creates on a PostgreSQL cluster for one run and
/// drops at the end (unless kept): every run starts from an empty schema,
/// and runs never see each other's rows. `admin_url` is any database on
/// the cluster the user may connect to and create databases from.
class fresh_database {
public:
  fresh_database() = default;
  /// CREATE DATABASE `name` ([a-z0-9_] only), dropping one of that name
  /// first. Throws on failure.
  fresh_database(std::string admin_url, std::string name, bool keep);
  ~fresh_database();
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;

  /// The new database's URL (the admin URL's user, host, port, options).
  const std::string& url() const {
    return url_;
  }
  const std::string& name() const {
    return name_;
  }
  /// DROP DATABASE … WITH (FORCE), now; errors go to stderr.
  void drop();

private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
  bool keep_ = false;
};

} // namespace regevent::bench
