#include "http/registry_ping.hpp"

#include "http/client.hpp"
#include "http/registry_client.hpp"

#include <thread>
#include <utility>

namespace regevent {

void ping_registry(std::shared_ptr<outbound_client> client,
                   registry_spec target,
                   std::function<void(std::string failure)> done) {
  registry_endpoint endpoint;
  endpoint.url = target.url;
  // The API lives under /v2/ of the origin.
  while (!endpoint.url.empty() && endpoint.url.back() == '/')
    endpoint.url.pop_back();
  endpoint.username = target.credential.access_key;
  endpoint.password = std::move(target.credential.access_secret);
  endpoint.tls.ca_file = target.ca_file;
  endpoint.tls.skip_cert_verify = target.insecure;
  // Detached: a rare admin call whose thread ends with the ping, bounded by
  // the registry client's request timeout; the client is kept alive by the
  // thread's copy of the pointer.
  std::thread([client = std::move(client), endpoint = std::move(endpoint),
               done = std::move(done)]() mutable {
    registry_client registry(*client, std::move(endpoint));
    auto answer = registry.ping();
    done(answer ? std::string() : answer.error().text());
  }).detach();
}

} // namespace regevent
