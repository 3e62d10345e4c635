#include "persistence/scanner_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"
#include "persistence/secret_box.hpp"

#include <soci/soci.h>
#include <uuid/uuid.h>

#include <stdexcept>
#include <utility>

namespace regevent {

namespace {

constexpr const char* scanner_columns
    = "SELECT uuid, name, description, url, auth, access_credential, "
      "skip_cert_verify, use_internal_addr, disabled, is_default, "
      "create_time, update_time FROM scanners";

/// The associated data a credential is sealed with: a sealed value copied
/// into another column does not open.
constexpr const char* secret_column = "scanners.access_credential";

scanner_registration scanner_from(const soci::row& r, std::string* sealed) {
  scanner_registration x;
  x.uuid = text_at(r, 0);
  x.name = text_at(r, 1);
  x.description = text_at(r, 2);
  x.url = text_at(r, 3);
  x.auth = text_at(r, 4);
  auto secret = text_at(r, 5);
  x.has_access_credential = !secret.empty();
  if (sealed)
    *sealed = std::move(secret);
  x.skip_cert_verify = int_at(r, 6) != 0;
  x.use_internal_addr = int_at(r, 7) != 0;
  x.disabled = int_at(r, 8) != 0;
  x.is_default = int_at(r, 9) != 0;
  x.create_time = int_at(r, 10);
  x.update_time = int_at(r, 11);
  return x;
}

} // namespace

std::string new_uuid() {
  uuid_t id;
  uuid_generate_random(id);
  char text[37];
  uuid_unparse_lower(id, text);
  return text;
}

scanner_store::scanner_store(database& db, const secret_box& secrets)
    : db_(db), secrets_(secrets) {}

std::optional<scanner_registration>
scanner_store::load(const std::string& where, const std::string& key,
                    std::string* sealed) {
  std::optional<scanner_registration> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare << std::string(scanner_columns) + where,
         soci::use(key));
  for (const auto& r : rs)
    out = scanner_from(r, sealed);
  return out;
}

scanner_write scanner_store::committed(write_transaction& tx,
                                       const std::string& uuid) {
  scanner_write out;
  out.scanner = *scanner(uuid);
  tx.commit();
  return out;
}

std::vector<scanner_registration> scanner_store::scanners() {
  std::vector<scanner_registration> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
         << std::string(scanner_columns) + " ORDER BY id");
  for (const auto& r : rs)
    out.push_back(scanner_from(r, nullptr));
  return out;
}

std::optional<scanner_registration>
scanner_store::scanner(const std::string& uuid) {
  return load(" WHERE uuid = :u", uuid, nullptr);
}

std::optional<scanner_registration>
scanner_store::with_credential(const std::string& uuid) {
  std::string sealed;
  auto out = load(" WHERE uuid = :u", uuid, &sealed);
  if (out && !sealed.empty()) {
    auto plain = secrets_.open(sealed, secret_column);
    if (!plain)
      throw std::runtime_error("the credential of scanner " + out->name
                               + " was sealed under another key");
    out->access_credential = std::move(*plain);
  }
  return out;
}

scanner_write scanner_store::create(const scanner_spec& spec,
                                    const std::string& uuid,
                                    timestamp_us now) {
  scanner_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  long long t = now, existing = 0;
  sql << "SELECT COUNT(*) FROM scanners", soci::into(existing);
  int skip = spec.skip_cert_verify ? 1 : 0,
      internal = spec.use_internal_addr ? 1 : 0,
      disabled = spec.disabled ? 1 : 0, is_default = existing == 0 ? 1 : 0;
  auto sealed = spec.has_access_credential
                    ? secrets_.seal(spec.access_credential, secret_column)
                    : std::string();
  soci::statement st
      = (sql.prepare << "INSERT INTO scanners (uuid, name, description, url, "
                        "auth, access_credential, skip_cert_verify, "
                        "use_internal_addr, disabled, is_default, "
                        "create_time, update_time) VALUES (:id, :n, :d, :u, "
                        ":a, :c, :s, :i, :x, :df, :cr, :up) ON CONFLICT "
                        "(name) DO NOTHING",
         soci::use(uuid), soci::use(spec.name), soci::use(spec.description),
         soci::use(spec.url), soci::use(spec.auth), soci::use(sealed),
         soci::use(skip), soci::use(internal), soci::use(disabled),
         soci::use(is_default), soci::use(t), soci::use(t));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    out.outcome = scanner_outcome::name_taken;
    return out;
  }
  return committed(tx, uuid);
}

scanner_write scanner_store::update(const std::string& uuid,
                                    const scanner_spec& spec,
                                    timestamp_us now) {
  scanner_write out;
  write_transaction tx(db_);
  auto& sql = db_.session();
  std::string sealed;
  auto found = load(std::string(" WHERE uuid = :u")
                        + (db_.is_sqlite() ? "" : " FOR UPDATE"),
                    uuid, &sealed);
  if (!found) {
    out.outcome = scanner_outcome::not_found;
    return out;
  }
  if (found->is_default && spec.disabled) {
    out.outcome = scanner_outcome::is_default;
    return out;
  }
  long long t = now, taken = 0;
  sql << "SELECT COUNT(*) FROM scanners WHERE name = :n AND uuid <> :u",
      soci::use(spec.name), soci::use(uuid), soci::into(taken);
  if (taken > 0) {
    out.outcome = scanner_outcome::name_taken;
    return out;
  }
  if (spec.has_access_credential)
    sealed = secrets_.seal(spec.access_credential, secret_column);
  else if (spec.url != found->url || spec.auth != found->auth
           || spec.auth.empty())
    // Kept only for the adapter and the scheme it was given for.
    sealed.clear();
  int skip = spec.skip_cert_verify ? 1 : 0,
      internal = spec.use_internal_addr ? 1 : 0,
      disabled = spec.disabled ? 1 : 0;
  try {
    sql << "UPDATE scanners SET name = :n, description = :d, url = :u, auth "
           "= :a, access_credential = :c, skip_cert_verify = :s, "
           "use_internal_addr = :i, disabled = :x, update_time = :up WHERE "
           "uuid = :id",
        soci::use(spec.name), soci::use(spec.description), soci::use(spec.url),
        soci::use(spec.auth), soci::use(sealed), soci::use(skip),
        soci::use(internal), soci::use(disabled), soci::use(t),
        soci::use(uuid);
  } catch (const soci::soci_error& e) {
    // Another writer took the name after the check above.
    if (!is_unique_violation(e))
      throw;
    out.outcome = scanner_outcome::name_taken;
    return out;
  }
  return committed(tx, uuid);
}

scanner_outcome scanner_store::remove(const std::string& uuid) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  auto found = scanner(uuid);
  if (!found)
    return scanner_outcome::not_found;
  if (found->is_default)
    return scanner_outcome::is_default;
  sql << "DELETE FROM scanners WHERE uuid = :u", soci::use(uuid);
  sql << "DELETE FROM project_scanners WHERE scanner_uuid = :u",
      soci::use(uuid);
  tx.commit();
  return scanner_outcome::ok;
}

scanner_outcome scanner_store::set_default(const std::string& uuid,
                                           bool is_default, timestamp_us now) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  auto found = scanner(uuid);
  if (!found)
    return scanner_outcome::not_found;
  long long t = now;
  if (is_default) {
    // One default: the others lose it in the same transaction.
    sql << "UPDATE scanners SET is_default = 0, update_time = :t WHERE "
           "is_default = 1 AND uuid <> :u",
        soci::use(t), soci::use(uuid);
    sql << "UPDATE scanners SET is_default = 1, disabled = 0, update_time = "
           ":t WHERE uuid = :u",
        soci::use(t), soci::use(uuid);
  } else {
    sql << "UPDATE scanners SET is_default = 0, update_time = :t WHERE uuid "
           "= :u",
        soci::use(t), soci::use(uuid);
  }
  tx.commit();
  return scanner_outcome::ok;
}

std::optional<scanner_registration>
scanner_store::of_project(const std::string& project) {
  auto own = load(" WHERE uuid = (SELECT scanner_uuid FROM project_scanners "
                  "WHERE project = :p)",
                  project, nullptr);
  if (own)
    return own;
  std::optional<scanner_registration> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare
         << std::string(scanner_columns) + " WHERE is_default = 1");
  for (const auto& r : rs)
    out = scanner_from(r, nullptr);
  return out;
}

scanner_outcome scanner_store::set_for_project(const std::string& project,
                                               const std::string& uuid) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  if (!scanner(uuid))
    return scanner_outcome::not_found;
  sql << "INSERT INTO project_scanners (project, scanner_uuid) VALUES (:p, "
         ":u) ON CONFLICT (project) DO UPDATE SET scanner_uuid = "
         "excluded.scanner_uuid",
      soci::use(project), soci::use(uuid);
  tx.commit();
  return scanner_outcome::ok;
}

} // namespace regevent
