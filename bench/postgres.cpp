#include "bench/postgres.hpp"

#include "config/database_url.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <iostream>
#include <stdexcept>

namespace regevent::bench {

namespace {

void admin(const std::string& admin_url, const std::string& statement) {
  soci::session sql(soci::postgresql,
                    parse_database_url(admin_url).connection_string);
  sql << statement;
}

} // namespace

bool is_postgresql_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string with_database(const std::string& url, const std::string& name) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    throw std::runtime_error("not a database URL: " + url);
  auto query = url.find('?', scheme + 3);
  auto head = url.substr(0, query);
  auto tail = query == std::string::npos ? std::string{} : url.substr(query);
  auto slash = head.find('/', scheme + 3);
  if (slash != std::string::npos)
    head.resize(slash);
  return head + "/" + name + tail;
}

fresh_database::fresh_database(std::string admin_url, std::string name,
                               bool keep)
    : admin_url_(std::move(admin_url)),
      name_(std::move(name)),
      url_(with_database(admin_url_, name_)),
      keep_(keep) {
  for (char c : name_)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      throw std::runtime_error("database name " + name_ + ": [a-z0-9_] only");
  admin(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  admin(admin_url_, "CREATE DATABASE " + name_);
}

fresh_database::~fresh_database() {
  if (keep_ && !name_.empty())
    std::cerr << "regevent-bench: kept PostgreSQL database " << name_ << "\n";
  else
    drop();
}

void fresh_database::drop() {
  if (name_.empty())
    return;
  try {
    // FORCE: a daemon killed a moment ago may still have a backend.
    admin(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "regevent-bench: cannot drop database " << name_ << ": "
              << e.what() << "\n";
  }
  name_.clear();
}

} // namespace regevent::bench
