#pragma once

#include "http/registry_client.hpp"

#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace regevent::test {

/// What the tests of the registry client and of the image copy share: a
/// source and a destination registry (real `docker-registry` processes, in
/// folders of their own), skopeo to push the images built here to the
/// source, and the outbound client the registry clients use.
class registry_pair_test : public ::testing::Test {
protected:
  static constexpr const char* user_agent = "regevent-replicator/test";
  /// The credentials `htpasswd_auth` accepts.
  static constexpr const char* user = "replicator";
  static constexpr const char* password = "s3cret-Pa55word";

  /// After a failure: the tail of each registry's log.
  void TearDown() override;

  /// A registry in `dir`, with `extra` (an `auth:` section) in its
  /// configuration. Fails the test when it does not come up.
  std::unique_ptr<registry_process>
  start_registry(const temp_dir& dir, const std::string& extra = "");
  void start_source() {
    source_ = start_registry(source_dir_);
  }

  /// A client of `r` that sends `user_agent`.
  registry_client
  client_of(const registry_process& r, const std::string& username = "",
            const std::string& secret = "", registry_client_config cfg = {});

  /// Writes an image (`content` makes it unique) and pushes it to the
  /// source with skopeo, as OCI or converted to Docker schema 2;
  /// `pushed_digest_` receives the digest of the manifest as pushed.
  oci_image push(const std::string& repository, const std::string& tag,
                 const std::string& content, bool docker_v2s2 = false);

  /// The `auth:` section of a registry whose htpasswd file (in `dir`)
  /// holds `user`:`password` (bcrypt, as Distribution requires).
  std::string htpasswd_auth(const temp_dir& dir);

  temp_dir dir_;
  temp_dir source_dir_;
  temp_dir destination_dir_;
  skopeo_client skopeo_{dir_};
  outbound_client outbound_;
  std::unique_ptr<registry_process> source_;
  std::unique_ptr<registry_process> destination_;
  std::string pushed_digest_;
  int n_ = 0;
};

} // namespace regevent::test
