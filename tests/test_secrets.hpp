#pragma once

/// Every secret the tests give regeventd, in one place: the suite's last
/// test (`secrets.logs_clean`, tests/secrets/check_logs.sh) reads each
/// quoted value below that holds the marker `TSECRET` and fails when one
/// shows in any log, --check-config output or API answer the tests saved
/// (REGEVENT_TEST_LOG_DIR). A new secret belongs here, with the marker,
/// each on one line, so that the check knows it.

// clang-format off: one secret a line, for check_logs.sh.
namespace regevent::test::secrets {

/// auth.notify_token: the registry's bearer token.
inline constexpr const char* notify_token = "notify-TSECRET-7d1f0c";
/// auth.admin_token (`admin`).
inline constexpr const char* admin_token = "admin-TSECRET-4b8e21";
/// auth.api_tokens: an admin-role token and a read-role one (stored as
/// their SHA-256 only).
inline constexpr const char* ops_token = "ops-TSECRET-93ac5e";
inline constexpr const char* reader_token = "reader-TSECRET-0e6d47";
/// A webhook target's signing secret: `whsec_` + base64 of 24 bytes.
inline constexpr const char* webhook_secret = "whsec_TSECRETwebhookSigningKey00000000";
/// A webhook target's auth_header.
inline constexpr const char* webhook_auth_header = "Bearer hook-TSECRET-5a2c90";
/// A registry credential's access_secret.
inline constexpr const char* registry_password = "registry-TSECRET-c41b7e";
/// A scanner registration's access_credential.
inline constexpr const char* scanner_credential = "scanner-TSECRET-8f0a3d";
/// The password of a PostgreSQL database URL.
inline constexpr const char* database_password = "db-TSECRET-61e0aa";
/// secrets.key: base64 of 32 bytes.
inline constexpr const char* secrets_key = "TSECRETencryptionKeyForTheWholeTestSuite000=";

} // namespace regevent::test::secrets
// clang-format on
