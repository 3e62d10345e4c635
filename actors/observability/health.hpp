#pragma once

#include <atomic>
#include <mutex>
#include <string>

namespace regevent {

/// What /readyz reports. Written by the actors that know, read by HTTP.
class health {
public:
  std::atomic<bool> database_ok{true};
  std::atomic<bool> shutting_down{false};

  /// A part of the daemon stopped working for good (restart budget spent,
  /// an actor died); /readyz reports `why` until the process restarts.
  void set_failed(std::string why);
  /// Empty when ready.
  std::string not_ready_reason() const;

private:
  mutable std::mutex mtx_;
  std::string failure_;
};

} // namespace regevent
