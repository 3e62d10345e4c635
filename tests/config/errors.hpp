#pragma once

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace regevent::test {

/// The message of the config_error `yaml` raises; fails the test when it
/// loads.
inline std::string error_of(const std::string& yaml) {
  try {
    load_config_from_string(yaml);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "configuration loaded but should not:\n" << yaml;
  return {};
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace regevent::test
