#include "persistence/webhook_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"
#include "persistence/secret_box.hpp"

#include <soci/soci.h>

#include <utility>

namespace regevent {

namespace {

constexpr const char* policy_columns
    = "SELECT id, project, name, description, enabled, event_types, "
      "creation_time, update_time FROM webhook_policies";

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : ",") + w;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

webhook_policy policy_from(const soci::row& r) {
  webhook_policy p;
  p.id = int_at(r, 0);
  p.project = text_at(r, 1);
  p.name = text_at(r, 2);
  p.description = text_at(r, 3);
  p.enabled = int_at(r, 4) != 0;
  p.event_types = split(text_at(r, 5));
  p.creation_time = int_at(r, 6);
  p.update_time = int_at(r, 7);
  return p;
}

} // namespace

webhook_store::webhook_store(database& db, const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

bool webhook_store::project_exists(const std::string& project) {
  long long n = 0;
  db_.session() << "SELECT COUNT(*) FROM projects WHERE name = :n",
      soci::use(project), soci::into(n);
  return n > 0;
}

std::vector<webhook_target> webhook_store::targets_of(int64_t policy_id) {
  std::vector<webhook_target> out;
  long long id = policy_id;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
             << "SELECT type, address, auth_header, secret, skip_cert_verify, "
                "payload_format, disabled_reason, ca_file FROM webhook_targets "
                "WHERE "
                "policy_id = :p ORDER BY position",
         soci::use(id));
  for (const auto& r : rs) {
    webhook_target t;
    t.type = text_at(r, 0);
    t.address = text_at(r, 1);
    t.has_auth_header = !text_at(r, 2).empty();
    t.has_secret = !text_at(r, 3).empty();
    t.skip_cert_verify = int_at(r, 4) != 0;
    t.payload_format = text_at(r, 5);
    t.disabled_reason = text_at(r, 6);
    t.ca_file = text_at(r, 7);
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<webhook_policy_list>
webhook_store::list(const std::string& project) {
  if (!project_exists(project))
    return std::nullopt;
  webhook_policy_list out;
  {
    soci::rowset<soci::row> rs
        = (db_.session().prepare << std::string(policy_columns)
                                        + " WHERE project = :p ORDER BY id",
           soci::use(project));
    for (const auto& r : rs)
      out.items.push_back(policy_from(r));
  }
  for (auto& p : out.items)
    p.targets = targets_of(p.id);
  return out;
}

std::optional<webhook_policy> webhook_store::find(const std::string& project,
                                                  int64_t id) {
  long long key = id;
  std::optional<webhook_policy> out;
  {
    soci::rowset<soci::row> rs
        = (db_.session().prepare << std::string(policy_columns)
                                        + " WHERE project = :p AND id = :i",
           soci::use(project), soci::use(key));
    for (const auto& r : rs)
      out = policy_from(r);
  }
  if (out)
    out->targets = targets_of(out->id);
  return out;
}

void webhook_store::fail_orphaned_deliveries(int64_t policy_id,
                                             size_t from_position,
                                             const std::string& why) {
  long long key = policy_id, from = static_cast<long long>(from_position),
            now = now_us();
  db_.session() << "UPDATE webhook_tasks SET status = 'failed', last_error = "
                   ":w, updated_at = :u WHERE policy_id = :p AND "
                   "target_position >= :f AND status = 'pending'",
      soci::use(why), soci::use(now), soci::use(key), soci::use(from);
}

void webhook_store::write_targets(
    int64_t policy_id, const webhook_policy_spec& spec,
    const std::vector<std::pair<std::string, std::string>>& kept) {
  auto& sql = db_.session();
  long long id = policy_id;
  sql << "DELETE FROM webhook_targets WHERE policy_id = :p", soci::use(id);
  for (size_t i = 0; i < spec.targets.size(); ++i) {
    const auto& t = spec.targets[i];
    // Left out of the request: what was stored stays.
    auto auth = t.has_auth_header ? secrets_.seal(t.auth_header,
                                                  "webhook_targets.auth_header")
                : i < kept.size() ? kept[i].first
                                  : std::string();
    auto secret = t.has_secret
                      ? secrets_.seal(t.secret, "webhook_targets.secret")
                  : i < kept.size() ? kept[i].second
                                    : std::string();
    long long position = static_cast<long long>(i);
    int skip = t.skip_cert_verify ? 1 : 0;
    sql << "INSERT INTO webhook_targets (policy_id, position, type, address, "
           "auth_header, secret, skip_cert_verify, payload_format, ca_file) "
           "VALUES (:p, :i, :t, :a, :h, :s, :k, :f, :c)",
        soci::use(id), soci::use(position), soci::use(t.type),
        soci::use(t.address), soci::use(auth), soci::use(secret),
        soci::use(skip), soci::use(t.payload_format), soci::use(t.ca_file);
  }
}

webhook_write webhook_store::create(const webhook_policy_spec& spec,
                                    timestamp_us now) {
  webhook_write out;
  write_transaction tx(db_);
  if (!project_exists(spec.project)) {
    out.outcome = webhook_outcome::no_project;
    return out;
  }
  auto& sql = db_.session();
  long long t = now;
  int enabled = spec.enabled ? 1 : 0;
  auto types = join(spec.event_types);
  soci::statement st
      = (sql.prepare << "INSERT INTO webhook_policies (project, name, "
                        "description, enabled, event_types, creation_time, "
                        "update_time) VALUES (:p, :n, :d, :e, :t, :c, :u) ON "
                        "CONFLICT (project, name) DO NOTHING",
         soci::use(spec.project), soci::use(spec.name),
         soci::use(spec.description), soci::use(enabled), soci::use(types),
         soci::use(t), soci::use(t));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    out.outcome = webhook_outcome::name_taken;
    return out;
  }
  long long id = 0;
  sql << "SELECT id FROM webhook_policies WHERE project = :p AND name = :n",
      soci::use(spec.project), soci::use(spec.name), soci::into(id);
  write_targets(id, spec, {});
  // Read back before the commit: what is answered is what was written.
  auto written = find(spec.project, id);
  tx.commit();
  out.policy = std::move(*written);
  return out;
}

webhook_write webhook_store::update(int64_t id, const webhook_policy_spec& spec,
                                    timestamp_us now) {
  webhook_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long key = id, t = now, taken = 0, locked = 0;
  // Locked on PostgreSQL (SQLite's BEGIN IMMEDIATE already holds the one
  // write lock), so that a DELETE cannot slip between this check and the
  // writes below and leave targets without their policy.
  sql << std::string("SELECT COUNT(*) FROM (SELECT id FROM webhook_policies "
                     "WHERE project = :p AND id = :i")
             + (db_.is_sqlite() ? "" : " FOR UPDATE") + ") AS policy",
      soci::use(spec.project), soci::use(key), soci::into(locked);
  if (locked == 0) {
    out.outcome = webhook_outcome::no_policy;
    return out;
  }
  sql << "SELECT COUNT(*) FROM webhook_policies WHERE project = :p AND name "
         "= :n AND id <> :i",
      soci::use(spec.project), soci::use(spec.name), soci::use(key),
      soci::into(taken);
  if (taken > 0) {
    out.outcome = webhook_outcome::name_taken;
    return out;
  }
  // The sealed values of targets that keep their place and address.
  std::vector<std::pair<std::string, std::string>> kept;
  {
    soci::rowset<soci::row> rs
        = (sql.prepare << "SELECT position, address, auth_header, secret, "
                          "skip_cert_verify FROM webhook_targets WHERE "
                          "policy_id = :p ORDER BY position",
           soci::use(key));
    for (const auto& r : rs) {
      auto position = static_cast<size_t>(int_at(r, 0));
      // A secret is kept for the receiver it was given for: same place,
      // same address, and not newly sent without verifying the
      // certificate (which would hand it to whoever answers).
      if (position >= spec.targets.size()
          || spec.targets[position].address != text_at(r, 1)
          || (spec.targets[position].skip_cert_verify && int_at(r, 4) == 0))
        continue;
      kept.resize(position + 1);
      kept[position] = {text_at(r, 2), text_at(r, 3)};
    }
  }
  int enabled = spec.enabled ? 1 : 0;
  auto types = join(spec.event_types);
  try {
    sql << "UPDATE webhook_policies SET name = :n, description = :d, "
           "enabled = :e, event_types = :t, update_time = :u WHERE id = :i",
        soci::use(spec.name), soci::use(spec.description), soci::use(enabled),
        soci::use(types), soci::use(t), soci::use(key);
  } catch (const soci::soci_error& e) {
    // Another writer took the name after the check above.
    if (!is_unique_violation(e))
      throw;
    out.outcome = webhook_outcome::name_taken;
    return out;
  }
  write_targets(id, spec, kept);
  fail_orphaned_deliveries(id, spec.targets.size(),
                           "the target was removed from the policy");
  auto written = find(spec.project, id);
  tx.commit();
  out.policy = std::move(*written);
  return out;
}

bool webhook_store::remove(const std::string& project, int64_t id) {
  write_transaction tx(db_);
  long long key = id;
  auto& sql = db_.session();
  soci::statement st
      = (sql.prepare << "DELETE FROM webhook_policies WHERE project = :p AND "
                        "id = :i",
         soci::use(project), soci::use(key));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return false;
  sql << "DELETE FROM webhook_targets WHERE policy_id = :i", soci::use(key);
  // Its pending deliveries have nowhere to go: failed now, in the log,
  // rather than waiting for a claim that walks only existing targets.
  fail_orphaned_deliveries(key, 0, "the policy was deleted");
  tx.commit();
  return true;
}

} // namespace regevent
