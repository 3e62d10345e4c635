#pragma once

#include <string>
#include <string_view>

namespace regevent {

/// Whether an Authorization header carries `Bearer <token>`. Compares
/// SHA-256 digests with CRYPTO_memcmp, so that neither the content nor the
/// length of the secret leaks through timing.
bool bearer_matches(std::string_view authorization, const std::string& token);

} // namespace regevent
