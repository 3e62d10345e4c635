#include "tests/e2e/scanner_adapter_helper.hpp"

namespace regevent::test {

scanner_adapter_double::scanner_adapter_double(const temp_dir& dir,
                                               options opts,
                                               const std::string& name)
    : tls_(!opts.tls_cert.empty()), log_path_(dir.file(name + ".requests")) {
  std::vector<std::string> args{
      "--log",           log_path_,
      "--refresh-times", std::to_string(opts.refresh_times),
      "--refresh-after", std::to_string(opts.refresh_after)};
  if (!opts.auth.empty())
    args.insert(args.end(),
                {"--auth", opts.auth, "--credential", opts.credential});
  if (opts.port != 0)
    args.insert(args.end(), {"--port", std::to_string(opts.port)});
  if (opts.fail_scan)
    args.push_back("--fail-scan");
  if (opts.fail_metadata)
    args.push_back("--fail-metadata");
  if (!opts.registry_ca.empty())
    args.insert(args.end(), {"--registry-ca", opts.registry_ca});
  if (tls_)
    args.insert(args.end(),
                {"--tls-cert", opts.tls_cert, "--tls-key", opts.tls_key});
  process_ = std::make_unique<python_double>(dir, name,
                                             "scanner_adapter_double.py", args);
}

std::string scanner_adapter_double::url(const std::string& path) const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:")
         + std::to_string(port()) + path;
}

std::vector<nlohmann::json> scanner_adapter_double::log() const {
  return read_json_lines(log_path_);
}

} // namespace regevent::test
