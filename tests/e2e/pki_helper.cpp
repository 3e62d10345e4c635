#include "tests/e2e/pki_helper.hpp"

#include "tests/e2e/registry_helper.hpp"

#include <stdexcept>
#include <vector>

namespace regevent::test {
namespace {

void run_openssl(const std::vector<std::string>& argv) {
  auto made = run_command(argv);
  if (!made.ok())
    throw std::runtime_error("openssl " + argv.at(1)
                             + " failed: " + made.output);
}

} // namespace

test_ca make_test_ca(const temp_dir& dir, const std::string& name) {
  test_ca ca{dir.file(name + "-ca.crt"), dir.file(name + "-ca.key")};
  run_openssl({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
               "-keyout", ca.key, "-out", ca.certificate, "-days", "1", "-subj",
               "/CN=regevent test CA " + name, "-addext",
               "basicConstraints = critical, CA:TRUE", "-addext",
               "keyUsage = critical, keyCertSign, cRLSign"});
  return ca;
}

test_certificate issue_certificate(const temp_dir& dir, const test_ca& ca,
                                   const std::string& name, certificate_use use,
                                   int days) {
  test_certificate issued{dir.file(name + ".crt"), dir.file(name + ".key")};
  auto request = dir.file(name + ".csr");
  auto extensions = dir.file(name + ".ext");
  bool server = use == certificate_use::server;
  write_file(extensions,
             std::string(server ? "subjectAltName = IP:127.0.0.1\n" : "")
                 + "basicConstraints = critical, CA:FALSE\n"
                   "keyUsage = critical, digitalSignature, keyEncipherment\n"
                   "extendedKeyUsage = "
                 + (server ? "serverAuth" : "clientAuth") + "\n");
  run_openssl({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
               issued.key, "-out", request, "-subj",
               "/CN=" + (server ? std::string("127.0.0.1") : name)});
  // A negative -days puts notAfter before notBefore (now): expired.
  run_openssl({"openssl", "x509", "-req", "-in", request, "-CA", ca.certificate,
               "-CAkey", ca.key, "-CAcreateserial", "-out", issued.certificate,
               "-days", std::to_string(days), "-extfile", extensions});
  return issued;
}

} // namespace regevent::test
