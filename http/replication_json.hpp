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

/// `access_secret` is never answered: a stored one shows as `*****`, as
/// Harbor shows it.
std::string registry_json(const registry_record& r);
std::string registries_json(const std::vector<registry_record>& list);

std::string replication_policy_json(const replication_policy& p);
std::string
replication_policies_json(const std::vector<replication_policy>& list);

} // namespace regevent
