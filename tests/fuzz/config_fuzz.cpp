// libFuzzer target: any bytes as configuration YAML into the loader
// (load_config_from_string: the file loader's parsing and validation
// without the file and the environment). Its contract: a configuration or
// a config_error naming the key; any other exception, which would end the
// daemon with a bare "terminate called", is a finding. A configuration it
// accepts must also survive being written out as YAML (--check-config).

#include "config/config.hpp"
#include "config/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = regevent::load_config_from_string(yaml);
    (void)regevent::to_yaml(cfg);
  } catch (const regevent::config_error&) {
    // Refused with a message naming the key: what the loader promises.
  }
  return 0;
}
