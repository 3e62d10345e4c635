#pragma once

/// The wire form of webhook policies (Harbor v2.0's WebhookPolicy): request
/// bodies checked field by field, records rendered without their
/// write-only values.

#include "persistence/webhook.hpp"
#include "persistence/webhook_delivery.hpp"

#include <optional>
#include <string>

namespace regevent {

class address_guard;

/// A policy request body for `project`, or nothing with `error` naming the
/// field that is wrong. `can_seal` says whether secrets can be stored
/// (`secrets.key` is set); without it a secret or auth header is refused.
std::optional<webhook_policy_spec>
parse_webhook_policy(const std::string& body, const std::string& project,
                     bool can_seal, std::string& error);

/// The SSRF guard when a policy is written: each target's host must be
/// one `guard` allows, a literal address at once, a name by every address
/// it resolves to now (resolved synchronously, on the calling thread).
/// False with `error` naming the field (`targets[0].address: ...`).
bool check_webhook_targets(const webhook_policy_spec& spec,
                           const address_guard& guard, std::string& error);

std::string webhook_policy_json(const webhook_policy& p);
std::string webhook_policies_json(const webhook_policy_list& list);

/// `GET .../webhook/events`: the event types and payload formats, as
/// Harbor lists them (`{event_type: [...], notify_type: [...]}` plus the
/// payload formats of each notify type).
std::string webhook_events_json();

/// One delivery of the log, with every attempt (`attempts_log`).
std::string webhook_execution_json(const webhook_execution& x);
/// A page of the log, newest first, without the attempts.
std::string webhook_executions_json(const webhook_execution_page& page);

} // namespace regevent
