#pragma once

#include "tests/fixtures/http_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace regevent::test {

/// Reads the daemon's management API (Harbor v2.0 shapes) with the admin
/// token. Every read answers null (or an empty array) while the daemon is
/// down or the object does not exist yet, so that tests poll on it.
class management_api {
public:
  management_api(uint16_t port, std::string admin_token);

  /// The JSON body of a 200 answer to GET `target`; null otherwise.
  nlohmann::json get(const std::string& target);

  /// The names of every project.
  std::vector<std::string> projects();

  /// One entry of GET /projects/{project}/repositories, found by its full
  /// name (`project/rest`); null when absent.
  nlohmann::json repository(const std::string& full_name);

  /// The repository's pull_count; -1 while it is not listed.
  long long pull_count(const std::string& full_name);

  /// GET /projects/{project}/repositories/{rest, percent-encoded}/artifacts;
  /// an empty array while the repository is not listed.
  nlohmann::json artifacts(const std::string& full_name);

  /// The artifact with `digest` in the repository; null when absent.
  nlohmann::json artifact(const std::string& full_name,
                          const std::string& digest);

  /// The tag names of that artifact, sorted; empty when absent.
  std::vector<std::string> tags(const std::string& full_name,
                                const std::string& digest);

  /// GET /audit-logs with `query` (e.g. `operation=pull&resource=a/b`);
  /// every page, newest first.
  nlohmann::json audit_logs(const std::string& query);

private:
  http_client client_;
  std::string token_;
};

/// `rest` with every `/` (and any byte outside RFC 3986 unreserved
/// characters) percent-encoded, for the `{repo}` path segment.
std::string encode_path_segment(const std::string& rest);

} // namespace regevent::test
