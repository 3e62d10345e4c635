#pragma once

// What several actor tests share: a kept manifest pull, and a test double
// of the supervisor that never answers (named so).

#include "actors/actors.hpp"
#include "actors/errors.hpp"
#include "tests/fixtures/event_seq.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <string>

namespace regevent::test {

/// A manifest pull of library/hello:1.0 that the filter keeps (and counts
/// when `method` is GET), as the registry would journal it (with a seq
/// from its id, for tests that hand it to an effect directly).
inline event_record manifest_pull(const std::string& id,
                                  const std::string& method = "GET") {
  event_record e;
  e.id = id;
  e.seq = seq_for(id);
  e.action = "pull";
  e.repository = "library/hello";
  e.tag = "1.0";
  e.digest = "sha256:abc";
  e.media_type = "application/vnd.oci.image.manifest.v1+json";
  e.method = method;
  e.user_agent = "containerd/1.7";
  e.raw = "{}";
  e.time = e.received = now_us();
  return e;
}

/// Test double of the supervisor that never hands out the topology: a
/// dispatcher waits for it until its timeout, then quits (its events stay
/// journaled). The argument only keeps CAF 0.17 from spawning a function
/// without arguments (it dereferences a null argument tuple then).
inline supervisor_actor::behavior_type
silent_supervisor(supervisor_actor::pointer self, int /*unused*/) {
  return {
      [self](atom::get) -> caf::result<effect_pools> {
        return self->make_response_promise<effect_pools>();
      },
      [](atom::get, const std::string& effect,
         const std::string&) -> caf::result<effect_actor> {
        return make_error(ec::effect_unavailable, effect);
      },
      [](atom::bind, journal_actor&) {},
  };
}

} // namespace regevent::test
