#pragma once

/// Secrets stored in the database (webhook secrets and auth headers, later
/// registry and scanner credentials) are sealed with AES-256-GCM under a
/// key the database does not hold (`secrets.key`, best given as
/// REGEVENT_SECRETS_KEY_FILE): a copy of the database reveals nothing.

#include <optional>
#include <string>

namespace regevent {

class secret_box {
public:
  /// `key_base64` is the base64 of 32 random bytes (`openssl rand -base64
  /// 32`); empty means no key: sealing is refused, an empty value aside.
  /// Throws std::invalid_argument for a key of another form.
  explicit secret_box(const std::string& key_base64);

  bool has_key() const {
    return !key_.empty();
  }

  /// `v1:` + base64(nonce | ciphertext | tag), the column's name bound as
  /// associated data so that a value copied into another column does not
  /// open. An empty plain text stays empty (nothing to hide). Throws
  /// std::logic_error without a key.
  std::string seal(const std::string& plain, const std::string& column) const;

  /// The plain text, or nothing when the value was sealed under another key,
  /// for another column, or altered.
  std::optional<std::string> open(const std::string& sealed,
                                  const std::string& column) const;

private:
  std::string key_;
};

} // namespace regevent
