#pragma once

/// Base64 through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock, for the
/// secrets that travel as text: the sealed columns (`secret_box`) and the
/// Standard Webhooks keys (`whsec_...`). Shared so that every layer above
/// decodes padding the same way.

#include <optional>
#include <string>
#include <string_view>

namespace regevent {

/// Standard base64 with padding, on one line.
std::string to_base64(std::string_view bytes);

/// Strict base64 (no line breaks, length a multiple of 4); nothing when
/// malformed or empty.
std::optional<std::string> from_base64(std::string_view text);

} // namespace regevent
