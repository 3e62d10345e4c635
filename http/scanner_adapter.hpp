#pragma once

/// What regevent asks a scanner adapter (Harbor's Pluggable Scanner API
/// v1.x) through the outbound client: its metadata, for
/// `POST /api/v2.0/scanners/ping` and `GET .../scanners/{uuid}/metadata`.

#include "persistence/scanner.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace regevent {

class outbound_client;

/// The adapter's answer to `GET /api/v1/metadata`, checked against the
/// spec's ScannerAdapterMetadata (a `scanner` object and a `capabilities`
/// array), or why there is none.
struct scanner_metadata_result {
  /// The adapter's JSON as it sent it; empty on failure.
  std::string metadata;
  /// Empty on success: the status, the adapter's error message or what was
  /// wrong with its answer; never the credential.
  std::string failure;
  /// A failure that may pass: no answer, a 5xx, 408 or 429. A refused
  /// credential or an answer that is no metadata will not.
  bool transient = false;
};

/// The headers that authenticate regevent to `target` as its `auth` says:
/// `Authorization: Basic base64(credential)`, `Authorization: Bearer
/// credential`, `X-ScannerAdapter-API-Key: credential`, or none.
std::vector<std::pair<std::string, std::string>>
adapter_auth_headers(const scanner_spec& target);

/// The adapter's base URL without trailing slashes.
std::string adapter_base(const scanner_spec& target);

/// The adapter's error message (`{"error": {"message": ...}}`), if `body`
/// is the spec's ErrorResponse.
std::string adapter_error_message(const std::string& body);

/// Asks `target` (its URL, TLS setting and credential, opened) for its
/// metadata with the auth its registration names, and calls `done` on
/// the client's thread.
void fetch_scanner_metadata(std::shared_ptr<outbound_client> client,
                            const scanner_spec& target,
                            std::function<void(scanner_metadata_result)> done);

} // namespace regevent
