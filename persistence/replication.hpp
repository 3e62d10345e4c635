#pragma once

/// Registries and replication policies as the management API reads and
/// writes them (Harbor v2.0's Registry and ReplicationPolicy shapes).
/// Plain records, no SQL.

#include "persistence/event.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace regevent {

/// How regevent signs in to a registry. `access_secret` is write-only: a
/// record read back carries it empty and says only whether it is set.
struct registry_credential {
  /// "basic" (the only type Harbor's docker-registry adapter uses), or
  /// empty for anonymous access.
  std::string type;
  std::string access_key;
  std::string access_secret;
  /// Read back: whether a secret is stored. Written: whether the request
  /// gave one; an update that leaves it out keeps the stored secret while
  /// the URL stays the same.
  bool has_access_secret = false;
};

struct registry_spec {
  std::string name;
  std::string description;
  /// "docker-registry": a Registry HTTP API v2 server.
  std::string type = "docker-registry";
  std::string url;
  /// Skip verifying the registry's certificate.
  bool insecure = false;
  /// A PEM file of CA certificates trusted for this registry besides the
  /// system store; empty: the system store.
  std::string ca_file;
  registry_credential credential;
};

struct registry_record : registry_spec {
  int64_t id = 0;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
};

/// A policy filter, Harbor's `{type, value}`: "name" matches the whole
/// repository name, "tag" each tag, both with doublestar patterns.
struct replication_filter {
  std::string type;
  std::string value;
};

struct replication_policy_spec {
  std::string name;
  std::string description;
  bool enabled = true;
  int64_t dest_registry_id = 0;
  /// Where copies land; empty keeps the source's namespace.
  std::string dest_namespace;
  /// Harbor's flattening: -1 replaces all but the last component of the
  /// repository name with `dest_namespace`, 0 none (prefixes it), N the
  /// first N.
  int64_t dest_namespace_replace_count = -1;
  std::vector<replication_filter> filters;
  /// "event_based" (on push and delete) or "manual".
  std::string trigger_type = "event_based";
  /// Whether an existing, different tag on the destination is replaced.
  bool override_tags = true;
  /// Whether deletes are replicated too.
  bool deletion = false;
  /// KiB/s per copy; 0 is unlimited.
  int64_t speed_kib = 0;
};

struct replication_policy : replication_policy_spec {
  int64_t id = 0;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
};

struct registry_list {
  std::vector<registry_record> items;
};

/// A registry to replace, with what replaces it.
struct registry_update {
  int64_t id = 0;
  registry_spec spec;
};

struct replication_policy_list {
  std::vector<replication_policy> items;
};

struct replication_policy_update {
  int64_t id = 0;
  replication_policy_spec spec;
};

} // namespace regevent
