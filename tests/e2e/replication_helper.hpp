#pragma once

#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace regevent::test {

/// What the end-to-end replication tests share: the real regeventd (small
/// retry settings, so that a failing copy ends within seconds), a real
/// source `docker-registry` notifying it, a real destination, and the
/// management API and skopeo to set up and read back what was copied.
class replication_test_base : public ::testing::Test {
protected:
  /// The credentials a destination with htpasswd or token auth accepts.
  static constexpr const char* user = "replicator";
  static constexpr const char* password = "s3cret-Pa55word";

  /// The last `n` characters of `text`: a log's tail for a failure message.
  static std::string tail(const std::string& text, size_t n = 4000);

  /// After a failure: the tail of the daemon's and each registry's log.
  void TearDown() override;

  /// The daemon, the source notifying it, and a destination: with
  /// `destination_auth` (an `auth:` section), serving HTTPS with
  /// `destination_tls` when that is enabled, and, when `notifying`, sending
  /// its own notifications to the daemon too. Throws std::runtime_error
  /// when one does not start: an ASSERT here would return to a test body
  /// that goes on with null processes.
  void start(const std::string& destination_auth = "", bool notifying = false,
             const registry_tls& destination_tls = {});

  /// A request to the management API as the administrator.
  http_answer call(const std::string& method, const std::string& target,
                   const nlohmann::json& body = nullptr);

  /// GET `target`: the parsed body, or null unless 200.
  nlohmann::json get(const std::string& target);

  /// Registers the destination as `dest` (`insecure` false), with a Basic
  /// credential of `user` and `secret` unless `secret` is empty, and with
  /// `fields` (such as another `name`, a `ca_file`) added or replaced;
  /// returns its id.
  int64_t create_registry(const std::string& secret = "",
                          const nlohmann::json& fields
                          = nlohmann::json::object());

  /// An enabled policy to `registry`, into the namespace `mirror` (one
  /// component replaced); returns its id.
  int64_t create_policy(int64_t registry, nlohmann::json filters,
                        bool override = true, bool deletion = false,
                        int64_t speed = 0,
                        const std::string& trigger = "event_based");

  /// Pushes an image whose layer holds `content` to the source; returns
  /// the digest of its manifest.
  std::string push(const std::string& repository, const std::string& tag,
                   const std::string& content);

  /// Every execution of `policy`, newest first.
  nlohmann::json executions(int64_t policy);

  /// Waits until `policy` has `count` executions, all finished; returns
  /// them (newest first).
  nlohmann::json finished(int64_t policy, size_t count,
                          std::chrono::milliseconds deadline
                          = std::chrono::seconds(60));

  /// The tasks of `execution`.
  nlohmann::json tasks(int64_t execution);

  /// Waits until the daemon has finished every event it has journaled (its
  /// effects, the replication's executions among them, committed): after a
  /// registry's later notification is seen, its earlier ones are done too.
  bool settled();

  /// The manifest bytes at `reference` on the destination; empty when
  /// absent.
  std::string on_destination(const std::string& repository,
                             const std::string& reference);

  /// The same on the source.
  std::string on_source(const std::string& repository,
                        const std::string& reference);

  temp_dir dir_;
  temp_dir source_dir_;
  temp_dir destination_dir_;
  skopeo_client skopeo_{dir_};
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<registry_process> source_;
  std::unique_ptr<registry_process> destination_;
  int n_ = 0;
};

} // namespace regevent::test
