#pragma once

#include "persistence/webhook.hpp"

#include <optional>
#include <string>

namespace regevent {

class database;
class secret_box;

/// What a policy write did.
enum class webhook_outcome { ok, no_project, no_policy, name_taken };

struct webhook_write {
  webhook_outcome outcome = webhook_outcome::ok;
  webhook_policy policy;
};

/// The SQL of webhook policies and their targets. Secrets are sealed with
/// the box before they reach a statement and never read back into a record
/// for the API. Statements throw soci errors; writes run in their own
/// transaction.
class webhook_store {
public:
  webhook_store(database& db, const secret_box& secrets);

  /// A project's policies by id; nullopt when the project does not exist.
  std::optional<webhook_policy_list> list(const std::string& project);
  std::optional<webhook_policy> find(const std::string& project, int64_t id);

  webhook_write create(const webhook_policy_spec& spec, timestamp_us now);
  /// Replaces policy `id` of `spec.project`, targets included (their
  /// write-only values kept where the spec leaves them out).
  webhook_write update(int64_t id, const webhook_policy_spec& spec,
                       timestamp_us now);
  /// False when there was no such policy.
  bool remove(const std::string& project, int64_t id);

private:
  bool project_exists(const std::string& project);
  /// Fails the pending deliveries of a policy's targets from
  /// `from_position` on (they no longer exist).
  void fail_orphaned_deliveries(int64_t policy_id, size_t from_position,
                                const std::string& why);
  std::vector<webhook_target> targets_of(int64_t policy_id);
  void write_targets(
      int64_t policy_id, const webhook_policy_spec& spec,
      const std::vector<std::pair<std::string, std::string>>& kept_secrets);

  database& db_;
  const secret_box& secrets_;
};

} // namespace regevent
