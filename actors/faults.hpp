#pragma once

/// Test-only fault injection (builds configured with
/// -DREGEVENT_FAULT_INJECTION=ON): the configured actor fails its next N
/// commits, by an error answer (`fail`) or by dying (`throw`).

#include "config/config.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace regevent {

/// Shared by all incarnations of one actor, so that "fail the next N
/// commits" survives the restarts it causes.
struct fault_budget {
  fault_mode mode = fault_mode::none;
  std::atomic<uint32_t> remaining{0};
  /// Commits that succeed before the first fault.
  std::atomic<uint32_t> skip{0};

  /// Whether this commit fails: false while commits are skipped, when no
  /// fault is left, or when injection is off.
  bool take() {
    if (mode == fault_mode::none)
      return false;
    if (spend(skip))
      return false;
    return spend(remaining);
  }

private:
  static bool spend(std::atomic<uint32_t>& counter) {
    auto left = counter.load();
    while (left > 0 && !counter.compare_exchange_weak(left, left - 1)) {
    }
    return left > 0;
  }
};

/// The budget of the actor named `actor` (an effect's name, or `journal`);
/// empty when the configuration aims at another actor, and always empty in
/// a build without fault injection.
inline std::shared_ptr<fault_budget> fault_budget_for(const config& cfg,
                                                      std::string_view actor) {
#ifdef REGEVENT_WITH_FAULT_INJECTION
  if (cfg.faults.mode != fault_mode::none && cfg.faults.effect == actor) {
    auto budget = std::make_shared<fault_budget>();
    budget->mode = cfg.faults.mode;
    budget->remaining = cfg.faults.count;
    budget->skip = cfg.faults.skip;
    return budget;
  }
#else
  static_cast<void>(cfg);
  static_cast<void>(actor);
#endif
  return nullptr;
}

} // namespace regevent
