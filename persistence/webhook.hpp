#pragma once

/// Webhook policies as the management API reads and writes them (Harbor
/// v2.0's WebhookPolicy shape). Plain records, no SQL.

#include "persistence/event.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace regevent {

/// The event types a policy can subscribe to, in Harbor's spelling. The
/// scanning and replication issues publish the last three.
constexpr std::array<const char*, 6> webhook_event_types{
    "PUSH_ARTIFACT",      "PULL_ARTIFACT",   "DELETE_ARTIFACT",
    "SCANNING_COMPLETED", "SCANNING_FAILED", "REPLICATION"};

constexpr std::array<const char*, 2> webhook_payload_formats{"Default",
                                                             "CloudEvents"};

/// One receiver of a policy. `auth_header` and `secret` are write-only:
/// a record read back carries them empty and says only whether they are
/// set.
struct webhook_target {
  std::string type = "http";
  std::string address;
  std::string auth_header;
  std::string secret;
  bool skip_cert_verify = false;
  /// A PEM file of CA certificates trusted for this target besides the
  /// system store (a receiver with a private CA); empty: the system store.
  std::string ca_file;
  std::string payload_format = "Default";
  /// Read back: whether a value is stored. Written: whether the request
  /// gave one; a PUT that leaves it out keeps the stored value of the
  /// target at the same place with the same address.
  bool has_auth_header = false;
  bool has_secret = false;
  /// Why delivery to this target stopped (a 410 Gone), empty while active.
  std::string disabled_reason;
};

struct webhook_policy_spec {
  std::string project;
  std::string name;
  std::string description;
  bool enabled = true;
  std::vector<std::string> event_types;
  std::vector<webhook_target> targets;
};

/// A stored policy: the spec with its id and times.
struct webhook_policy : webhook_policy_spec {
  int64_t id = 0;
  timestamp_us creation_time = 0;
  timestamp_us update_time = 0;
};

struct webhook_policy_list {
  std::vector<webhook_policy> items;
};

/// A policy addressed by its project and id.
struct webhook_policy_ref {
  std::string project;
  int64_t id = 0;
};

/// A policy to replace, with what replaces it.
struct webhook_policy_update {
  int64_t id = 0;
  webhook_policy_spec spec;
};

} // namespace regevent
