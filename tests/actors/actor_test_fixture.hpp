#pragma once

// A deterministic CAF actor system for actor tests: the test coordinator
// runs every message on the test's thread and only advances the clock when
// told, so retries and timeouts are exact and nothing sleeps.

#include "actors/actors.hpp"
#include "actors/observability/health.hpp"
#include "actors/observability/metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <memory>

namespace regevent::test {

inline caf::actor_system_config& testing_config(caf::actor_system_config& c) {
  c.set("scheduler.policy", caf::atom("testing"));
  c.set("logger.file-verbosity", caf::atom("quiet"));
  c.set("logger.console-verbosity", caf::atom("quiet"));
  c.add_message_types<caf::id_block::regevent>();
  return c;
}

struct actor_test {
  explicit actor_test(config c = default_config())
      : sys(testing_config(sys_cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys, true) {
    rt.cfg = std::make_shared<const config>(std::move(c));
    rt.stats = std::make_shared<metrics>();
    rt.status = std::make_shared<health>();
    rt.instance_id = "test-instance";
  }

  /// Runs every message that is ready; returns how many ran.
  size_t run() {
    return sched.run();
  }

  /// Moves the clock forward and runs what that made ready.
  void advance(caf::timespan t) {
    sched.advance_time(t);
    run();
  }

  caf::actor_system_config sys_cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  runtime rt;
};

} // namespace regevent::test
