#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace regevent::test {

/// Sets (or unsets) environment variables for the lifetime of the guard and
/// restores their previous values afterwards, so that one test's overrides
/// never leak into the next.
class env_guard {
public:
  env_guard() = default;
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

  ~env_guard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        ::unsetenv(it->first.c_str());
    }
  }

  void set(const std::string& name, const std::string& value) {
    save(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }

  void unset(const std::string& name) {
    save(name);
    ::unsetenv(name.c_str());
  }

  /// Unsets every variable the configuration loader reads.
  void clear_regevent() {
    for (const char* name :
         {"REGEVENT_LISTEN", "REGEVENT_LISTEN_FILE", "REGEVENT_DATABASE_URL",
          "REGEVENT_DATABASE_URL_FILE", "REGEVENT_NOTIFY_TOKEN",
          "REGEVENT_NOTIFY_TOKEN_FILE", "REGEVENT_ADMIN_TOKEN",
          "REGEVENT_ADMIN_TOKEN_FILE", "REGEVENT_FAULT_INJECTION"})
      unset(name);
  }

private:
  void save(const std::string& name) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name,
                        old ? std::optional<std::string>(old) : std::nullopt);
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

} // namespace regevent::test
