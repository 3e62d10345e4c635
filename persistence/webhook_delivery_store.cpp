#include "persistence/webhook_delivery_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"
#include "persistence/scan_work_store.hpp"
#include "persistence/secret_box.hpp"

#include <soci/soci.h>

#include <random>
#include <utility>

namespace regevent {

namespace {

constexpr const char* execution_columns
    = "SELECT t.id, t.policy_id, t.webhook_id, t.event_type, "
      "COALESCE(g.address, ''), t.status, t.attempts, t.last_status_code, "
      "t.last_error, t.last_latency_us, t.next_attempt_at, t.created_at, "
      "t.updated_at FROM webhook_tasks t LEFT JOIN webhook_targets g ON "
      "g.policy_id = t.policy_id AND g.position = t.target_position";

webhook_execution execution_from(const soci::row& r) {
  webhook_execution x;
  x.id = int_at(r, 0);
  x.policy_id = int_at(r, 1);
  x.webhook_id = text_at(r, 2);
  x.event_type = text_at(r, 3);
  x.address = text_at(r, 4);
  x.status = text_at(r, 5);
  x.attempts = int_at(r, 6);
  x.last_status_code = int_at(r, 7);
  x.last_error = text_at(r, 8);
  x.latency_us = int_at(r, 9);
  x.next_attempt_at = int_at(r, 10);
  x.created_at = int_at(r, 11);
  x.updated_at = int_at(r, 12);
  return x;
}

} // namespace

std::vector<std::pair<int64_t, int64_t>>
subscribed_targets(database& db, const std::string& project,
                   const std::string& event_type) {
  std::vector<std::pair<int64_t, int64_t>> out;
  std::string pattern = "%," + event_type + ",%";
  soci::rowset<soci::row> rows
      = (db.session().prepare
             << "SELECT p.id, t.position FROM webhook_policies p JOIN "
                "webhook_targets t ON t.policy_id = p.id WHERE p.project = :p "
                "AND p.enabled = 1 AND t.disabled_reason = '' AND (',' || "
                "p.event_types || ',') LIKE :e ORDER BY p.id, t.position",
         soci::use(project), soci::use(pattern));
  for (const auto& r : rows)
    out.emplace_back(int_at(r, 0), int_at(r, 1));
  return out;
}

std::optional<webhook_replication>
webhook_delivery_store::replication_summary(int64_t execution,
                                            const std::string& project) {
  auto& sql = db_.session();
  long long x = execution;
  std::optional<webhook_replication> out;
  {
    soci::rowset<soci::row> rows
        = (sql.prepare << "SELECT e.status, e.trigger_type, e.start_time, "
                          "COALESCE(p.override_tags, 1), "
                          "COALESCE(p.dest_namespace, ''), COALESCE(g.name, "
                          "''), COALESCE(g.type, ''), COALESCE(g.url, '') "
                          "FROM replication_executions e LEFT JOIN "
                          "replication_policies p ON p.id = e.policy_id LEFT "
                          "JOIN registries g ON g.id = p.dest_registry_id "
                          "WHERE e.id = :x",
           soci::use(x));
    for (const auto& r : rows) {
      webhook_replication w;
      w.execution_id = execution;
      // Harbor's job status words.
      w.job_status = text_at(r, 0) == "Succeed" ? "Success" : "Error";
      w.trigger_type = text_at(r, 1) == "manual" ? "MANUAL" : "EVENT_BASED";
      w.execution_time = int_at(r, 2);
      w.override_mode = int_at(r, 3) != 0;
      w.dest_namespace = text_at(r, 4);
      w.dest_registry_name = text_at(r, 5);
      w.dest_registry_type = text_at(r, 6);
      w.dest_endpoint = text_at(r, 7);
      w.src_namespace = project;
      out = std::move(w);
    }
  }
  if (!out)
    return out;
  soci::rowset<soci::row> rows
      = (sql.prepare << "SELECT src_repository, src_reference, status, error "
                        "FROM replication_tasks WHERE execution_id = :x "
                        "ORDER BY id",
         soci::use(x));
  for (const auto& r : rows) {
    auto repository = text_at(r, 0);
    auto slash = repository.find('/');
    auto in_project = slash == std::string::npos
                          ? project == "library"
                          : repository.compare(0, slash, project) == 0;
    if (!in_project)
      continue;
    auto name_tag = repository + ":" + text_at(r, 1);
    if (text_at(r, 2) == "Succeed")
      out->succeeded.push_back(std::move(name_tag));
    else
      out->failed.emplace_back(std::move(name_tag), text_at(r, 3));
  }
  return out;
}

webhook_delivery_store::webhook_delivery_store(database& db,
                                               const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

std::vector<webhook_delivery>
webhook_delivery_store::claim(timestamp_us now, size_t limit,
                              const room_of& room, timestamp_us lease_until,
                              size_t& next_target) {
  std::vector<webhook_delivery> out;
  if (limit == 0)
    return out;
  auto& sql = db_.session();
  long long at = now, until = lease_until, n = static_cast<long long>(limit);
  // Chosen by reads, without the write lock the journal needs on SQLite:
  // target by target (an index range each), the oldest due deliveries, as
  // many as the target has room for, so that one target's backlog neither
  // fills a claim nor hides another target's deliveries.
  // Row by row: a bulk read would size its vectors for the most targets
  // there could be, on every claim.
  std::vector<long long> policies, positions;
  {
    soci::rowset<soci::row> rows
        = (sql.prepare << "SELECT policy_id, position FROM webhook_targets "
                          "ORDER BY policy_id, position");
    for (const auto& r : rows) {
      policies.push_back(int_at(r, 0));
      positions.push_back(int_at(r, 1));
    }
  }
  std::vector<long long> due;
  long long policy = 0, position = 0, room_left = 0;
  std::vector<long long> found(limit + 1);
  soci::statement oldest
      = (sql.prepare << "SELECT id FROM webhook_tasks WHERE policy_id = :p "
                        "AND target_position = :q AND status = 'pending' AND "
                        "next_attempt_at <= :n ORDER BY next_attempt_at, id "
                        "LIMIT :k",
         soci::use(policy), soci::use(position), soci::use(at),
         soci::use(room_left), soci::into(found));
  auto count = policies.size();
  for (size_t k = 0; k < count && static_cast<long long>(due.size()) < n; ++k) {
    auto i = (next_target + k) % count;
    auto room_now = static_cast<long long>(room(policies[i], positions[i]));
    room_left = std::min(room_now, n - static_cast<long long>(due.size()));
    if (room_left <= 0)
      continue;
    policy = policies[i];
    position = positions[i];
    found.resize(static_cast<size_t>(room_left) + 1);
    oldest.execute(true);
    due.insert(due.end(), found.begin(), found.end());
  }
  if (count > 0)
    next_target = (next_target + 1) % count;
  if (due.empty())
    return out;
  // Then each is taken only if it is still due: another instance sharing
  // PostgreSQL may have claimed it since (its lease moved it on).
  std::vector<long long> ids;
  ids.reserve(due.size());
  write_transaction tx(db_);
  long long candidate = 0;
  soci::statement take
      = (sql.prepare << "UPDATE webhook_tasks SET next_attempt_at = :l WHERE "
                        "id = :i AND status = 'pending' AND next_attempt_at "
                        "<= :n",
         soci::use(until), soci::use(candidate), soci::use(at));
  for (auto id : due) {
    candidate = id;
    take.execute(true);
    if (take.get_affected_rows() == 1)
      ids.push_back(id);
  }
  out.reserve(ids.size());
  soci::row r;
  long long id = 0;
  soci::statement details
      = (sql.prepare
             << "SELECT t.webhook_id, t.policy_id, t.target_position, "
                "t.event_type, t.project, t.repository, t.tag, t.digest, "
                "t.operator, t.occur_at, t.attempts, COALESCE(p.enabled, -1), "
                "COALESCE(g.address, ''), COALESCE(g.payload_format, ''), "
                "COALESCE(g.auth_header, ''), COALESCE(g.secret, ''), "
                "COALESCE(g.skip_cert_verify, 0), COALESCE(g.disabled_reason, "
                "''), COALESCE(j.id, 0), COALESCE(j.public, 0), "
                "COALESCE(r.creation_time, 0), COALESCE(g.ca_file, ''), "
                "t.retry_base, t.replication_execution, t.scan_task FROM "
                "webhook_tasks t LEFT JOIN "
                "webhook_policies p ON p.id = t.policy_id LEFT JOIN "
                "webhook_targets g ON g.policy_id = t.policy_id AND "
                "g.position = t.target_position LEFT JOIN projects j ON "
                "j.name = t.project LEFT JOIN repositories r ON r.name = "
                "t.repository WHERE t.id = :i",
         soci::use(id), soci::into(r));
  for (auto task : ids) {
    id = task;
    details.execute(true);
    webhook_delivery d;
    d.task_id = task;
    d.webhook_id = text_at(r, 0);
    d.policy_id = int_at(r, 1);
    d.position = int_at(r, 2);
    d.event_type = text_at(r, 3);
    d.project = text_at(r, 4);
    d.repository = text_at(r, 5);
    d.tag = text_at(r, 6);
    d.digest = text_at(r, 7);
    d.operator_name = text_at(r, 8);
    d.occur_at = int_at(r, 9);
    d.attempts = int_at(r, 10);
    auto enabled = int_at(r, 11);
    d.address = text_at(r, 12);
    d.payload_format = text_at(r, 13);
    auto auth = text_at(r, 14);
    auto secret = text_at(r, 15);
    d.skip_cert_verify = int_at(r, 16) != 0;
    auto disabled = text_at(r, 17);
    d.project_id = int_at(r, 18);
    d.project_public = int_at(r, 19) != 0;
    d.repository_created = int_at(r, 20);
    d.ca_file = text_at(r, 21);
    d.retry_base = int_at(r, 22);
    auto replication = int_at(r, 23);
    auto scan = int_at(r, 24);
    d.lease = until;
    if (enabled < 0 || d.address.empty()) {
      d.unusable = "the policy or its target was deleted";
    } else if (enabled == 0) {
      d.unusable = "the policy is disabled";
    } else if (!disabled.empty()) {
      d.unusable = "the target is disabled: " + disabled;
    } else {
      auto a = secrets_.open(auth, "webhook_targets.auth_header");
      auto s = secrets_.open(secret, "webhook_targets.secret");
      if (!a || !s)
        d.unusable = "a stored secret does not open with secrets.key";
      else {
        d.auth_header = std::move(*a);
        d.secret = std::move(*s);
      }
    }
    if (replication != 0 && d.unusable.empty()) {
      d.replication = replication_summary(replication, d.project);
      if (!d.replication)
        d.unusable = "replication execution " + std::to_string(replication)
                     + " no longer exists";
    }
    if (scan != 0 && d.unusable.empty()) {
      auto overview = scan_overview_of(db_, scan);
      if (!overview)
        d.unusable = "scan " + std::to_string(scan) + " no longer exists";
      else
        d.scan_overview = scan_overview_json({*overview});
    }
    out.push_back(std::move(d));
  }
  tx.commit();
  return out;
}

void webhook_delivery_store::record(
    const std::vector<webhook_outcome_record>& outcomes, timestamp_us now) {
  if (outcomes.empty())
    return;
  auto& sql = db_.session();
  write_transaction tx(db_);
  long long task = 0, attempt = 0, started = 0, code = 0, latency = 0, next = 0,
            at = now, policy = 0, position = 0, lease = 0;
  std::string error, status, reason;
  soci::statement add_attempt
      = (sql.prepare << "INSERT INTO webhook_attempts (task_id, attempt, "
                        "started_at, status_code, error, latency_us) VALUES "
                        "(:t, :a, :s, :c, :e, :l) ON CONFLICT (task_id, "
                        "attempt) DO NOTHING",
         soci::use(task), soci::use(attempt), soci::use(started),
         soci::use(code), soci::use(error), soci::use(latency));
  // Each update holds only while the task is still under this claim's
  // lease: a claim that expired may have been taken again, and its newer
  // state must not be overwritten by this older outcome.
  soci::statement attempted
      = (sql.prepare << "UPDATE webhook_tasks SET status = :s, attempts = :a, "
                        "next_attempt_at = :n, last_status_code = :c, "
                        "last_error = :e, last_latency_us = :l, updated_at = "
                        ":u WHERE id = :t AND status = 'pending' AND "
                        "next_attempt_at = :k",
         soci::use(status), soci::use(attempt), soci::use(next),
         soci::use(code), soci::use(error), soci::use(latency), soci::use(at),
         soci::use(task), soci::use(lease));
  // A delivery put off keeps its last real error for the log.
  soci::statement deferred
      = (sql.prepare << "UPDATE webhook_tasks SET status = :s, "
                        "next_attempt_at = :n, updated_at = :u WHERE id = :t "
                        "AND status = 'pending' AND next_attempt_at = :k",
         soci::use(status), soci::use(next), soci::use(at), soci::use(task),
         soci::use(lease));
  soci::statement disable
      = (sql.prepare << "UPDATE webhook_targets SET disabled_reason = :r "
                        "WHERE policy_id = :p AND position = :q AND "
                        "disabled_reason = ''",
         soci::use(reason), soci::use(policy), soci::use(position));
  for (const auto& o : outcomes) {
    task = o.task_id;
    attempt = o.attempt;
    started = o.started_at;
    code = o.status_code;
    latency = o.latency_us;
    next = o.next_attempt_at;
    error = o.error;
    status = o.status;
    lease = o.lease;
    if (o.attempted) {
      attempted.execute(true);
      // The attempt is logged only with the state it produced.
      if (attempted.get_affected_rows() == 1)
        add_attempt.execute(true);
    } else {
      deferred.execute(true);
    }
    if (!o.disable_target.empty()) {
      reason = o.disable_target;
      policy = o.policy_id;
      position = o.position;
      disable.execute(true);
    }
  }
  tx.commit();
}

std::vector<std::pair<std::string, int64_t>>
webhook_delivery_store::pending_by_target() {
  std::vector<std::pair<std::string, int64_t>> out;
  soci::rowset<soci::row> rows
      = (db_.session().prepare
         << "SELECT policy_id, target_position, COUNT(*) FROM webhook_tasks "
            "WHERE status = 'pending' GROUP BY policy_id, target_position");
  for (const auto& r : rows)
    out.emplace_back(std::to_string(int_at(r, 0)) + "/"
                         + std::to_string(int_at(r, 1)),
                     int_at(r, 2));
  return out;
}

size_t webhook_delivery_store::purge_finished(timestamp_us before,
                                              size_t limit) {
  auto& sql = db_.session();
  long long cutoff = before, n = static_cast<long long>(limit), expired = 0;
  // A read first, as in claim(): most rounds find nothing to delete.
  sql << "SELECT COUNT(*) FROM (SELECT id FROM webhook_tasks WHERE status <> "
         "'pending' AND updated_at < :b LIMIT 1) AS expired",
      soci::use(cutoff), soci::into(expired);
  if (expired == 0)
    return 0;
  std::vector<long long> ids(limit + 1);
  write_transaction tx(db_);
  sql << "DELETE FROM webhook_tasks WHERE id IN (SELECT id FROM "
         "webhook_tasks WHERE status <> 'pending' AND updated_at < :b LIMIT "
         ":n) RETURNING id",
      soci::use(cutoff), soci::use(n), soci::into(ids);
  long long id = 0;
  soci::statement attempts
      = (sql.prepare << "DELETE FROM webhook_attempts WHERE task_id = :i",
         soci::use(id));
  for (auto x : ids) {
    id = x;
    attempts.execute(true);
  }
  tx.commit();
  return ids.size();
}

webhook_lookup webhook_delivery_store::find_policy(const std::string& project,
                                                   int64_t policy_id) {
  auto& sql = db_.session();
  long long projects = 0, policies = 0, key = policy_id;
  sql << "SELECT COUNT(*) FROM projects WHERE name = :n", soci::use(project),
      soci::into(projects);
  if (projects == 0)
    return webhook_lookup::no_project;
  sql << "SELECT COUNT(*) FROM webhook_policies WHERE project = :p AND id = "
         ":i",
      soci::use(project), soci::use(key), soci::into(policies);
  return policies == 0 ? webhook_lookup::no_policy : webhook_lookup::ok;
}

webhook_lookup
webhook_delivery_store::executions(const webhook_execution_query& q,
                                   webhook_execution_page& out) {
  auto found = find_policy(q.project, q.policy_id);
  if (found != webhook_lookup::ok)
    return found;
  auto& sql = db_.session();
  long long policy = q.policy_id, total = 0;
  sql << "SELECT COUNT(*) FROM webhook_tasks WHERE policy_id = :p",
      soci::use(policy), soci::into(total);
  out.total = total;
  long long limit = q.page_size, offset = (q.page - 1) * q.page_size;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string(execution_columns)
                            + " WHERE t.policy_id = :p ORDER BY t.id DESC "
                              "LIMIT :l OFFSET :o",
         soci::use(policy), soci::use(limit), soci::use(offset));
  for (const auto& r : rows)
    out.items.push_back(execution_from(r));
  return webhook_lookup::ok;
}

bool webhook_delivery_store::load(int64_t id, webhook_execution& out) {
  auto& sql = db_.session();
  long long key = id;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string(execution_columns) + " WHERE t.id = :i",
         soci::use(key));
  bool found = false;
  for (const auto& r : rows) {
    out = execution_from(r);
    found = true;
  }
  if (!found)
    return false;
  soci::rowset<soci::row> attempts
      = (sql.prepare << "SELECT attempt, started_at, status_code, error, "
                        "latency_us FROM webhook_attempts WHERE task_id = :i "
                        "ORDER BY attempt",
         soci::use(key));
  for (const auto& r : attempts)
    out.attempt_log.push_back({int_at(r, 0), int_at(r, 1), int_at(r, 2),
                               text_at(r, 3), int_at(r, 4)});
  return true;
}

webhook_lookup
webhook_delivery_store::execution(const webhook_execution_ref& ref,
                                  webhook_execution& out) {
  auto found = find_policy(ref.project, ref.policy_id);
  if (found != webhook_lookup::ok)
    return found;
  if (!load(ref.id, out) || out.policy_id != ref.policy_id)
    return webhook_lookup::no_execution;
  return webhook_lookup::ok;
}

webhook_lookup webhook_delivery_store::retry(const webhook_execution_ref& ref,
                                             timestamp_us now,
                                             webhook_execution& out) {
  write_transaction tx(db_);
  auto found = find_policy(ref.project, ref.policy_id);
  if (found != webhook_lookup::ok)
    return found;
  long long id = ref.id, policy = ref.policy_id, at = now;
  // A retry starts a fresh budget of attempts (counted from retry_base);
  // the attempt log keeps numbering on, so the earlier attempts stay
  // visible. A delivery being sent right now (claimed: due later) is left
  // alone: sending it again at once would race its own attempt.
  soci::statement st
      = (db_.session().prepare
             << "UPDATE webhook_tasks SET status = 'pending', retry_base = "
                "attempts, next_attempt_at = :n, updated_at = :u WHERE id = "
                ":i AND policy_id = :p AND (status <> 'pending' OR "
                "next_attempt_at <= :n2)",
         soci::use(at), soci::use(at), soci::use(id), soci::use(policy),
         soci::use(at));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    webhook_execution existing;
    if (load(ref.id, existing) && existing.policy_id == ref.policy_id)
      return webhook_lookup::busy;
    return webhook_lookup::no_execution;
  }
  load(ref.id, out);
  tx.commit();
  return webhook_lookup::ok;
}

webhook_lookup webhook_delivery_store::queue_test(const std::string& project,
                                                  int64_t policy_id,
                                                  timestamp_us now,
                                                  webhook_execution& out) {
  write_transaction tx(db_);
  auto found = find_policy(project, policy_id);
  if (found != webhook_lookup::ok)
    return found;
  auto& sql = db_.session();
  long long policy = policy_id, at = now;
  std::vector<long long> positions(64);
  sql << "SELECT position FROM webhook_targets WHERE policy_id = :p ORDER BY "
         "position",
      soci::use(policy), soci::into(positions);
  std::random_device rd;
  auto nonce = std::to_string(rd()) + std::to_string(rd());
  long long first = 0;
  for (auto position : positions) {
    auto webhook_id = "test_" + std::to_string(policy_id) + "_"
                      + std::to_string(position) + "_" + std::to_string(now)
                      + "_" + nonce;
    std::string type = "PUSH_ARTIFACT", repo = project + "/regevent-test",
                tag = "test", digest = "sha256:" + std::string(64, '0'),
                op = "regevent";
    long long pos = position, seq = 0;
    sql << "INSERT INTO webhook_tasks (webhook_id, event_seq, policy_id, "
           "target_position, event_type, project, repository, tag, digest, "
           "operator, occur_at, next_attempt_at, created_at, updated_at) "
           "VALUES (:w, :s, :p, :q, :t, :j, :r, :g, :d, :o, :a, :n, :c, :u)",
        soci::use(webhook_id), soci::use(seq), soci::use(policy),
        soci::use(pos), soci::use(type), soci::use(project), soci::use(repo),
        soci::use(tag), soci::use(digest), soci::use(op), soci::use(at),
        soci::use(at), soci::use(at), soci::use(at);
    if (first == 0)
      sql << "SELECT id FROM webhook_tasks WHERE webhook_id = :w",
          soci::use(webhook_id), soci::into(first);
  }
  if (first != 0)
    load(first, out);
  tx.commit();
  return webhook_lookup::ok;
}

} // namespace regevent
