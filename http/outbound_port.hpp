#pragma once

#include "actors/outbound.hpp"

#include <memory>

namespace regevent {

class address_guard;
class outbound_client;

/// The actors' door to the outbound client: maps their plain requests to
/// the client's and its results back. A `guarded` request goes only to
/// addresses `guard` allows, checked after name resolution.
std::shared_ptr<outbound_port>
make_outbound_port(std::shared_ptr<outbound_client> client,
                   std::shared_ptr<const address_guard> guard);

} // namespace regevent
