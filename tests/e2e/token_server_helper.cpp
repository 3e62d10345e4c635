#include "tests/e2e/token_server_helper.hpp"

#include "tests/e2e/registry_helper.hpp"
#include "tests/fixtures/poll.hpp"

#include <fstream>

namespace regevent::test {

using namespace std::chrono_literals;

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
  auto port_file = dir.file("token.port");
  std::vector<std::string> args{"python3",
                                std::string(REGEVENT_FIXTURES_DIR)
                                    + "/../token_server_double.py",
                                "--port-file",
                                port_file,
                                "--log",
                                log_path_,
                                "--key",
                                key_path,
                                "--cert",
                                cert_path_,
                                "--issuer",
                                issuer};
  if (!username.empty())
    args.insert(args.end(), {"--user", username, "--password", password});
  pid_ = start_process(args, dir.file("token.stderr"));
  if (pid_ < 0) {
    problem_ = "cannot start python3";
    return;
  }
  poll_until([&] { return !read_file(port_file).empty(); }, 20s);
  auto text = read_file(port_file);
  if (text.empty()) {
    problem_ = "no port within 20 s: " + read_file(dir.file("token.stderr"));
    return;
  }
  port_ = static_cast<uint16_t>(std::stoi(text));
}

token_server_double::~token_server_double() {
  stop_process(pid_);
}

std::string token_server_double::realm() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/token";
}

std::string token_server_double::registry_auth() const {
  return "auth:\n"
         "  token:\n"
         "    realm: "
         + realm() + "\n    service: " + service + "\n    issuer: " + issuer
         + "\n    rootcertbundle: " + cert_path_ + "\n";
}

std::vector<nlohmann::json> token_server_double::requests() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(log_path_);
  std::string line;
  while (std::getline(in, line))
    // A line being written is incomplete until its newline.
    if (!line.empty() && !in.eof())
      out.push_back(nlohmann::json::parse(line, nullptr, false));
  return out;
}

} // namespace regevent::test
