#pragma once

#include "persistence/replication.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regevent {

class database;
class secret_box;

/// What a registry or policy write did.
enum class replication_outcome {
  ok,
  not_found,
  name_taken,
  /// A policy names a destination registry that does not exist.
  no_registry,
  /// A registry still named by a policy cannot be deleted.
  in_use,
};

struct registry_write {
  replication_outcome outcome = replication_outcome::ok;
  registry_record registry;
};

struct policy_write {
  replication_outcome outcome = replication_outcome::ok;
  replication_policy policy;
};

/// The SQL of registries and replication policies. Credentials are sealed
/// with the box before they reach a statement and never read back into a
/// record for the API (`credential_of` opens one for the copy). Statements
/// throw soci errors; writes run in their own transaction.
class replication_store {
public:
  replication_store(database& db, const secret_box& secrets);

  std::vector<registry_record> registries();
  std::optional<registry_record> registry(int64_t id);
  registry_write create_registry(const registry_spec& spec, timestamp_us now);
  /// Replaces registry `id`; a credential without a secret keeps the stored
  /// one while the URL and access key stay the same (a secret is never
  /// handed to another server than the one it was given for).
  registry_write update_registry(int64_t id, const registry_spec& spec,
                                 timestamp_us now);
  replication_outcome remove_registry(int64_t id);
  /// The registry with its credential's secret opened, for the copy;
  /// nullopt when there is no such registry. Throws when the secret was
  /// sealed under another key.
  std::optional<registry_record> with_secret(int64_t id);

  std::vector<replication_policy> policies();
  std::optional<replication_policy> policy(int64_t id);
  policy_write create_policy(const replication_policy_spec& spec,
                             timestamp_us now);
  policy_write update_policy(int64_t id, const replication_policy_spec& spec,
                             timestamp_us now);
  bool remove_policy(int64_t id);

private:
  bool registry_exists(int64_t id);

  database& db_;
  const secret_box& secrets_;
};

} // namespace regevent
