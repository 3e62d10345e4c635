#include "persistence/replication_work_store.hpp"

#include "persistence/catalog.hpp"
#include "persistence/database.hpp"
#include "persistence/replication_store.hpp"
#include "persistence/rows.hpp"
#include "persistence/webhook_delivery_store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

namespace regevent {

namespace {

constexpr const char* unfinished_states = "('Pending', 'InProgress')";

std::string resource(const std::string& repository,
                     const std::string& reference) {
  if (reference.rfind("sha256:", 0) == 0)
    return repository + "@" + reference;
  return repository + ":" + reference;
}

constexpr const char* execution_columns
    = "SELECT e.id, e.policy_id, e.trigger_type, e.status, e.status_text, "
      "e.start_time, e.end_time, (SELECT COUNT(*) FROM replication_tasks t "
      "WHERE t.execution_id = e.id), (SELECT COUNT(*) FROM "
      "replication_tasks t WHERE t.execution_id = e.id AND t.status = "
      "'Failed'), (SELECT COUNT(*) FROM replication_tasks t WHERE "
      "t.execution_id = e.id AND t.status = 'Succeed'), (SELECT COUNT(*) "
      "FROM replication_tasks t WHERE t.execution_id = e.id AND t.status = "
      "'Stopped') FROM replication_executions e";

replication_execution execution_from(const soci::row& r) {
  replication_execution x;
  x.id = int_at(r, 0);
  x.policy_id = int_at(r, 1);
  x.trigger = text_at(r, 2);
  x.status = text_at(r, 3);
  x.status_text = text_at(r, 4);
  x.start_time = int_at(r, 5);
  x.end_time = int_at(r, 6);
  x.total = int_at(r, 7);
  x.failed = int_at(r, 8);
  x.succeed = int_at(r, 9);
  x.stopped = int_at(r, 10);
  x.in_progress = x.total - x.failed - x.succeed - x.stopped;
  return x;
}

/// Writes, in the open transaction, one REPLICATION delivery per target of
/// each enabled webhook policy subscribed to it in a project the ended
/// execution copied from (the transactional outbox again: an execution's
/// end is published exactly once, or not at all when the end rolls back).
void queue_replication_webhooks(database& db, int64_t execution,
                                timestamp_us now) {
  auto& sql = db.session();
  long long x = execution, at = now;
  std::map<std::string, std::string> projects; // project -> a repository
  {
    soci::rowset<soci::row> rows
        = (sql.prepare << "SELECT src_repository FROM replication_tasks "
                          "WHERE execution_id = :x ORDER BY id",
           soci::use(x));
    for (const auto& r : rows) {
      auto repository = text_at(r, 0);
      projects.emplace(project_of_repository(repository), repository);
    }
  }
  std::string trigger;
  sql << "SELECT trigger_type FROM replication_executions WHERE id = :x",
      soci::use(x), soci::into(trigger);
  for (const auto& [project, repository] : projects) {
    auto targets = subscribed_targets(db, project, "REPLICATION");
    for (const auto& [policy, position] : targets) {
      // Stable per execution, project and target: a receiver drops a
      // second delivery of it.
      auto id = "msg_replication_" + std::to_string(execution) + "_"
                + project + "_" + std::to_string(policy) + "_"
                + std::to_string(position);
      long long p = policy, q = position;
      sql << "INSERT INTO webhook_tasks (webhook_id, event_seq, policy_id, "
             "target_position, event_type, project, repository, operator, "
             "occur_at, next_attempt_at, created_at, updated_at, "
             "replication_execution) VALUES (:w, 0, :p, :q, 'REPLICATION', "
             ":j, :r, :o, :a, :n, :c, :u, :x) ON CONFLICT (webhook_id) DO "
             "NOTHING",
          soci::use(id), soci::use(p), soci::use(q), soci::use(project),
          soci::use(repository), soci::use(trigger), soci::use(at),
          soci::use(at), soci::use(at), soci::use(at), soci::use(x);
    }
  }
}

} // namespace

void add_replication_task(database& db, int64_t execution,
                          const replication_policy& policy,
                          const std::string& operation,
                          const std::string& repository,
                          const std::string& reference,
                          const std::string& digest, timestamp_us now) {
  auto dst = destination_repository(repository, policy.dest_namespace,
                                    policy.dest_namespace_replace_count);
  // Empty when the policy cannot rename it: a re-run fails it again with
  // the reason instead of copying it anywhere else.
  std::string dst_repository = dst ? *dst : std::string();
  std::string key
      = std::to_string(policy.dest_registry_id) + "/" + dst_repository;
  std::string status = replication_status::pending;
  std::string error;
  long long end = 0, at = now, x = execution, p = policy.id,
            registry = policy.dest_registry_id;
  if (!dst) {
    status = replication_status::failed;
    error = "the repository " + repository
            + " has fewer components before its last than "
              "dest_namespace_replace_count ("
            + std::to_string(policy.dest_namespace_replace_count) + ")";
    end = now;
  }
  db.session() << "INSERT INTO replication_tasks (execution_id, policy_id, "
                  "operation, repo_key, src_repository, src_reference, "
                  "digest, dest_registry_id, dst_repository, dst_reference, "
                  "status, next_attempt_at, error, end_time, created_at, "
                  "updated_at) VALUES (:x, :p, :o, :k, :r, :f, :d, :g, :y, "
                  ":z, :s, :n, :e, :t, :c, :u)",
      soci::use(x), soci::use(p), soci::use(operation), soci::use(key),
      soci::use(repository), soci::use(reference), soci::use(digest),
      soci::use(registry), soci::use(dst_repository), soci::use(reference),
      soci::use(status), soci::use(at), soci::use(error), soci::use(end),
      soci::use(at), soci::use(at);
}

void settle_replication_execution(database& db, int64_t id, timestamp_us now) {
  auto& sql = db.session();
  long long x = id, open = 0, failed = 0, listing = 0, at = now;
  sql << "SELECT listing FROM replication_executions WHERE id = :x",
      soci::use(x), soci::into(listing);
  if (listing != 0)
    return;
  sql << std::string("SELECT COUNT(*) FROM replication_tasks WHERE "
                     "execution_id = :x AND status IN ")
             + unfinished_states,
      soci::use(x), soci::into(open);
  if (open > 0)
    return;
  sql << "SELECT COUNT(*) FROM replication_tasks WHERE execution_id = :x AND "
         "status = 'Failed'",
      soci::use(x), soci::into(failed);
  std::string status
      = failed > 0 ? replication_status::failed : replication_status::succeed;
  std::string text = failed > 0 ? std::to_string(failed) + " task(s) failed"
                                : std::string();
  soci::statement end
      = (sql.prepare << "UPDATE replication_executions SET status = :s, "
                        "status_text = CASE WHEN status_text = '' THEN :t "
                        "ELSE status_text END, end_time = :e WHERE id = :x "
                        "AND status = 'InProgress'",
         soci::use(status), soci::use(text), soci::use(at), soci::use(x));
  end.execute(true);
  if (end.get_affected_rows() == 1)
    queue_replication_webhooks(db, id, now);
}

replication_work_store::replication_work_store(database& db,
                                               const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

std::vector<replication_job>
replication_work_store::claim(timestamp_us now, size_t limit,
                              timestamp_us lease_until) {
  std::vector<replication_job> out;
  if (limit == 0)
    return out;
  auto& sql = db_.session();
  long long at = now, until = lease_until, n = static_cast<long long>(limit);
  // Chosen by a read first: the oldest due task of each repository whose
  // older tasks are all finished. A repository's task in flight holds a
  // lease in the future, so that nothing behind it is due; a task stopped
  // while in flight keeps its lease, and until it expires nothing of its
  // repository starts: the stopped copy's manifest could otherwise land
  // after a newer one.
  std::vector<long long> due;
  {
    soci::rowset<soci::row> rows
        = (sql.prepare << std::string("SELECT t.id FROM replication_tasks t "
                                      "WHERE t.status IN ")
                              + unfinished_states
                              + " AND t.next_attempt_at <= :n AND NOT "
                                "EXISTS (SELECT 1 FROM replication_tasks o "
                                "WHERE o.repo_key = t.repo_key AND o.status "
                                "IN "
                              + unfinished_states
                              + " AND o.id < t.id) AND NOT EXISTS (SELECT 1 "
                                "FROM replication_tasks s WHERE s.repo_key = "
                                "t.repo_key AND s.status = 'Stopped' AND "
                                "s.next_attempt_at > :n2) ORDER BY "
                                "t.next_attempt_at, t.id LIMIT :k",
           soci::use(at), soci::use(at), soci::use(n));
    for (const auto& r : rows)
      due.push_back(int_at(r, 0));
  }
  if (due.empty())
    return out;
  write_transaction tx(db_);
  long long candidate = 0;
  // Taken only if still due: another instance may have claimed it since.
  soci::statement take
      = (sql.prepare << std::string("UPDATE replication_tasks SET status = "
                                    "'InProgress', next_attempt_at = :l, "
                                    "updated_at = :u WHERE id = :i AND "
                                    "status IN ")
                            + unfinished_states + " AND next_attempt_at <= :n",
         soci::use(until), soci::use(at), soci::use(candidate), soci::use(at));
  std::vector<long long> ids;
  for (auto id : due) {
    candidate = id;
    take.execute(true);
    if (take.get_affected_rows() == 1)
      ids.push_back(id);
  }
  soci::row r;
  long long id = 0;
  soci::statement details
      = (sql.prepare << "SELECT t.execution_id, t.policy_id, t.operation, "
                        "t.src_repository, t.src_reference, t.digest, "
                        "t.dst_repository, t.dst_reference, t.attempts, "
                        "t.retry_base, t.dest_registry_id, "
                        "COALESCE(p.enabled, -1), COALESCE(p.override_tags, "
                        "1), COALESCE(p.speed_kib, 0) FROM replication_tasks "
                        "t LEFT JOIN replication_policies p ON p.id = "
                        "t.policy_id WHERE t.id = :i",
         soci::use(id), soci::into(r));
  replication_store registries(db_, secrets_);
  for (auto task : ids) {
    id = task;
    details.execute(true);
    replication_job j;
    j.task_id = task;
    j.execution_id = int_at(r, 0);
    j.policy_id = int_at(r, 1);
    j.operation = text_at(r, 2);
    j.src_repository = text_at(r, 3);
    j.src_reference = text_at(r, 4);
    j.digest = text_at(r, 5);
    j.dst_repository = text_at(r, 6);
    j.dst_reference = text_at(r, 7);
    j.attempts = int_at(r, 8);
    j.retry_base = int_at(r, 9);
    auto registry = int_at(r, 10);
    auto enabled = int_at(r, 11);
    j.override_tags = int_at(r, 12) != 0;
    j.speed_kib = int_at(r, 13);
    j.lease = until;
    if (j.dst_repository.empty()) {
      j.unusable = "the policy's dest_namespace_replace_count does not fit "
                   "the repository "
                   + j.src_repository;
    } else if (enabled < 0) {
      j.unusable = "the policy was deleted";
    } else if (enabled == 0) {
      j.unusable = "the policy is disabled";
    } else {
      try {
        auto dest = registries.with_secret(registry);
        if (!dest)
          j.unusable = "the destination registry was deleted";
        else
          j.destination = std::move(*dest);
      } catch (const std::runtime_error& e) {
        // Sealed under another key: no attempt can succeed until the key
        // is back, and the worker must not see a half-opened record.
        j.unusable = e.what();
      }
    }
    out.push_back(std::move(j));
  }
  tx.commit();
  return out;
}

std::vector<int64_t> replication_work_store::renew(
    const std::vector<std::pair<int64_t, timestamp_us>>& held,
    timestamp_us lease_until) {
  std::vector<int64_t> out;
  if (held.empty())
    return out;
  auto& sql = db_.session();
  long long until = lease_until, task = 0, lease = 0;
  write_transaction tx(db_);
  soci::statement move
      = (sql.prepare << "UPDATE replication_tasks SET next_attempt_at = :l "
                        "WHERE id = :i AND status = 'InProgress' AND "
                        "next_attempt_at = :k",
         soci::use(until), soci::use(task), soci::use(lease));
  for (const auto& [id, at] : held) {
    task = id;
    lease = at;
    move.execute(true);
    if (move.get_affected_rows() == 1)
      out.push_back(id);
  }
  tx.commit();
  return out;
}

void replication_work_store::record(
    const std::vector<replication_outcome_record>& outcomes,
    timestamp_us now) {
  if (outcomes.empty())
    return;
  auto& sql = db_.session();
  write_transaction tx(db_);
  long long task = 0, lease = 0, next = 0, bytes = 0, started = 0, ended = 0,
            at = now;
  std::string status, error, skipped, digest;
  // Each update holds only under the claim's lease: a claim that expired
  // may have been taken again, and its newer state must not be overwritten.
  soci::statement attempted
      = (sql.prepare << "UPDATE replication_tasks SET status = :s, attempts "
                        "= attempts + 1, next_attempt_at = :n, bytes_copied "
                        "= bytes_copied + :b, error = :e, skipped = :k, "
                        "digest = CASE WHEN :d = '' THEN digest ELSE :d2 "
                        "END, start_time = CASE WHEN start_time = 0 THEN :st "
                        "ELSE start_time END, end_time = :en, updated_at = "
                        ":u WHERE id = :t AND status = 'InProgress' AND "
                        "next_attempt_at = :l",
         soci::use(status), soci::use(next), soci::use(bytes),
         soci::use(error), soci::use(skipped), soci::use(digest),
         soci::use(digest), soci::use(started), soci::use(ended),
         soci::use(at), soci::use(task), soci::use(lease));
  soci::statement given_back
      = (sql.prepare << "UPDATE replication_tasks SET status = 'Pending', "
                        "next_attempt_at = :n, updated_at = :u WHERE id = :t "
                        "AND status = 'InProgress' AND next_attempt_at = :l",
         soci::use(next), soci::use(at), soci::use(task), soci::use(lease));
  std::vector<int64_t> finished;
  for (const auto& o : outcomes) {
    task = o.task_id;
    lease = o.lease;
    next = o.next_attempt_at;
    if (!o.attempted) {
      given_back.execute(true);
      continue;
    }
    status = o.status;
    error = o.error;
    skipped = o.skipped;
    digest = o.digest;
    bytes = o.bytes_copied;
    started = o.started_at;
    ended = status == replication_status::pending ? 0 : now;
    attempted.execute(true);
    if (attempted.get_affected_rows() == 1
        && status != replication_status::pending)
      finished.push_back(o.execution_id);
  }
  std::sort(finished.begin(), finished.end());
  finished.erase(std::unique(finished.begin(), finished.end()),
                 finished.end());
  for (auto x : finished)
    settle_replication_execution(db_, x, now);
  tx.commit();
}

std::optional<replication_listing>
replication_work_store::claim_listing(timestamp_us now,
                                      timestamp_us lease_until) {
  auto& sql = db_.session();
  long long at = now, until = lease_until, id = 0, policy = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT id, policy_id FROM replication_executions WHERE listing = 1 "
         "AND next_attempt_at <= :n ORDER BY next_attempt_at, id LIMIT 1",
      soci::use(at), soci::into(id, ind), soci::into(policy);
  if (ind != soci::i_ok)
    return std::nullopt;
  write_transaction tx(db_);
  soci::statement take
      = (sql.prepare << "UPDATE replication_executions SET next_attempt_at = "
                        ":l WHERE id = :i AND listing = 1 AND "
                        "next_attempt_at <= :n",
         soci::use(until), soci::use(id), soci::use(at));
  take.execute(true);
  if (take.get_affected_rows() != 1)
    return std::nullopt;
  replication_listing out;
  out.execution_id = id;
  out.lease = until;
  replication_store policies(db_, secrets_);
  auto p = policies.policy(policy);
  if (p)
    out.policy = std::move(*p);
  else
    out.policy.id = policy;
  tx.commit();
  return out;
}

void replication_work_store::record_listing(
    const replication_listing& listing,
    const std::vector<replication_listed>& found, const std::string& error,
    timestamp_us now) {
  auto& sql = db_.session();
  long long id = listing.execution_id, lease = listing.lease, at = now;
  write_transaction tx(db_);
  soci::statement done
      = (sql.prepare << "UPDATE replication_executions SET listing = 0 "
                        "WHERE id = :i AND listing = 1 AND next_attempt_at = "
                        ":l",
         soci::use(id), soci::use(lease));
  done.execute(true);
  if (done.get_affected_rows() != 1)
    return;
  if (!error.empty()) {
    std::string text = "listing the source failed: " + error;
    sql << "UPDATE replication_executions SET status = 'Failed', "
           "status_text = :t, end_time = :e WHERE id = :i",
        soci::use(text), soci::use(at), soci::use(id);
    tx.commit();
    return;
  }
  for (const auto& f : found)
    add_replication_task(db_, id, listing.policy, replication_operation::copy,
                         f.src_repository, f.tag, "", now);
  if (found.empty())
    sql << "UPDATE replication_executions SET status_text = 'no artifact "
           "matched the filters' WHERE id = :i",
        soci::use(id);
  settle_replication_execution(db_, id, now);
  tx.commit();
}

int64_t replication_work_store::unfinished() {
  long long n = 0;
  db_.session() << std::string("SELECT COUNT(*) FROM replication_tasks WHERE "
                               "status IN ")
                       + unfinished_states,
      soci::into(n);
  return n;
}

replication_execution_page
replication_work_store::executions(const replication_execution_query& q) {
  replication_execution_page out;
  auto& sql = db_.session();
  long long policy = q.policy_id, limit = q.page_size,
            offset = (q.page - 1) * q.page_size;
  std::string where = policy > 0 ? " WHERE e.policy_id = :p" : "";
  if (policy > 0)
    sql << "SELECT COUNT(*) FROM replication_executions e" + where,
        soci::use(policy), soci::into(out.total);
  else
    sql << "SELECT COUNT(*) FROM replication_executions e",
        soci::into(out.total);
  std::string query = std::string(execution_columns) + where
                      + " ORDER BY e.id DESC LIMIT :k OFFSET :o";
  auto rows = policy > 0
                  ? soci::rowset<soci::row>(
                      (sql.prepare << query, soci::use(policy),
                       soci::use(limit), soci::use(offset)))
                  : soci::rowset<soci::row>((sql.prepare << query,
                                             soci::use(limit),
                                             soci::use(offset)));
  for (const auto& r : rows)
    out.items.push_back(execution_from(r));
  return out;
}

std::optional<replication_execution> replication_work_store::load(int64_t id) {
  long long key = id;
  std::optional<replication_execution> out;
  soci::rowset<soci::row> rows
      = (db_.session().prepare
             << std::string(execution_columns) + " WHERE e.id = :i",
         soci::use(key));
  for (const auto& r : rows)
    out = execution_from(r);
  return out;
}

replication_lookup replication_work_store::answered(int64_t id,
                                                   replication_execution& out) {
  auto found = load(id);
  // Purged meanwhile (PostgreSQL: between the write and this read).
  if (!found)
    return replication_lookup::no_execution;
  out = std::move(*found);
  return replication_lookup::ok;
}

std::optional<replication_execution>
replication_work_store::execution(int64_t id) {
  return load(id);
}

std::optional<replication_task_list>
replication_work_store::tasks(int64_t execution_id) {
  if (!load(execution_id))
    return std::nullopt;
  replication_task_list out;
  long long key = execution_id;
  soci::rowset<soci::row> rows
      = (db_.session().prepare
             << "SELECT id, execution_id, policy_id, operation, "
                "src_repository, src_reference, dst_repository, "
                "dst_reference, status, attempts, bytes_copied, error, "
                "skipped, start_time, end_time, next_attempt_at FROM "
                "replication_tasks WHERE execution_id = :x ORDER BY id",
         soci::use(key));
  for (const auto& r : rows) {
    replication_task t;
    t.id = int_at(r, 0);
    t.execution_id = int_at(r, 1);
    t.policy_id = int_at(r, 2);
    t.operation = text_at(r, 3);
    t.src_resource = resource(text_at(r, 4), text_at(r, 5));
    t.dst_resource = resource(text_at(r, 6), text_at(r, 7));
    t.status = text_at(r, 8);
    t.attempts = int_at(r, 9);
    t.bytes_copied = int_at(r, 10);
    t.error = text_at(r, 11);
    t.skipped = text_at(r, 12);
    t.start_time = int_at(r, 13);
    t.end_time = int_at(r, 14);
    t.next_attempt_at = t.status == replication_status::pending
                            ? int_at(r, 15)
                            : 0;
    out.items.push_back(std::move(t));
  }
  return out;
}

replication_lookup
replication_work_store::start_manual(int64_t policy_id, timestamp_us now,
                                     replication_execution& out) {
  auto& sql = db_.session();
  long long policy = policy_id, enabled = -1, at = now, id = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT enabled FROM replication_policies WHERE id = :p",
      soci::use(policy), soci::into(enabled, ind);
  if (ind != soci::i_ok)
    return replication_lookup::no_policy;
  if (enabled == 0)
    return replication_lookup::disabled;
  write_transaction tx(db_);
  sql << "INSERT INTO replication_executions (policy_id, trigger_type, "
         "status, listing, next_attempt_at, start_time) VALUES (:p, "
         "'manual', 'InProgress', 1, :n, :s) RETURNING id",
      soci::use(policy), soci::use(at), soci::use(at), soci::into(id);
  tx.commit();
  return answered(id, out);
}

replication_lookup replication_work_store::retry(int64_t execution_id,
                                                 timestamp_us now,
                                                 replication_execution& out) {
  auto found = load(execution_id);
  if (!found)
    return replication_lookup::no_execution;
  if (found->status != replication_status::failed
      && found->status != replication_status::stopped)
    return replication_lookup::not_failed;
  auto& sql = db_.session();
  long long id = execution_id, at = now;
  write_transaction tx(db_);
  // A listing that failed or was stopped is listed again; failed and
  // stopped tasks run again, each with its retry budget counted from here.
  sql << "UPDATE replication_executions SET status = 'InProgress', "
         "status_text = '', end_time = 0, listing = CASE WHEN trigger_type = "
         "'manual' AND (SELECT COUNT(*) FROM replication_tasks t WHERE "
         "t.execution_id = :x1) = 0 THEN 1 ELSE 0 END, next_attempt_at = :n "
         "WHERE id = :x2 AND status IN ('Failed', 'Stopped')",
      soci::use(id), soci::use(at), soci::use(id);
  // A task stopped in flight is due only once its lease has expired: its
  // copy may still be running until then.
  sql << "UPDATE replication_tasks SET status = 'Pending', retry_base = "
         "attempts, next_attempt_at = CASE WHEN status = 'Stopped' AND "
         "next_attempt_at > :n1 THEN next_attempt_at ELSE :n2 END, error = "
         "'', end_time = 0, updated_at = :u WHERE execution_id = :x AND "
         "status IN ('Failed', 'Stopped')",
      soci::use(at), soci::use(at), soci::use(at), soci::use(id);
  tx.commit();
  return answered(execution_id, out);
}

replication_lookup replication_work_store::stop(int64_t execution_id,
                                                timestamp_us now,
                                                replication_execution& out) {
  auto& sql = db_.session();
  long long id = execution_id, at = now;
  write_transaction tx(db_);
  // Every unfinished task ends, the one being copied too: its lease no
  // longer matches a task in progress, so the worker's renewal (at once
  // on this instance, see actor_runtime::stop_replication_execution)
  // cancels the copy, and its outcome is refused. A task in flight keeps
  // its lease, which holds its repository until the copy has let go (see
  // claim()); the others keep none. Tasks before the execution, in the
  // order record() locks them: two writers never wait on each other.
  sql << std::string("UPDATE replication_tasks SET status = 'Stopped', "
                     "next_attempt_at = CASE WHEN status = 'InProgress' THEN "
                     "next_attempt_at ELSE 0 END, end_time = :e, updated_at "
                     "= :u WHERE execution_id = :x AND status IN ")
             + unfinished_states
             + " AND EXISTS (SELECT 1 FROM replication_executions e WHERE "
               "e.id = :x2 AND e.status = 'InProgress')",
      soci::use(at), soci::use(at), soci::use(id), soci::use(id);
  sql << "UPDATE replication_executions SET status = 'Stopped', status_text "
         "= 'stopped by request', listing = 0, end_time = :e WHERE id = :x "
         "AND status = 'InProgress'",
      soci::use(at), soci::use(id);
  tx.commit();
  return answered(execution_id, out);
}

void replication_work_store::release_stopped(int64_t task_id,
                                             timestamp_us lease,
                                             timestamp_us now) {
  long long id = task_id, l = lease, at = now;
  write_transaction tx(db_);
  db_.session() << "UPDATE replication_tasks SET next_attempt_at = CASE WHEN "
                   "status = 'Stopped' THEN 0 ELSE :n END WHERE id = :i AND "
                   "next_attempt_at = :l AND status IN ('Stopped', 'Pending')",
      soci::use(at), soci::use(id), soci::use(l);
  tx.commit();
}

size_t replication_work_store::purge_finished(timestamp_us before,
                                              size_t limit) {
  auto& sql = db_.session();
  long long cutoff = before, n = static_cast<long long>(limit), expired = 0;
  // An execution a REPLICATION delivery has yet to read stays until it is
  // sent (the delivery renders the execution when it goes out).
  const std::string expired_ids
      = "SELECT e.id FROM replication_executions e WHERE e.end_time > 0 AND "
        "e.end_time < :b AND e.status <> 'InProgress' AND NOT EXISTS "
        "(SELECT 1 FROM webhook_tasks w WHERE w.replication_execution = e.id "
        "AND w.replication_execution > 0 AND w.status = 'pending') LIMIT :n";
  // A read first: most rounds find nothing to delete.
  sql << "SELECT COUNT(*) FROM (" + expired_ids + ") AS expired",
      soci::use(cutoff), soci::use(n), soci::into(expired);
  if (expired == 0)
    return 0;
  std::vector<long long> ids(limit + 1);
  write_transaction tx(db_);
  // The conditions again on the row deleted: on PostgreSQL a re-run that
  // committed after the subquery read must keep its execution.
  sql << "DELETE FROM replication_executions WHERE id IN (" + expired_ids
             + ") AND end_time > 0 AND status <> 'InProgress' RETURNING id",
      soci::use(cutoff), soci::use(n), soci::into(ids);
  long long id = 0;
  soci::statement tasks
      = (sql.prepare << "DELETE FROM replication_tasks WHERE execution_id = :x",
         soci::use(id));
  for (auto x : ids) {
    id = x;
    tasks.execute(true);
  }
  tx.commit();
  return ids.size();
}

} // namespace regevent
