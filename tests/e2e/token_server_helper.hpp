#pragma once

#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace regevent::test {

/// The token service double (tests/fixtures/token_server_double.py) as a
/// child process on 127.0.0.1 port 0, with an RSA key and a self-signed
/// certificate made here with the `openssl` CLI. A registry started with
/// `registry_auth()` in its configuration trusts the tokens it signs.
class token_server_double {
public:
  /// `username` empty: tokens for anyone; else only for these Basic
  /// credentials (401 otherwise).
  token_server_double(const temp_dir& dir, std::string username,
                      std::string password);
  token_server_double(const token_server_double&) = delete;
  token_server_double& operator=(const token_server_double&) = delete;

  /// False when the key could not be made or the process did not come up
  /// (see `problem()`).
  bool started() const {
    return process_ && process_->port() != 0;
  }
  const std::string& problem() const {
    return problem_;
  }
  /// `http://127.0.0.1:<port>/token`.
  std::string realm() const;
  /// The `auth: token` section of a registry that sends its clients here.
  std::string registry_auth() const;
  /// Every token request so far: `path`, `service`, `scopes`, `user`,
  /// `user_agent`, `answer` (the status).
  std::vector<nlohmann::json> requests() const;

  static constexpr const char* service = "regevent-test-registry";
  static constexpr const char* issuer = "regevent-test-token-double";

private:
  std::string cert_path_;
  std::string log_path_;
  std::string problem_;
  std::unique_ptr<python_double> process_;
};

} // namespace regevent::test
