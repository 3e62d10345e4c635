#pragma once

#include "tests/fixtures/temp_dir.hpp"

#include <string>

namespace regevent::test {

/// A private certificate authority made by the `openssl` CLI: known to no
/// system store, so only a peer told to trust its certificate does.
struct test_ca {
  std::string certificate;
  std::string key;
};

/// A certificate (PEM) and its unencrypted private key (PEM).
struct test_certificate {
  std::string certificate;
  std::string key;
};

/// Makes the CA `name` (files `<name>-ca.crt`, `<name>-ca.key` in `dir`),
/// valid one day. Throws std::runtime_error when openssl fails.
test_ca make_test_ca(const temp_dir& dir, const std::string& name);

enum class certificate_use { server, client };

/// Issues `name` (files `<name>.crt`, `<name>.key` in `dir`) from `ca`: a
/// server certificate for 127.0.0.1 (an IP subjectAltName, which Go's and
/// OpenSSL's checks read; the common name is not looked at), or a client
/// certificate. Valid for `days` from now; a negative `days` gives one
/// that has already expired. Throws std::runtime_error when openssl fails.
test_certificate issue_certificate(const temp_dir& dir, const test_ca& ca,
                                   const std::string& name, certificate_use use,
                                   int days = 1);

} // namespace regevent::test
