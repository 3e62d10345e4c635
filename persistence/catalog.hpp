#pragma once

/// The plain records of the management API's reads and writes: what the
/// catalog store returns, what the query actors answer, what http/ renders.
/// No SOCI, no CAF: every layer may use them (DESIGN §4).

#include "persistence/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace regevent {

/// A page of a list, 1-based as in Harbor's API.
struct page_request {
  long long page = 1;
  long long size = 10;
  long long offset() const {
    return (page - 1) * size;
  }
};

/// How the API reads the value of a list's filter or sort key.
enum class key_type : uint8_t { text, integer, boolean, time };

/// A key that Harbor's `q` may filter a list by, or its `sort` order it
/// by. Keys a list does not have are ignored, as Harbor's ORM ignores them.
struct list_key {
  const char* name;
  key_type type;
  bool filter;
  bool sort;
};

/// One condition of Harbor's `q` language: `k=v` exact, `k=~v` fuzzy
/// (contains), `k=[min~max]` range, `k={a b}` any of, `k=(a b)` all of.
/// Values arrive checked and normalized by the API: an integer or time
/// (microseconds since the epoch) in decimal, a boolean `1` or `0`.
struct query_term {
  enum class match : uint8_t { exact, fuzzy, range, any_of, all_of };
  std::string key;
  match kind = match::exact;
  /// exact, fuzzy: one value; range: two, min and max, either empty for
  /// an open end; any_of, all_of: one or more.
  std::vector<std::string> values;
};

/// One key of Harbor's `sort` (`name`, `-creation_time`).
struct sort_term {
  std::string key;
  bool descending = false;
};

/// A list's `q` and `sort`, every key one the list has.
struct list_query {
  std::vector<query_term> terms;
  std::vector<sort_term> sort;
};

/// The keys of each list, as Harbor's handlers and models allow them.
inline constexpr list_key project_keys[] = {
    {"name", key_type::text, true, true},
    {"project_id", key_type::integer, true, true},
    {"public", key_type::boolean, true, false},
    {"owner", key_type::text, true, false},
    {"creation_time", key_type::time, true, true},
    {"update_time", key_type::time, true, true},
    {"repo_count", key_type::integer, false, true},
};
inline constexpr list_key repository_keys[] = {
    {"name", key_type::text, true, true},
    {"id", key_type::integer, true, true},
    {"creation_time", key_type::time, true, true},
    {"update_time", key_type::time, true, true},
    {"pull_count", key_type::integer, true, true},
    {"artifact_count", key_type::integer, false, true},
};
/// `tags` matches the names of an artifact's tags; `tags=*` is any tagged
/// artifact and `tags=nil` an untagged one, as in Harbor.
inline constexpr list_key artifact_keys[] = {
    {"id", key_type::integer, true, true},
    {"digest", key_type::text, true, true},
    {"tags", key_type::text, true, false},
    {"media_type", key_type::text, true, true},
    {"type", key_type::text, true, true},
    {"size", key_type::integer, true, true},
    {"push_time", key_type::time, true, true},
    {"pull_time", key_type::time, true, true},
};
inline constexpr list_key tag_keys[] = {
    {"id", key_type::integer, true, true},
    {"name", key_type::text, true, true},
    {"push_time", key_type::time, true, true},
    {"pull_time", key_type::time, true, true},
};
/// `operation` `push` is Harbor v1's name of `create` on an artifact.
inline constexpr list_key audit_keys[] = {
    {"id", key_type::integer, true, true},
    {"username", key_type::text, true, true},
    {"operation", key_type::text, true, true},
    {"resource", key_type::text, true, true},
    {"resource_type", key_type::text, true, true},
    {"op_time", key_type::time, true, true},
};

/// One page of a list and the total count of its matches (X-Total-Count).
template<class Row>
struct page_of {
  std::vector<Row> items;
  long long total = 0;
};

struct project_row {
  long long id = 0;
  std::string name;
  bool is_public = false;
  bool auto_scan = false;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
  long long repo_count = 0;
  /// Harbor's other ProjectMetadata keys as a JSON object of strings.
  std::string metadata = "{}";
};

/// A new project, as POST /projects asks for it.
struct project_spec {
  std::string name;
  bool is_public = false;
  bool auto_scan = false;
  /// Harbor's other ProjectMetadata keys, checked, as a JSON object.
  std::string metadata = "{}";
};

/// Projects, optionally one by exact name, filtered and sorted by `list`.
struct project_query {
  std::string name;
  page_request page;
  list_query list;
};

struct repository_row {
  long long id = 0;
  long long project_id = 0;
  std::string description;
  /// The full name, `project/repo`, as Harbor returns it.
  std::string name;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
  long long pull_count = 0;
  long long artifact_count = 0;
};

/// A project's repositories; every project's when `project` is empty.
struct repository_query {
  std::string project;
  page_request page;
  list_query list;
};

/// A repository's description, as PUT .../repositories/{name} sets it.
struct repository_update {
  std::string name;
  std::string description;
};

struct tag_row {
  std::string name;
  timestamp_us push_time = 0;
  /// 0 when never pulled.
  timestamp_us pull_time = 0;
  long long id = 0;
  long long repository_id = 0;
  long long artifact_id = 0;
};

struct artifact_row {
  long long id = 0;
  long long project_id = 0;
  long long repository_id = 0;
  /// Harbor's `type` (IMAGE, CHART, CNAB, UNKNOWN) and `media_type` (the
  /// config's, an index's own); `media_type` below is the manifest's.
  std::string type;
  std::string harbor_media_type;
  /// Read from the registry (`artifact_details`); empty until then.
  std::string config_media_type;
  std::string artifact_type;
  /// JSON texts as stored; `references` has each child's artifact id.
  std::string extra_attrs = "{}";
  std::string annotations = "{}";
  std::string references = "[]";
  /// Harbor's size (manifest, config and layers) once read; else 0.
  long long details_size = 0;
  std::string digest;
  std::string media_type;
  long long size = 0;
  timestamp_us push_time = 0;
  /// 0 when never pulled.
  timestamp_us pull_time = 0;
  std::string repository;
  std::vector<tag_row> tags;
  /// Harbor's `scan_overview` as JSON text when it was asked for
  /// (`with_scan_overview`); empty otherwise.
  std::string scan_overview;
};

/// The project of a repository as the stores keep it: the text before the
/// first `/`, or `library` for a name without one.
inline std::string project_of_repository(const std::string& repository) {
  auto slash = repository.find('/');
  return slash == std::string::npos ? std::string("library")
                                    : repository.substr(0, slash);
}

struct artifact_query {
  /// The full repository name.
  std::string repository;
  page_request page;
  bool with_scan_overview = false;
  list_query list;
};

/// The tags of one artifact (by digest or tag).
struct tag_query {
  std::string repository;
  std::string reference;
  page_request page;
  list_query list;
};

/// One tag of one artifact, as DELETE .../artifacts/{reference}/tags/{name}
/// names it.
struct tag_reference {
  std::string repository;
  std::string reference;
  std::string tag;
};

/// One artifact by digest or tag.
struct artifact_lookup {
  /// The full repository name.
  std::string repository;
  /// `sha256:...` or a tag.
  std::string reference;
  bool with_scan_overview = false;
};

/// Audit-log filters; an empty or zero field does not filter.
struct audit_filter {
  std::string operation;
  std::string username;
  /// The repository (full name) of an artifact's row, the name or id of
  /// another resource.
  std::string resource;
  timestamp_us from = 0;
  timestamp_us to = 0;
  /// `artifact`, or one of api_change's types.
  std::string resource_type;
  /// Only rows of this project (GET /projects/{name}/logs).
  std::string project;
};

struct audit_query {
  audit_filter filter;
  page_request page;
  list_query list;
};

struct audit_row {
  long long id = 0;
  std::string username;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string operation;
  timestamp_us op_time = 0;
  std::string event_id;
  /// `artifact` for a push, pull or delete (shown from repository, tag
  /// and digest); else an API change's type, with `resource` its name.
  std::string resource_type;
  std::string resource;
};

/// Who asks for a management API change: the name of the token presented
/// (`admin` for auth.admin_token, else its auth.api_tokens name). Carried
/// with the change to its audit row; never the token itself.
struct api_user {
  std::string name;
};

/// One change made through the management API as its audit row records
/// it, in Harbor v2's terms: `operation` create | update | delete, a
/// `resource_type` (`project`, `webhook_policy`, `registry`, ...) and the
/// `resource`'s name, or its id when it has none. Never a secret.
struct api_change {
  std::string username;
  std::string operation;
  std::string resource_type;
  std::string resource;
  /// The project it belongs to; empty for a system-wide resource.
  std::string project;
};

struct dead_letter_row {
  long long id = 0;
  std::string event_id;
  std::string effect;
  std::string error;
  long long attempts = 0;
  timestamp_us created_at = 0;
  /// 0 when never replayed.
  timestamp_us replayed_at = 0;
};

/// What a replay of a dead letter did.
struct replay_result {
  long long id = 0;
  std::string event_id;
  /// False when the event was no longer dead (replayed before).
  bool requeued = false;
};

using project_page = page_of<project_row>;
using repository_page = page_of<repository_row>;
using artifact_page = page_of<artifact_row>;
using tag_page = page_of<tag_row>;
using audit_page = page_of<audit_row>;
using dead_letter_page = page_of<dead_letter_row>;

} // namespace regevent
