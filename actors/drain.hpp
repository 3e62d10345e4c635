#pragma once

/// The half of `drainable_actor` that the HTTP actor and recovery share:
/// the dispatchers a stage runs, and the shutdown requests that wait for
/// them to finish.

#include "actors/actors.hpp"

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <map>
#include <vector>

namespace regevent {

class metrics;

struct dispatcher_set {
  /// Live dispatchers, stopped with their stage.
  std::map<caf::actor_addr, dispatcher_actor> running;
  /// Set by a shutdown request: the stage starts no more work.
  bool stopping = false;
  /// Shutdown requests waiting until nothing is busy.
  std::vector<caf::typed_response_promise<bool>> waiting;

  /// Answers the waiting shutdown requests once `busy` reached zero.
  void settle(uint64_t busy) {
    if (busy > 0)
      return;
    for (auto& rp : waiting)
      rp.deliver(true);
    waiting.clear();
  }
};

/// `busy()` of the stage's state counts what keeps it from having drained:
/// dispatchers alive, and for the HTTP actor appends that will spawn one.
template<class Self>
auto shutdown_handler(Self self) {
  return [self](atom::shutdown) -> caf::result<bool> {
    auto& set = self->state.dispatchers;
    set.stopping = true;
    if (self->state.busy() == 0)
      return true;
    auto rp = self->template make_response_promise<bool>();
    set.waiting.push_back(rp);
    return rp;
  };
}

template<class Self>
auto status_handler(Self self) {
  return [self](atom::status) -> uint64_t {
    return self->state.busy();
  };
}

} // namespace regevent
