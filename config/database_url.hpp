#pragma once

#include "config/error.hpp"

#include <string>

namespace regevent {

/// A parsed database URL (DESIGN §5).
struct database_url {
  enum class backend_kind { sqlite, postgresql };
  backend_kind backend = backend_kind::sqlite;
  /// SQLite: the file path as given (absolute or relative to the cwd).
  std::string path;
  /// PostgreSQL: the libpq connection string built from the URL parts.
  std::string connection_string;
  /// The URL with any password replaced by `***`.
  std::string redacted;
};

/// Parses `sqlite:///abs.db`, `sqlite://rel.db` and
/// `postgresql://user:password@host:port/dbname[?keyword=value...]`.
/// Throws config_error naming `database.url`, never with the password in it.
database_url parse_database_url(const std::string& url);

} // namespace regevent
