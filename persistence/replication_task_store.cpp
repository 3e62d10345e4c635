#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/replication.hpp"
#include "persistence/replication_work_store.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

#include <map>
#include <string>
#include <vector>

namespace regevent {

namespace {

/// The outbox of replication: for each fresh tagged push (and delete, for
/// policies that replicate deletes) one execution per matching event-based
/// policy with its task, in the transaction that writes the event's
/// completion mark, so that a task is neither lost nor created twice.
class replication_task_store : public effect_store {
public:
  explicit replication_task_store(database& db)
      : effect_store(db, effect_kind::replication) {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    // One read of the policies per batch: pushes are few, policies fewer.
    auto policies = event_policies();
    if (policies.empty())
      return;
    auto now = now_us();
    for (const auto* p : fresh) {
      const auto& e = p->event;
      bool push = e.action == "push";
      // A push by digest alone is an index's child or an untagged
      // artifact: the tagged push that names it copies it (an index
      // brings its children), so only tagged pushes start a copy.
      if (push && e.tag.empty())
        continue;
      if (!push && e.action != "delete")
        continue;
      for (const auto& pol : policies) {
        if (!push && !pol.deletion)
          continue;
        if (!policy_selects(pol.filters, e.repository, e.tag))
          continue;
        add(pol, *p, push, now);
      }
    }
  }

private:
  std::vector<replication_policy> event_policies() {
    std::vector<replication_policy> out;
    std::map<long long, size_t> at;
    auto& sql = db_.session();
    {
      soci::rowset<soci::row> rows
          = (sql.prepare
             << "SELECT id, dest_registry_id, dest_namespace, "
                "dest_namespace_replace_count, deletion FROM "
                "replication_policies WHERE enabled = 1 AND trigger_type = "
                "'event_based' ORDER BY id");
      for (const auto& r : rows) {
        replication_policy p;
        p.id = int_at(r, 0);
        p.dest_registry_id = int_at(r, 1);
        p.dest_namespace = text_at(r, 2);
        p.dest_namespace_replace_count = int_at(r, 3);
        p.deletion = int_at(r, 4) != 0;
        at.emplace(p.id, out.size());
        out.push_back(std::move(p));
      }
    }
    if (out.empty())
      return out;
    soci::rowset<soci::row> rows
        = (sql.prepare << "SELECT policy_id, type, value FROM "
                          "replication_filters ORDER BY policy_id, position");
    for (const auto& r : rows)
      if (auto it = at.find(int_at(r, 0)); it != at.end())
        out[it->second].filters.push_back({text_at(r, 1), text_at(r, 2)});
    return out;
  }

  void add(const replication_policy& pol, const effect_input& p, bool push,
           timestamp_us now) {
    const auto& e = p.event;
    auto& sql = db_.session();
    long long policy = pol.id, seq = e.seq, at = now, execution = 0;
    std::string trigger = "event_based";
    std::string running = replication_status::in_progress;
    soci::indicator ind = soci::i_null;
    sql << "INSERT INTO replication_executions (policy_id, trigger_type, "
           "event_seq, status, start_time) VALUES (:p, :t, :e, :s, :a) ON "
           "CONFLICT (policy_id, event_seq) WHERE event_seq > 0 DO NOTHING "
           "RETURNING id",
        soci::use(policy), soci::use(trigger), soci::use(seq),
        soci::use(running), soci::use(at), soci::into(execution, ind);
    if (ind != soci::i_ok || execution == 0)
      return;
    std::string operation
        = push ? replication_operation::copy : replication_operation::deletion;
    // A delete names a tag or, for a manifest delete, only the digest.
    add_replication_task(db_, execution, pol, operation, e.repository,
                         !e.tag.empty() ? e.tag : e.digest, e.digest, now);
    settle_replication_execution(db_, execution, now);
  }
};

} // namespace

std::unique_ptr<effect_store> make_replication_task_store(database& db) {
  return std::make_unique<replication_task_store>(db);
}

} // namespace regevent
