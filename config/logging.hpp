#pragma once

#include "config/config.hpp"

namespace regevent {

/// Installs the default spdlog logger at `log.level`: text, or one JSON
/// object per line (`log.format: json`, keys `ts`, `level`, `logger`,
/// `thread`, `msg`), on stderr or appended to `log.file`. Throws
/// config_error naming `log.file` when that file cannot be opened.
void setup_logging(const config& cfg);

/// Opens `log.file` anew and goes on in it (SIGHUP: logrotate has moved
/// the old one away). Returns false, and keeps writing to the old file,
/// when the new one cannot be opened; true without a log file.
bool reopen_log_file();

} // namespace regevent
