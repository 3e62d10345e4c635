#pragma once

/// How often a supervised actor may be restarted: at most `max_restarts`
/// within a sliding window of `window_s` seconds. Past that a restart would
/// only hide a failure that repeats; the supervisor gives up and the daemon
/// reports not-ready with the reason.

#include "config/config.hpp"

#include <chrono>
#include <deque>
#include <string>

namespace regevent {

class restart_budget {
public:
  using clock = std::chrono::steady_clock;

  restart_budget() = default;
  explicit restart_budget(restart_policy policy) : policy_(policy) {}

  /// Records a death at `now`; true when a restart is still allowed.
  bool allow(clock::time_point now = clock::now()) {
    while (!times_.empty()
           && now - times_.front() > std::chrono::seconds(policy_.window_s))
      times_.pop_front();
    if (times_.size() >= policy_.max_restarts)
      return false;
    times_.push_back(now);
    return true;
  }

  /// Why the budget refused, for the not-ready reason.
  std::string why_refused(const std::string& who) const {
    return who + " died " + std::to_string(times_.size() + 1) + " times within "
           + std::to_string(policy_.window_s)
           + " s, past effects.restart.max_restarts ("
           + std::to_string(policy_.max_restarts) + ")";
  }

private:
  restart_policy policy_;
  std::deque<clock::time_point> times_;
};

} // namespace regevent
