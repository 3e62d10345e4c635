#pragma once

// The real daemon with an admin token (and, when asked, a sealing key for
// stored secrets), and its management API as the administrator: what the
// API tests of registries, policies and scanners share.

#include "tests/fixtures/daemon.hpp"
#include "tests/integration/webhook_values.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace regevent::test {

class admin_api_test : public ::testing::Test {
protected:
  /// `with_key`: secrets.key set (REGEVENT_SECRETS_KEY_FILE), so that
  /// credentials can be stored.
  void start(bool with_key) {
    std::map<std::string, std::string> env;
    if (with_key) {
      auto key_file = dir_.file("secrets.key");
      std::ofstream(key_file) << webhook_values::sealing_key << "\n";
      env["REGEVENT_SECRETS_KEY_FILE"] = key_file;
    }
    daemon_ = std::make_unique<daemon_process>(
        dir_, "auth:\n  admin_token: " + webhook_values::admin + "\n",
        std::move(env));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    client_ = std::make_unique<http_client>(daemon_->client());
  }

  http_answer call(const std::string& method, const std::string& target,
                   const std::string& body = {}) {
    return client_->request(method, target, body,
                            {{"Authorization", "Bearer " + webhook_values::admin},
                             {"Content-Type", "application/json"}});
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> client_;
};

} // namespace regevent::test
