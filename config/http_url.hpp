#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace regevent {

/// An outbound request's URL (a webhook, replication or scanner target),
/// split into what the connection needs (host, port, TLS) and what the
/// request line and Host header need. Here rather than in http/ so that the
/// configuration can check a target's URL with the same rules.
struct http_url {
  bool tls = false;
  /// Lower case; an IPv6 address without its brackets.
  std::string host;
  /// An IP literal: no SNI, and the certificate must name the address.
  bool host_is_address = false;
  uint16_t port = 0;
  /// `host[:port]` as the Host header wants it: brackets around an IPv6
  /// address, the port only when it is not the scheme's default.
  std::string host_header;
  /// Path and query as written in the URL (still percent-encoded); "/" for
  /// an empty path. The fragment is the client's and never sent.
  std::string target;
};

/// Parses an absolute http:// or https:// URL (uriparser). nullopt and
/// `error` when it is not one; the message never quotes the URL, whose
/// path or query may carry a token.
std::optional<http_url> parse_http_url(const std::string& url,
                                       std::string& error);

} // namespace regevent
