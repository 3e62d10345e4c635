#pragma once

#include <string>

namespace regevent {

/// What the router needs of one HTTP request, copied out of the transport's
/// parser so that routing is independent of Beast.
struct incoming_request {
  std::string method;
  std::string target;
  std::string authorization;
  std::string content_type;
  std::string body;
  std::string request_id;
  std::string remote;
  /// Harbor's `X-Is-Resource-Name` header: `true` makes a project path
  /// segment of digits a name, not an id.
  std::string is_resource_name;
  /// The peer presented a certificate that tls.client_ca_file verified in
  /// the handshake (always false on plain HTTP).
  bool client_certificate = false;
};

} // namespace regevent
