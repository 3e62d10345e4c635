#pragma once

// Values the webhook tests share: an admin token, a sealing key and a
// Standard Webhooks secret (test values, not secrets of anything).

#include <string>

namespace regevent::test::webhook_values {

inline const std::string admin = "webhook-admin-token";
inline const std::string sealing_key
    = "q1QHkvV4XFX0rZbT9b4mPp1nB3nJ0y8q3M0cCqWJj2E=";
inline const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

} // namespace regevent::test::webhook_values
