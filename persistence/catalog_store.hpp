#pragma once

#include "persistence/catalog.hpp"

#include <optional>
#include <string>

namespace regevent {

class database;

/// Whether a reference names a digest (`sha256:...`) rather than a tag.
bool is_digest_reference(const std::string& reference);

/// The digest `reference` names in `repository`: itself when it is a
/// digest, else that of the live tag; nullopt for no such tag. Reads in
/// the open session.
std::optional<std::string> live_digest(database& db,
                                       const std::string& repository,
                                       const std::string& reference);

/// The management API's SQL: projects, repositories, artifacts, audit logs
/// and dead letters, read as typed rows with their totals. Statements throw
/// soci errors; the query actor converts them into error codes once.
class catalog_store {
public:
  explicit catalog_store(database& db);

  project_page list_projects(const project_query& q);
  std::optional<project_row> find_project(const std::string& name);
  /// Inserts a project; nullopt when one of that name exists.
  std::optional<project_row> create_project(const project_spec& spec);

  /// nullopt when the project does not exist.
  std::optional<repository_page> list_repositories(const repository_query& q);
  std::optional<repository_row> find_repository(const std::string& full_name);

  /// Live artifacts, newest push first, each with its live tags; nullopt
  /// when the repository does not exist.
  std::optional<artifact_page> list_artifacts(const artifact_query& q);
  /// A live artifact by digest or tag, with its live tags.
  std::optional<artifact_row> artifact(const artifact_lookup& q);

  /// Audit rows, newest first.
  audit_page list_audit_logs(const audit_query& q);

  /// Dead letters, newest first.
  dead_letter_page list_dead_letters(const page_request& p);

  /// Deletes up to `limit` access-log rows older than `cutoff`, oldest
  /// first (retention); answers how many it deleted.
  long long purge_access_logs(timestamp_us cutoff, long long limit);

private:
  database& db_;
};

} // namespace regevent
