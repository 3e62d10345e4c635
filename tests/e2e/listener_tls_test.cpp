// TLS on the daemon's listener, end to end: the real regeventd serving
// HTTPS with certificates the tests make with the openssl CLI, reached by
// curl, by a keep-alive client (tests/fixtures/tls_keepalive_client.py)
// and by Debian's docker-registry delivering its notifications over HTTPS.

#include "tests/config/env_guard.hpp"
#include "tests/e2e/oci_image_helper.hpp"
#include "tests/e2e/pki_helper.hpp"
#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/daemon.hpp"
#include "tests/fixtures/poll.hpp"
#include "tests/test_secrets.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace regevent::test {
namespace {

using namespace std::chrono_literals;

using secrets::admin_token;
/// The registry's token: what its notifications carry.
constexpr const char* notify_secret = secrets::notify_token;

/// What curl made of one request: its exit code (0, or why the transfer
/// failed: 35/56 a refused handshake, 60 an untrusted server), the HTTP
/// status (0 when none came), the body, and curl's error text.
struct curl_answer {
  int exit_code = -1;
  int status = 0;
  std::string body;
  std::string output;
};

curl_answer curl(const temp_dir& dir, std::vector<std::string> options,
                 const std::string& url) {
  auto body_path = dir.file("curl-body");
  std::remove(body_path.c_str());
  std::vector<std::string> argv{
      "curl", "-sS",     "--max-time", "20",
      "-o",   body_path, "-w",         "\nstatus=%{http_code}\n"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(url);
  auto run = run_command(argv, 30s);
  curl_answer a;
  a.exit_code = run.exit_code;
  a.output = run.output;
  if (auto at = run.output.rfind("status="); at != std::string::npos)
    a.status = std::atoi(run.output.c_str() + at + 7);
  if (std::filesystem::exists(body_path))
    a.body = read_file(body_path);
  return a;
}

std::string https(uint16_t port, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

std::string tls_yaml(const test_certificate& server,
                     const std::string& extra = {}) {
  return "tls:\n  cert_file: " + server.certificate
         + "\n  key_file: " + server.key + "\n" + extra;
}

std::string auth_yaml() {
  return std::string("auth:\n  notify_token: ") + notify_secret
         + "\n  admin_token: " + admin_token + "\n";
}

class tls_listener : public ::testing::Test {
protected:
  void TearDown() override {
    if (HasFailure() && daemon_)
      std::cerr << "---- regeventd log\n" << daemon_->log();
  }

  daemon_process& start_daemon(const std::string& yaml) {
    daemon_ = std::make_unique<daemon_process>(dir_, yaml);
    EXPECT_TRUE(daemon_->start()) << daemon_->log();
    return *daemon_;
  }

  /// POST of a captured registry body to the notification endpoint.
  curl_answer notify(std::vector<std::string> options) {
    auto body = dir_.file("notification.json");
    write_file(body, registry_fixture("03-push-manifest-oci-tag.json"));
    options.insert(
        options.end(),
        {"-X", "POST", "-H",
         "Content-Type: application/vnd.docker.distribution.events.v1+json",
         "-H", std::string("Authorization: Bearer ") + notify_secret,
         "--data-binary", "@" + body});
    return curl(dir_, options,
                https(daemon_->port(), "/service/notifications"));
  }

  /// GET /healthz trusting only `ca`: 200, or 0 when no answer came.
  int health(const test_ca& ca) {
    return curl(dir_, {"--cacert", ca.certificate},
                https(daemon_->port(), "/healthz"))
        .status;
  }

  temp_dir dir_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(tls_listener,
       serves_https_to_clients_that_trust_its_ca_and_nothing_else) {
  auto ca = make_test_ca(dir_, "main");
  auto server = issue_certificate(dir_, ca, "server", certificate_use::server);
  auto& d = start_daemon(tls_yaml(server));

  auto ok
      = curl(dir_, {"--cacert", ca.certificate}, https(d.port(), "/healthz"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.status, 200) << ok.output;

  // The system store does not know the test CA: the certificate served is
  // the one configured, not some default.
  auto untrusted = curl(dir_, {}, https(d.port(), "/healthz"));
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.output;

  // Plain HTTP on the TLS port gets no HTTP answer, and the daemon serves on.
  auto plain = curl(
      dir_, {}, "http://127.0.0.1:" + std::to_string(d.port()) + "/healthz");
  EXPECT_NE(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(plain.status, 0) << plain.output;
  EXPECT_EQ(health(ca), 200);
  EXPECT_EQ(d.stop(), 0);
}

TEST_F(tls_listener, min_version_1_3_refuses_a_tls_1_2_client) {
  auto ca = make_test_ca(dir_, "main");
  auto server = issue_certificate(dir_, ca, "server", certificate_use::server);
  auto& d = start_daemon(tls_yaml(server, "  min_version: \"1.3\"\n"));
  auto old = curl(dir_, {"--cacert", ca.certificate, "--tls-max", "1.2"},
                  https(d.port(), "/healthz"));
  EXPECT_EQ(old.exit_code, 35) << old.output;
  auto current = curl(dir_, {"--cacert", ca.certificate, "--tlsv1.3"},
                      https(d.port(), "/healthz"));
  EXPECT_EQ(current.status, 200) << current.output;
  EXPECT_EQ(d.stop(), 0);
}

TEST_F(tls_listener, client_certificates_gate_notifications_but_not_the_api) {
  auto ca = make_test_ca(dir_, "main");
  auto server = issue_certificate(dir_, ca, "server", certificate_use::server);
  auto clients = make_test_ca(dir_, "clients");
  auto registry = issue_certificate(dir_, clients, "registry-client",
                                    certificate_use::client);
  auto expired = issue_certificate(dir_, clients, "expired-client",
                                   certificate_use::client, -1);
  auto rogue_ca = make_test_ca(dir_, "rogue");
  auto rogue = issue_certificate(dir_, rogue_ca, "rogue-client",
                                 certificate_use::client);
  auto& d = start_daemon(
      tls_yaml(server, "  client_ca_file: " + clients.certificate + "\n")
      + auth_yaml());
  std::vector<std::string> trust{"--cacert", ca.certificate};
  auto with = [&](const test_certificate& c) {
    auto o = trust;
    o.insert(o.end(), {"--cert", c.certificate, "--key", c.key});
    return o;
  };

  auto accepted = notify(with(registry));
  ASSERT_EQ(accepted.status, 200) << accepted.output << accepted.body;
  EXPECT_EQ(nlohmann::json::parse(accepted.body).value("accepted", -1), 1)
      << accepted.body;

  // The right token without a certificate is not enough.
  auto bare = notify(trust);
  EXPECT_EQ(bare.status, 403) << bare.output;
  EXPECT_NE(bare.body.find("client certificate"), std::string::npos)
      << bare.body;

  // A certificate that does not verify ends the handshake, with the
  // reason in the alert.
  auto old = notify(with(expired));
  EXPECT_NE(old.exit_code, 0) << old.output;
  EXPECT_EQ(old.status, 0) << old.output;
  EXPECT_NE(old.output.find("certificate expired"), std::string::npos)
      << old.output;
  auto stranger = notify(with(rogue));
  EXPECT_NE(stranger.exit_code, 0) << stranger.output;
  EXPECT_EQ(stranger.status, 0) << stranger.output;
  EXPECT_NE(stranger.output.find("unknown ca"), std::string::npos)
      << stranger.output;

  // The API keeps its tokens: no certificate needed.
  auto o = trust;
  o.insert(o.end(),
           {"-H", std::string("Authorization: Bearer ") + admin_token});
  auto api = curl(dir_, o, https(d.port(), "/api/v2.0/projects/library"));
  EXPECT_EQ(api.status, 200) << api.output << api.body;

  // Only the one notification that got through was kept.
  EXPECT_EQ(sql_scalar(d.database_path(), "SELECT COUNT(*) FROM events"), 1);
  EXPECT_EQ(d.stop(), 0);
  EXPECT_EQ(count_log_lines(d.log(), {"TLS handshake failed"}), 2u) << d.log();
}

TEST_F(tls_listener, sighup_reloads_the_certificate_for_new_handshakes_only) {
  auto first_ca = make_test_ca(dir_, "first");
  auto first = issue_certificate(dir_, first_ca, "first-server",
                                 certificate_use::server);
  auto second_ca = make_test_ca(dir_, "second");
  auto second = issue_certificate(dir_, second_ca, "second-server",
                                  certificate_use::server);
  // The daemon reads fixed paths, as a renewal tool (certbot) overwrites
  // them in place.
  test_certificate live{dir_.file("live.crt"), dir_.file("live.key")};
  write_file(live.certificate, read_file(first.certificate));
  write_file(live.key, read_file(first.key));
  auto& d = start_daemon(tls_yaml(live, "http:\n  idle_timeout_ms: 120000\n"));

  // A client that keeps its connection open across the reload.
  auto go = dir_.file("go");
  auto client_log = dir_.file("keepalive.log");
  auto client = start_process(
      {"python3",
       std::string(REGEVENT_FIXTURES_DIR) + "/../tls_keepalive_client.py",
       "127.0.0.1", std::to_string(d.port()), first_ca.certificate, "/healthz",
       go},
      client_log);
  ASSERT_GT(client, 0);
  ASSERT_TRUE(poll_until([&] {
    return read_file(client_log).find("first 200") != std::string::npos;
  })) << read_file(client_log);

  write_file(live.certificate, read_file(second.certificate));
  write_file(live.key, read_file(second.key));
  d.signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] {
    return count_log_lines(d.log(), {"reloaded its TLS certificate"}) == 1;
  })) << d.log();

  auto renewed = curl(dir_, {"--cacert", second_ca.certificate},
                      https(d.port(), "/healthz"));
  EXPECT_EQ(renewed.status, 200) << renewed.output;
  auto stale = curl(dir_, {"--cacert", first_ca.certificate},
                    https(d.port(), "/healthz"));
  EXPECT_EQ(stale.exit_code, 60) << stale.output;

  // The connection opened before the reload is served on; a new one to
  // a client trusting only the first CA would have failed.
  write_file(go, "");
  int exit_code = 0;
  ASSERT_TRUE(poll_until([&] { return process_ended(client, exit_code); }))
      << read_file(client_log);
  EXPECT_EQ(exit_code, 0) << read_file(client_log);
  EXPECT_NE(read_file(client_log).find("second 200 same"), std::string::npos)
      << read_file(client_log);

  // A reload that cannot read the files keeps the certificate in use.
  write_file(live.certificate, "not a certificate\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(poll_until([&] {
    return count_log_lines(d.log(), {"cannot reload TLS", "tls.cert_file"})
           == 1;
  })) << d.log();
  EXPECT_EQ(health(second_ca), 200);
  EXPECT_EQ(d.stop(), 0);
}

TEST_F(tls_listener, a_daemon_with_unusable_tls_files_does_not_start) {
  auto ca = make_test_ca(dir_, "main");
  auto server = issue_certificate(dir_, ca, "server", certificate_use::server);
  auto other = issue_certificate(dir_, ca, "other", certificate_use::server);
  // The key of another certificate.
  daemon_process mismatched(dir_, "tls:\n  cert_file: " + server.certificate
                                      + "\n  key_file: " + other.key + "\n");
  EXPECT_FALSE(mismatched.start());
  EXPECT_EQ(count_log_lines(mismatched.log(),
                            {"tls.key_file", other.key, "mismatch"}),
            1u)
      << mismatched.log();
  temp_dir elsewhere;
  daemon_process missing(elsewhere, "tls:\n  cert_file: /nonexistent.pem\n"
                                    "  key_file: "
                                        + server.key + "\n");
  EXPECT_FALSE(missing.start());
  EXPECT_EQ(count_log_lines(missing.log(),
                            {"tls.cert_file: cannot use '/nonexistent.pem'"}),
            1u)
      << missing.log();
}

TEST_F(tls_listener, the_real_registry_delivers_its_notifications_over_https) {
  auto ca = make_test_ca(dir_, "main");
  auto server = issue_certificate(dir_, ca, "server", certificate_use::server);
  auto& d = start_daemon(tls_yaml(server) + auth_yaml());
  // Go's TLS reads its trusted CAs from SSL_CERT_FILE: the registry (a
  // child of this test) trusts the test CA and nothing else.
  env_guard trust;
  trust.set("SSL_CERT_FILE", ca.certificate);
  registry_process registry(dir_, https(d.port(), "/service/notifications"),
                            notify_secret);
  ASSERT_TRUE(registry.start()) << registry.log();
  skopeo_client skopeo(dir_);
  auto image = write_oci_image(dir_.file("image"), "v1", "tls e2e image\n");
  auto pushed = skopeo.push(image, registry.ref("secure/hello", "v1"));
  ASSERT_TRUE(pushed.ok()) << pushed.output;
  auto pulled = skopeo.pull(registry.ref("secure/hello", "v1"));
  ASSERT_TRUE(pulled.ok()) << pulled.output;

  std::vector<std::string> api{"--cacert", ca.certificate, "-H",
                               std::string("Authorization: Bearer ")
                                   + admin_token};
  nlohmann::json repo;
  EXPECT_TRUE(poll_until(
      [&] {
        auto a = curl(dir_, api,
                      https(d.port(), "/api/v2.0/projects/secure/repositories/"
                                      "hello"));
        if (a.status != 200)
          return false;
        repo = nlohmann::json::parse(a.body, nullptr, false);
        return repo.is_object() && repo.value("pull_count", 0) == 1;
      },
      30s))
      << repo.dump() << "\n"
      << registry.log();
  EXPECT_EQ(repo.value("name", ""), "secure/hello");
  registry.stop();
  EXPECT_EQ(d.stop(), 0);
  // Every delivery went over TLS: the registry never saw an error.
  EXPECT_EQ(count_log_lines(registry.log(), {"retryingsink"}), 0u);
}

} // namespace
} // namespace regevent::test
