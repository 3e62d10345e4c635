#pragma once

/// Scanner registrations as the management API reads and writes them
/// (Harbor v2.0's ScannerRegistration: an adapter of the Pluggable Scanner
/// API v1.x). Plain records, no SQL.

#include "persistence/event.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace regevent {

/// How regevent authenticates to an adapter, Harbor's words.
namespace scanner_auth {
constexpr const char* none = "";
/// `Authorization: Basic base64(access_credential)`.
constexpr const char* basic = "Basic";
/// `Authorization: Bearer access_credential`.
constexpr const char* bearer = "Bearer";
/// `X-ScannerAdapter-API-Key: access_credential`.
constexpr const char* api_key = "X-ScannerAdapter-API-Key";
} // namespace scanner_auth

struct scanner_spec {
  std::string name;
  std::string description;
  /// The adapter's base URL; `/api/v1/...` is appended.
  std::string url;
  /// One of scanner_auth.
  std::string auth;
  /// Write-only: a record read back carries it empty and says only whether
  /// one is stored.
  std::string access_credential;
  /// Read back: whether a credential is stored. Written: whether the
  /// request gave one; an update that leaves it out keeps the stored one
  /// while the URL and the auth kind stay the same.
  bool has_access_credential = false;
  bool skip_cert_verify = false;
  /// Harbor reaches its adapter by an internal address; regevent has one
  /// address per adapter and keeps the flag for clients that set it.
  bool use_internal_addr = false;
  bool disabled = false;
};

struct scanner_registration : scanner_spec {
  /// Harbor's registration id: a random UUID, the id in the API's paths.
  std::string uuid;
  /// The scanner of every project without one of its own.
  bool is_default = false;
  timestamp_us create_time = 0;
  timestamp_us update_time = 0;
};

struct scanner_list {
  std::vector<scanner_registration> items;
};

/// A registration named by its UUID.
struct scanner_id {
  std::string uuid;
};

/// A registration to replace, with what replaces it.
struct scanner_update {
  std::string uuid;
  scanner_spec spec;
};

/// `PATCH /scanners/{uuid}` `{is_default}`.
struct scanner_default_change {
  std::string uuid;
  bool is_default = true;
};

/// The scanner a project uses, or the one it is to use.
struct project_scanner {
  std::string project;
  std::string uuid;
};

} // namespace regevent
