#include "persistence/replication_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"
#include "persistence/secret_box.hpp"

#include <soci/soci.h>

#include <stdexcept>
#include <utility>

namespace regevent {

namespace {

constexpr const char* registry_columns
    = "SELECT id, name, description, type, url, insecure, ca_file, "
      "credential_type, access_key, access_secret, creation_time, "
      "update_time FROM registries";

constexpr const char* policy_columns
    = "SELECT id, name, description, enabled, dest_registry_id, "
      "dest_namespace, dest_namespace_replace_count, trigger_type, "
      "override_tags, deletion, speed_kib, creation_time, update_time FROM "
      "replication_policies";

/// The associated data a registry secret is sealed with: a sealed value
/// copied into another column does not open.
constexpr const char* secret_column = "registries.access_secret";

/// A registry as the API sees it: the sealed secret stays behind, only
/// whether there is one shows.
registry_record registry_from(const soci::row& r, std::string* sealed) {
  registry_record x;
  x.id = int_at(r, 0);
  x.name = text_at(r, 1);
  x.description = text_at(r, 2);
  x.type = text_at(r, 3);
  x.url = text_at(r, 4);
  x.insecure = int_at(r, 5) != 0;
  x.ca_file = text_at(r, 6);
  x.credential.type = text_at(r, 7);
  x.credential.access_key = text_at(r, 8);
  auto secret = text_at(r, 9);
  x.credential.has_access_secret = !secret.empty();
  if (sealed)
    *sealed = std::move(secret);
  x.creation_time = int_at(r, 10);
  x.update_time = int_at(r, 11);
  return x;
}

replication_policy policy_from(const soci::row& r) {
  replication_policy p;
  p.id = int_at(r, 0);
  p.name = text_at(r, 1);
  p.description = text_at(r, 2);
  p.enabled = int_at(r, 3) != 0;
  p.dest_registry_id = int_at(r, 4);
  p.dest_namespace = text_at(r, 5);
  p.dest_namespace_replace_count = int_at(r, 6);
  p.trigger_type = text_at(r, 7);
  p.override_tags = int_at(r, 8) != 0;
  p.deletion = int_at(r, 9) != 0;
  p.speed_kib = int_at(r, 10);
  p.creation_time = int_at(r, 11);
  p.update_time = int_at(r, 12);
  return p;
}

} // namespace

replication_store::replication_store(database& db, const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

std::vector<registry_record> replication_store::registries() {
  std::vector<registry_record> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
         << std::string(registry_columns) + " ORDER BY id");
  for (const auto& r : rs)
    out.push_back(registry_from(r, nullptr));
  return out;
}

std::optional<registry_record> replication_store::registry(int64_t id) {
  long long key = id;
  std::optional<registry_record> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
             << std::string(registry_columns) + " WHERE id = :i",
         soci::use(key));
  for (const auto& r : rs)
    out = registry_from(r, nullptr);
  return out;
}

std::optional<registry_record> replication_store::with_secret(int64_t id) {
  long long key = id;
  std::optional<registry_record> out;
  std::string sealed;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
             << std::string(registry_columns) + " WHERE id = :i",
         soci::use(key));
  for (const auto& r : rs)
    out = registry_from(r, &sealed);
  if (out && !sealed.empty()) {
    auto plain = secrets_.open(sealed, secret_column);
    if (!plain)
      throw std::runtime_error("the credential of registry "
                               + std::to_string(id)
                               + " was sealed under another key");
    out->credential.access_secret = std::move(*plain);
  }
  return out;
}

bool replication_store::registry_exists(int64_t id) {
  long long key = id, n = 0;
  db_.session() << "SELECT COUNT(*) FROM registries WHERE id = :i",
      soci::use(key), soci::into(n);
  return n > 0;
}

registry_write replication_store::create_registry(const registry_spec& spec,
                                                  timestamp_us now) {
  registry_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long t = now;
  int insecure = spec.insecure ? 1 : 0;
  auto sealed
      = spec.credential.has_access_secret
            ? secrets_.seal(spec.credential.access_secret, secret_column)
            : std::string();
  soci::statement st
      = (sql.prepare << "INSERT INTO registries (name, description, type, "
                        "url, insecure, ca_file, credential_type, access_key, "
                        "access_secret, creation_time, update_time) VALUES "
                        "(:n, :d, :t, :u, :i, :c, :ct, :k, :s, :cr, :up) ON "
                        "CONFLICT (name) DO NOTHING",
         soci::use(spec.name), soci::use(spec.description),
         soci::use(spec.type), soci::use(spec.url), soci::use(insecure),
         soci::use(spec.ca_file), soci::use(spec.credential.type),
         soci::use(spec.credential.access_key), soci::use(sealed), soci::use(t),
         soci::use(t));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  long long id = 0;
  sql << "SELECT id FROM registries WHERE name = :n", soci::use(spec.name),
      soci::into(id);
  auto written = registry(id);
  tx.commit();
  out.registry = std::move(*written);
  return out;
}

registry_write replication_store::update_registry(int64_t id,
                                                  const registry_spec& spec,
                                                  timestamp_us now) {
  registry_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long key = id, t = now, taken = 0;
  std::string sealed, url, access_key;
  bool found = false;
  {
    soci::rowset<soci::row> rs
        = (sql.prepare << std::string("SELECT url, access_key, access_secret "
                                      "FROM registries WHERE id = :i")
                              + (db_.is_sqlite() ? "" : " FOR UPDATE"),
           soci::use(key));
    for (const auto& r : rs) {
      found = true;
      url = text_at(r, 0);
      access_key = text_at(r, 1);
      sealed = text_at(r, 2);
    }
  }
  if (!found) {
    out.outcome = replication_outcome::not_found;
    return out;
  }
  sql << "SELECT COUNT(*) FROM registries WHERE name = :n AND id <> :i",
      soci::use(spec.name), soci::use(key), soci::into(taken);
  if (taken > 0) {
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  if (spec.credential.has_access_secret)
    sealed = secrets_.seal(spec.credential.access_secret, secret_column);
  else if (spec.url != url || spec.credential.access_key != access_key
           || spec.credential.type.empty())
    // Kept only for the server and account it was given for.
    sealed.clear();
  int insecure = spec.insecure ? 1 : 0;
  try {
    sql << "UPDATE registries SET name = :n, description = :d, type = :t, "
           "url = :u, insecure = :i, ca_file = :c, credential_type = :ct, "
           "access_key = :k, access_secret = :s, update_time = :up WHERE id "
           "= :id",
        soci::use(spec.name), soci::use(spec.description), soci::use(spec.type),
        soci::use(spec.url), soci::use(insecure), soci::use(spec.ca_file),
        soci::use(spec.credential.type), soci::use(spec.credential.access_key),
        soci::use(sealed), soci::use(t), soci::use(key);
  } catch (const soci::soci_error& e) {
    // Another writer took the name after the check above.
    if (!is_unique_violation(e))
      throw;
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  auto written = registry(id);
  tx.commit();
  out.registry = std::move(*written);
  return out;
}

replication_outcome replication_store::remove_registry(int64_t id) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long key = id, used = 0;
  sql << "SELECT COUNT(*) FROM replication_policies WHERE dest_registry_id = "
         ":i",
      soci::use(key), soci::into(used);
  if (used > 0)
    return replication_outcome::in_use;
  soci::statement st
      = (sql.prepare << "DELETE FROM registries WHERE id = :i", soci::use(key));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return replication_outcome::not_found;
  tx.commit();
  return replication_outcome::ok;
}

std::vector<replication_policy> replication_store::policies() {
  std::vector<replication_policy> out;
  {
    soci::rowset<soci::row> rs
        = (db_.session().prepare
           << std::string(policy_columns) + " ORDER BY id");
    for (const auto& r : rs)
      out.push_back(policy_from(r));
  }
  // One read for every policy's filters.
  soci::rowset<soci::row> rs
      = (db_.session().prepare << "SELECT policy_id, type, value FROM "
                                  "replication_filters ORDER BY policy_id, "
                                  "position");
  size_t at = 0;
  for (const auto& r : rs) {
    auto policy = int_at(r, 0);
    while (at < out.size() && out[at].id < policy)
      ++at;
    if (at < out.size() && out[at].id == policy)
      out[at].filters.push_back({text_at(r, 1), text_at(r, 2)});
  }
  return out;
}

std::optional<replication_policy> replication_store::policy(int64_t id) {
  long long key = id;
  std::optional<replication_policy> out;
  {
    soci::rowset<soci::row> rs
        = (db_.session().prepare
               << std::string(policy_columns) + " WHERE id = :i",
           soci::use(key));
    for (const auto& r : rs)
      out = policy_from(r);
  }
  if (!out)
    return out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare << "SELECT type, value FROM "
                                  "replication_filters WHERE policy_id = :i "
                                  "ORDER BY position",
         soci::use(key));
  for (const auto& r : rs)
    out->filters.push_back({text_at(r, 0), text_at(r, 1)});
  return out;
}

namespace {

void write_filters(soci::session& sql, long long policy,
                   const std::vector<replication_filter>& filters) {
  sql << "DELETE FROM replication_filters WHERE policy_id = :p",
      soci::use(policy);
  for (size_t i = 0; i < filters.size(); ++i) {
    long long position = static_cast<long long>(i);
    sql << "INSERT INTO replication_filters (policy_id, position, type, "
           "value) VALUES (:p, :i, :t, :v)",
        soci::use(policy), soci::use(position), soci::use(filters[i].type),
        soci::use(filters[i].value);
  }
}

} // namespace

policy_write
replication_store::create_policy(const replication_policy_spec& spec,
                                 timestamp_us now) {
  policy_write out;
  write_transaction tx(db_);
  if (!registry_exists(spec.dest_registry_id)) {
    out.outcome = replication_outcome::no_registry;
    return out;
  }
  auto& sql = db_.session();
  long long t = now, registry = spec.dest_registry_id,
            replace = spec.dest_namespace_replace_count, speed = spec.speed_kib;
  int enabled = spec.enabled ? 1 : 0,
      override_tags = spec.override_tags ? 1 : 0,
      deletion = spec.deletion ? 1 : 0;
  soci::statement st
      = (sql.prepare << "INSERT INTO replication_policies (name, "
                        "description, enabled, dest_registry_id, "
                        "dest_namespace, dest_namespace_replace_count, "
                        "trigger_type, override_tags, deletion, speed_kib, "
                        "creation_time, update_time) VALUES (:n, :d, :e, :r, "
                        ":ns, :rc, :tt, :o, :del, :s, :c, :u) ON CONFLICT "
                        "(name) DO NOTHING",
         soci::use(spec.name), soci::use(spec.description), soci::use(enabled),
         soci::use(registry), soci::use(spec.dest_namespace),
         soci::use(replace), soci::use(spec.trigger_type),
         soci::use(override_tags), soci::use(deletion), soci::use(speed),
         soci::use(t), soci::use(t));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  long long id = 0;
  sql << "SELECT id FROM replication_policies WHERE name = :n",
      soci::use(spec.name), soci::into(id);
  write_filters(sql, id, spec.filters);
  auto written = policy(id);
  tx.commit();
  out.policy = std::move(*written);
  return out;
}

policy_write replication_store::update_policy(
    int64_t id, const replication_policy_spec& spec, timestamp_us now) {
  policy_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long key = id, locked = 0, taken = 0;
  sql << std::string("SELECT COUNT(*) FROM (SELECT id FROM "
                     "replication_policies WHERE id = :i")
             + (db_.is_sqlite() ? "" : " FOR UPDATE") + ") AS policy",
      soci::use(key), soci::into(locked);
  if (locked == 0) {
    out.outcome = replication_outcome::not_found;
    return out;
  }
  if (!registry_exists(spec.dest_registry_id)) {
    out.outcome = replication_outcome::no_registry;
    return out;
  }
  sql << "SELECT COUNT(*) FROM replication_policies WHERE name = :n AND id "
         "<> :i",
      soci::use(spec.name), soci::use(key), soci::into(taken);
  if (taken > 0) {
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  long long t = now, registry = spec.dest_registry_id,
            replace = spec.dest_namespace_replace_count, speed = spec.speed_kib;
  int enabled = spec.enabled ? 1 : 0,
      override_tags = spec.override_tags ? 1 : 0,
      deletion = spec.deletion ? 1 : 0;
  try {
    sql << "UPDATE replication_policies SET name = :n, description = :d, "
           "enabled = :e, dest_registry_id = :r, dest_namespace = :ns, "
           "dest_namespace_replace_count = :rc, trigger_type = :tt, "
           "override_tags = :o, deletion = :del, speed_kib = :s, update_time "
           "= :u WHERE id = :i",
        soci::use(spec.name), soci::use(spec.description), soci::use(enabled),
        soci::use(registry), soci::use(spec.dest_namespace), soci::use(replace),
        soci::use(spec.trigger_type), soci::use(override_tags),
        soci::use(deletion), soci::use(speed), soci::use(t), soci::use(key);
  } catch (const soci::soci_error& e) {
    if (!is_unique_violation(e))
      throw;
    out.outcome = replication_outcome::name_taken;
    return out;
  }
  write_filters(sql, key, spec.filters);
  auto written = policy(id);
  tx.commit();
  out.policy = std::move(*written);
  return out;
}

bool replication_store::remove_policy(int64_t id) {
  write_transaction tx(db_);
  long long key = id;
  auto& sql = db_.session();
  soci::statement st
      = (sql.prepare << "DELETE FROM replication_policies WHERE id = :i",
         soci::use(key));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return false;
  sql << "DELETE FROM replication_filters WHERE policy_id = :i", soci::use(key);
  tx.commit();
  return true;
}

} // namespace regevent
