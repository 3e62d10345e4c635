#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/multi_row.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

#include <map>
#include <string>
#include <vector>

namespace regevent {

namespace {

/// The webhook event type of a kept event; empty when none is published
/// (a HEAD that does not count as a pull checks, it does not pull).
std::string event_type_of(const effect_input& p) {
  const auto& action = p.event.action;
  if (action == "push")
    return "PUSH_ARTIFACT";
  if (action == "delete")
    return "DELETE_ARTIFACT";
  if (action == "pull" && p.count_pull)
    return "PULL_ARTIFACT";
  return {};
}

bool subscribed(const std::string& types, const std::string& type) {
  size_t start = 0;
  while (start <= types.size()) {
    auto end = types.find(',', start);
    if (end == std::string::npos)
      end = types.size();
    if (types.compare(start, end - start, type) == 0)
      return true;
    start = end + 1;
  }
  return false;
}

/// The outbox of webhook deliveries: one task per matching (policy, target)
/// of each fresh event, in the transaction that writes the event's
/// completion mark, so that a task is neither lost nor created twice.
class webhook_task_store : public effect_store {
public:
  explicit webhook_task_store(database& db)
      : effect_store(db, effect_kind::webhooks),
        insert_(db.session(),
                "INSERT INTO webhook_tasks (webhook_id, event_seq, policy_id, "
                "target_position, event_type, project, repository, tag, "
                "digest, operator, occur_at, next_attempt_at, created_at, "
                "updated_at)",
                {column_type::text, column_type::integer, column_type::integer,
                 column_type::integer, column_type::text, column_type::text,
                 column_type::text, column_type::text, column_type::text,
                 column_type::text, column_type::integer, column_type::integer,
                 column_type::integer, column_type::integer},
                "ON CONFLICT (webhook_id) DO NOTHING") {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    auto now = now_us();
    // Every lookup before the first row is buffered: a lookup that throws
    // must not leave rows behind for the next batch's INSERT.
    std::map<std::string, std::vector<target>> by_project;
    for (const auto* p : fresh)
      if (!event_type_of(*p).empty() && by_project.count(p->project) == 0)
        by_project.emplace(p->project, targets_of(p->project));
    for (const auto* p : fresh) {
      auto type = event_type_of(*p);
      if (type.empty())
        continue;
      auto it = by_project.find(p->project);
      for (const auto& t : it->second) {
        if (!subscribed(t.event_types, type))
          continue;
        const auto& e = p->event;
        insert_
            .text("msg_" + e.id + "_" + std::to_string(t.policy_id) + "_"
                  + std::to_string(t.position))
            .integer(e.seq)
            .integer(t.policy_id)
            .integer(t.position)
            .text(type)
            .text(p->project)
            .text(e.repository)
            .text(e.tag)
            .text(e.digest)
            .text(e.actor)
            .integer(e.time)
            .integer(now)
            .integer(now)
            .integer(now);
      }
    }
    if (insert_.rows() > 0)
      insert_.execute();
  }

private:
  struct target {
    long long policy_id = 0;
    long long position = 0;
    std::string event_types;
  };

  /// The active targets of a project's enabled policies.
  std::vector<target> targets_of(const std::string& project) {
    std::vector<target> out;
    soci::rowset<soci::row> rows
        = (db_.session().prepare
               << "SELECT p.id, t.position, p.event_types FROM "
                  "webhook_policies p JOIN webhook_targets t ON t.policy_id "
                  "= p.id WHERE p.project = :p AND p.enabled = 1 AND "
                  "t.disabled_reason = '' ORDER BY p.id, t.position",
           soci::use(project));
    for (const auto& r : rows)
      out.push_back({int_at(r, 0), int_at(r, 1), text_at(r, 2)});
    return out;
  }

  multi_row_insert insert_;
};

} // namespace

std::unique_ptr<effect_store> make_webhook_task_store(database& db) {
  return std::make_unique<webhook_task_store>(db);
}

} // namespace regevent
