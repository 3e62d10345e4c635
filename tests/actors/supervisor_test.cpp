// Deterministic tests of the effect supervisor: a dead effect is replaced
// and the replacement is what `get` hands out; past the restart budget the
// daemon turns not-ready; an exit message stops every effect before the
// supervisor quits. The effects are test doubles (named so): the real ones
// are detached and block on SQLite, which the deterministic scheduler
// cannot drive.

#include "actors/errors.hpp"
#include "actors/supervisor.hpp"
#include "tests/actors/actor_test_fixture.hpp"

#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <set>

namespace regevent::test {
namespace {

/// Test double of an effect actor: answers every request, does nothing.
/// The argument only keeps CAF 0.17 from spawning a function without
/// arguments (it dereferences a null argument tuple then).
effect_actor::behavior_type idle_effect(effect_actor::pointer,
                                        effect_kind /*effect*/) {
  return {
      [](atom::apply, planned_event&) { return true; },
      [](atom::resolve, const std::string&) { return true; },
      [](atom::flush) {},
      [](atom::bind, journal_actor&) {},
  };
}

struct supervisor_fixture : ::testing::Test {
  supervisor_fixture() : t(config_with(2)) {}

  static config config_with(uint32_t max_restarts) {
    auto c = default_config();
    c.effects.restart = {max_restarts, 600};
    // Two artifacts instances, the others as configured (one each).
    c.effects.actors.at("artifacts").instances = 2;
    return c;
  }

  supervisor_actor start() {
    auto cfg = supervisor_config::from(t.rt);
    cfg.spawn = [](caf::actor_system& sys, const effect_actor_config& c) {
      return sys.spawn(idle_effect, c.effect);
    };
    cfg.validate();
    auto sup = t.sys.spawn(supervisor, std::move(cfg));
    t.run();
    return sup;
  }

  effect_pools pools_of(const supervisor_actor& sup) {
    effect_pools out;
    t.self->send(sup, atom::get_v);
    t.run();
    t.self->receive([&](effect_pools& p) { out = std::move(p); },
                    [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return out;
  }

  effect_actor instance_for(const supervisor_actor& sup,
                            const std::string& effect, const std::string& key) {
    effect_actor out;
    t.self->send(sup, atom::get_v, effect, key);
    t.run();
    t.self->receive([&](effect_actor& a) { out = std::move(a); },
                    [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return out;
  }

  actor_test t;
};

TEST_F(supervisor_fixture, starts_the_configured_topology) {
  auto sup = start();
  auto pools = pools_of(sup);
  ASSERT_EQ(pools.pools.size(), 7u);
  EXPECT_EQ(pools.pools.at("artifacts").size(), 2u);
  EXPECT_EQ(pools.pools.at("access_log").size(), 1u);
  std::set<caf::actor_addr> distinct;
  for (const auto& [name, pool] : pools.pools)
    for (const auto& a : pool)
      distinct.insert(a.address());
  EXPECT_EQ(distinct.size(), 8u);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(supervisor_fixture, a_dead_effect_is_replaced_and_handed_out) {
  auto sup = start();
  auto before = instance_for(sup, "access_log", "library/hello");
  caf::anon_send_exit(before, caf::exit_reason::kill);
  t.run();
  auto after = instance_for(sup, "access_log", "library/hello");
  ASSERT_TRUE(after);
  EXPECT_NE(after.address(), before.address());
  EXPECT_EQ(t.rt.stats->supervisor_restarts.Value(), 1u);
  EXPECT_EQ(t.rt.status->not_ready_reason(), "");
  // The replacement takes the dead one's slot, not a new one.
  EXPECT_EQ(pools_of(sup).pools.at("access_log").size(), 1u);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(supervisor_fixture, past_the_restart_budget_the_daemon_is_not_ready) {
  auto sup = start();
  // Two restarts are allowed within the window; the third death is not
  // followed by a restart.
  for (int i = 0; i < 3; ++i) {
    auto victim = instance_for(sup, "pull_counter", "x");
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    t.run();
  }
  EXPECT_EQ(t.rt.stats->supervisor_restarts.Value(), 2u);
  auto why = t.rt.status->not_ready_reason();
  EXPECT_NE(why.find("pull_counter died 3 times"), std::string::npos) << why;
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
}

TEST_F(supervisor_fixture, an_exit_stops_every_effect_before_the_supervisor) {
  auto sup = start();
  auto pools = pools_of(sup);
  t.self->monitor(sup);
  std::vector<caf::actor_addr> effects;
  for (const auto& [name, pool] : pools.pools)
    for (const auto& a : pool) {
      t.self->monitor(a);
      effects.push_back(a.address());
    }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  t.run();
  // Down messages arrive in the order the actors went down: every effect
  // first, the supervisor last.
  std::vector<caf::actor_addr> downs;
  for (size_t i = 0; i < effects.size() + 1; ++i)
    t.self->receive([&](caf::down_msg& d) { downs.push_back(d.source); });
  ASSERT_EQ(downs.size(), effects.size() + 1);
  EXPECT_EQ(downs.back(), sup.address());
  EXPECT_EQ(t.rt.stats->supervisor_restarts.Value(), 0u);
}

} // namespace
} // namespace regevent::test
