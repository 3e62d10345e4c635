#pragma once

#include "config/config.hpp"

namespace regevent {

/// Installs the default spdlog logger on stderr: text, or one JSON object
/// per line (`log.format: json`), at `log.level`.
void setup_logging(const config& cfg);

} // namespace regevent
