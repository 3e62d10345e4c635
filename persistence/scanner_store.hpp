#pragma once

#include "persistence/scanner.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regevent {

class database;
class secret_box;
class write_transaction;

/// What a scanner registration write did.
enum class scanner_outcome {
  ok,
  not_found,
  name_taken,
  /// The default scanner cannot be deleted or disabled while it is the
  /// default: auto-scan projects would silently stop scanning.
  is_default,
};

struct scanner_write {
  scanner_outcome outcome = scanner_outcome::ok;
  scanner_registration scanner;
};

/// The SQL of scanner registrations and of which scanner a project uses.
/// The access credential is sealed before it reaches a statement and read
/// back only by `with_credential`, for the scan. Statements throw soci
/// errors; writes run in their own transaction.
class scanner_store {
public:
  scanner_store(database& db, const secret_box& secrets);

  /// Oldest first.
  std::vector<scanner_registration> scanners();
  std::optional<scanner_registration> scanner(const std::string& uuid);
  /// Registers `spec` as `uuid`; the first registration becomes the
  /// default, as in Harbor.
  scanner_write create(const scanner_spec& spec, const std::string& uuid,
                       timestamp_us now);
  /// Replaces the registration's fields; see `scanner_spec` for the
  /// credential.
  scanner_write update(const std::string& uuid, const scanner_spec& spec,
                       timestamp_us now);
  /// Deletes a registration that is not the default; projects that named
  /// it fall back to the default.
  scanner_outcome remove(const std::string& uuid);
  /// Makes `uuid` the one default (`is_default` true), or clears it.
  scanner_outcome set_default(const std::string& uuid, bool is_default,
                              timestamp_us now);

  /// The project's own scanner, else the default; nullopt when neither.
  std::optional<scanner_registration> of_project(const std::string& project);
  /// Sets the project's scanner; not_found when `uuid` is not registered.
  scanner_outcome set_for_project(const std::string& project,
                                  const std::string& uuid);

  /// The registration with its credential opened, for the scan. Throws
  /// when it was sealed under another key.
  std::optional<scanner_registration>
  with_credential(const std::string& uuid);

private:
  /// The registration as written, and the transaction that wrote it
  /// committed.
  scanner_write committed(write_transaction& tx, const std::string& uuid);
  std::optional<scanner_registration> load(const std::string& where,
                                           const std::string& key,
                                           std::string* sealed);

  database& db_;
  const secret_box& secrets_;
};

/// A new random (version 4) UUID, lowercase (libuuid).
std::string new_uuid();

} // namespace regevent
