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
  /// Sets a repository's description; nullopt when it does not exist.
  std::optional<repository_row> update_repository(const repository_update& u);

  /// Live artifacts, newest push first unless sorted, each with its live
  /// tags (and, once read from the registry, its details); nullopt
  /// when the repository does not exist.
  std::optional<artifact_page> list_artifacts(const artifact_query& q);
  /// A live artifact by digest or tag, with its live tags.
  std::optional<artifact_row> artifact(const artifact_lookup& q);

  /// The live tags of a live artifact; nullopt when there is no such
  /// artifact.
  std::optional<tag_page> list_tags(const tag_query& q);

  /// Hides a live artifact (and so its tags) as a registry delete at `now`
  /// would: regevent's record only, the registry keeps the manifest.
  /// Answers its digest; nullopt when there is no such live artifact.
  std::optional<std::string> delete_artifact(const artifact_lookup& q,
                                             timestamp_us now);
  /// Hides one live tag of the live artifact `q.reference`; false when
  /// there is no such tag on it.
  bool delete_tag(const tag_reference& q, timestamp_us now);

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
