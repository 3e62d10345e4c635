#pragma once

// Values the webhook tests share: an admin token, a sealing key and a
// Standard Webhooks secret (test values, not secrets of anything; from
// tests/test_secrets.hpp, so that the suite finds them if logged).

#include "tests/test_secrets.hpp"

#include <string>

namespace regevent::test::webhook_values {

inline const std::string admin = secrets::admin_token;
inline const std::string sealing_key = secrets::secrets_key;
inline const std::string secret = secrets::webhook_secret;

} // namespace regevent::test::webhook_values
