#pragma once

/// Scanner registrations in Harbor v2.0's JSON (ScannerRegistration,
/// ScannerRegistrationReq), read with a precise error and written with the
/// credential masked.

#include "persistence/scanner.hpp"

#include <optional>
#include <string>
#include <vector>

namespace regevent {

/// A registration request body. `can_seal`: whether a credential can be
/// stored (secrets.key is set). An `auth` other than "" wants an
/// `access_credential` when `creating`; an update without one keeps the
/// stored one (scanner_store::update).
std::optional<scanner_spec> parse_scanner(const std::string& body,
                                          bool can_seal, bool creating,
                                          std::string& error);

/// `{"is_default": true|false}` (PATCH).
std::optional<bool> parse_scanner_default(const std::string& body,
                                          std::string& error);

/// `{"uuid": "..."}` (PUT /projects/{project}/scanner).
std::optional<std::string> parse_project_scanner(const std::string& body,
                                                 std::string& error);

std::string scanner_json(const scanner_registration& x);
std::string scanners_json(const std::vector<scanner_registration>& list);

} // namespace regevent
