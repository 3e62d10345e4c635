#pragma once

/// The wire form of registries and replication policies (Harbor v2.0's
/// Registry and ReplicationPolicy): request bodies checked field by field,
/// records rendered without their write-only values.

#include "persistence/replication.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regevent {

/// A registry request body, or nothing with `error` naming the field that
/// is wrong. `can_seal` says whether secrets can be stored (`secrets.key`
/// is set); without it a credential secret is refused.
std::optional<registry_spec> parse_registry(const std::string& body,
                                            bool can_seal, std::string& error);

/// A replication policy request body (`dest_registry.id`, filters,
/// trigger...), or nothing with `error` naming the field that is wrong.
std::optional<replication_policy_spec>
parse_replication_policy(const std::string& body, std::string& error);

/// A ping request (`POST /api/v2.0/registries/ping`): Harbor's RegistryPing
/// (`id`, `url`, `insecure`, `access_key`, `access_secret`) or a Registry
/// body (`credential: {...}`). Fields given replace those of the stored
/// registry `id`; without an id, `url` is required.
struct registry_ping_request {
  int64_t id = 0;
  std::optional<std::string> url;
  std::optional<bool> insecure;
  std::optional<std::string> ca_file;
  std::optional<std::string> access_key;
  std::optional<std::string> access_secret;

  /// `base` with the fields this request gives.
  registry_spec applied_to(registry_spec base) const;
};

std::optional<registry_ping_request>
parse_registry_ping(const std::string& body, std::string& error);

/// `access_secret` is never answered: a stored one shows as `*****`, as
/// Harbor shows it.
std::string registry_json(const registry_record& r);
std::string registries_json(const std::vector<registry_record>& list);

std::string replication_policy_json(const replication_policy& p);
std::string
replication_policies_json(const std::vector<replication_policy>& list);

/// Harbor's ReplicationExecution, with `total`, `failed`, `succeed`,
/// `in_progress` and `stopped` counted from its tasks.
std::string replication_execution_json(const replication_execution& x);
std::string replication_executions_json(const replication_execution_page& p);
/// Harbor's ReplicationTask, plus what a task knows beyond it: `attempts`,
/// `bytes_copied`, `error`, `skipped` and, while pending, `next_attempt_at`.
std::string replication_tasks_json(const replication_task_list& list);

/// The body of `POST /api/v2.0/replication/executions`: `{policy_id}`.
std::optional<int64_t> parse_replication_start(const std::string& body,
                                               std::string& error);

} // namespace regevent
