#include "tests/e2e/registry_pair_helper.hpp"

#include <iostream>

namespace regevent::test {

void registry_pair_test::TearDown() {
  if (!HasFailure())
    return;
  constexpr size_t tail = 3000;
  for (auto* r : {source_.get(), destination_.get()})
    if (r) {
      auto log = r->log();
      std::cerr << "---- docker-registry " << r->address() << " log (tail)\n"
                << (log.size() <= tail ? log : log.substr(log.size() - tail));
    }
}

std::unique_ptr<registry_process>
registry_pair_test::start_registry(const temp_dir& dir,
                                   const std::string& extra) {
  auto r = std::make_unique<registry_process>(dir, "", "", extra);
  EXPECT_TRUE(r->start()) << r->log();
  return r;
}

registry_client registry_pair_test::client_of(const registry_process& r,
                                              const std::string& username,
                                              const std::string& secret,
                                              registry_client_config cfg) {
  cfg.user_agent = user_agent;
  return registry_client(outbound_, {r.url(), username, secret, {}}, cfg);
}

oci_image
registry_pair_test::push(const std::string& repository, const std::string& tag,
                         const std::string& content, bool docker_v2s2) {
  auto image = write_oci_image(dir_.file("layout-" + std::to_string(++n_)), tag,
                               content);
  std::string digest;
  auto pushed = skopeo_.push(image, source_->ref(repository, tag), docker_v2s2,
                             &digest);
  EXPECT_TRUE(pushed.ok()) << pushed.output;
  pushed_digest_ = digest;
  return image;
}

std::string registry_pair_test::htpasswd_auth(const temp_dir& dir) {
  return htpasswd_section(dir, user, password);
}

} // namespace regevent::test
