#pragma once

/// What a webhook delivery sends: the body in Harbor's Default or
/// CloudEvents format and the Standard Webhooks signature over it. Pure
/// functions, no I/O and no actors, so that the delivering actor and the
/// tests render exactly the same bytes.

#include "persistence/event.hpp"
#include "persistence/webhook_delivery.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace regevent {

/// What one webhook delivery tells a receiver about an artifact event.
struct webhook_notice {
  /// One of `webhook_event_types` (persistence/webhook.hpp).
  std::string event_type;
  timestamp_us occur_at = 0;
  /// The registry actor's name; empty for anonymous access.
  std::string operator_name;
  /// The project (namespace), e.g. `library`.
  std::string project;
  /// The full name, e.g. `library/app`.
  std::string repository;
  /// Empty for a push or pull by digest.
  std::string tag;
  /// `sha256:...`.
  std::string digest;
  /// 0 when unknown.
  timestamp_us repository_created = 0;
  bool project_public = false;
  /// The external `host[:port]` from the configuration; empty: the
  /// resource URL has no host part.
  std::string registry_address;
  long long project_id = 0;
  long long policy_id = 0;
  /// A REPLICATION event's execution; its `event_data` is Harbor's
  /// `replication` object instead of resources.
  std::optional<webhook_replication> replication;
  /// A SCANNING_* event's `scan_overview` (JSON text), which its resource
  /// carries; empty for other events.
  std::string scan_overview;
};

/// Harbor v2's Default payload (JSON text): `type`, `occur_at` (Unix
/// seconds), `operator` and `event_data` with one resource (`digest`,
/// `tag` unless empty, `resource_url`) and the `repository` (`date_created`
/// unless unknown, `name` without the project, `namespace`,
/// `repo_full_name`, `repo_type` "public" or "private"). The resource URL
/// names the tag when there is one, else the digest (`repo@sha256:...`).
std::string render_default_payload(const webhook_notice& n);

/// CloudEvents 1.0 in structured mode: the Default payload's `event_data`
/// as `data`, `id` = `webhook_id`, `source`
/// `/projects/{project_id}/webhook/policies/{policy_id}`, Harbor's type
/// names (`harbor.artifact.pushed`, ...), `time` in RFC 3339 UTC and the
/// `operator` extension. Throws std::invalid_argument for an event type
/// outside `webhook_event_types`: the API accepts no other.
std::string render_cloudevents_payload(const webhook_notice& n,
                                       const std::string& webhook_id);

/// The Content-Type of a payload format: `application/cloudevents+json` for
/// "CloudEvents", `application/json` for "Default" (and anything else, as
/// Harbor falls back to Default).
const char* payload_content_type(const std::string& format);

/// The Standard Webhooks (standardwebhooks.com) `webhook-signature` value:
/// `v1,` + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)),
/// the key being the base64-decoded part after `whsec_`. Throws
/// std::invalid_argument for a secret that is not `whsec_` + base64 (the
/// API stores no other).
std::string standard_webhooks_signature(std::string_view secret,
                                        std::string_view webhook_id,
                                        long long unix_seconds,
                                        std::string_view body);

} // namespace regevent
