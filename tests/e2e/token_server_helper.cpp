#include "tests/e2e/token_server_helper.hpp"

namespace regevent::test {

token_server_double::token_server_double(const temp_dir& dir,
                                         std::string username,
                                         std::string password)
    : cert_path_(dir.file("token.crt")), log_path_(dir.file("token.requests")) {
  auto key_path = dir.file("token.key");
  auto made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048",
                           "-nodes", "-keyout", key_path, "-out", cert_path_,
                           "-days", "1", "-subj", "/CN=regevent token double"});
  if (!made.ok()) {
    problem_ = "openssl req failed: " + made.output;
    return;
  }
  std::vector<std::string> args{"--log",  log_path_,  "--key",    key_path,
                                "--cert", cert_path_, "--issuer", issuer};
  if (!username.empty())
    args.insert(args.end(), {"--user", username, "--password", password});
  process_ = std::make_unique<python_double>(dir, "token",
                                             "token_server_double.py", args);
  problem_ = process_->problem();
}

std::string token_server_double::realm() const {
  return process_->url("/token");
}

std::string token_server_double::registry_auth() const {
  return "auth:\n"
         "  token:\n"
         "    realm: "
         + realm() + "\n    service: " + service + "\n    issuer: " + issuer
         + "\n    rootcertbundle: " + cert_path_ + "\n";
}

std::vector<nlohmann::json> token_server_double::requests() const {
  return read_json_lines(log_path_);
}

} // namespace regevent::test
