#include "config/http_url.hpp"

#include "config/uri_text.hpp"

#include <algorithm>
#include <cctype>

namespace regevent {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

} // namespace

std::optional<http_url> parse_http_url(const std::string& url,
                                       std::string& error) {
  UriUriA uri;
  const char* error_pos = nullptr;
  if (uriParseSingleUriA(&uri, url.c_str(), &error_pos) != URI_SUCCESS) {
    error = "not a valid URL (at character "
            + std::to_string(error_pos ? error_pos - url.c_str() : 0) + ")";
    return std::nullopt;
  }
  struct guard {
    UriUriA* u;
    ~guard() {
      uriFreeUriMembersA(u);
    }
  } g{&uri};
  // uriparser stops at a NUL: the rest would silently go unchecked.
  if (url.find('\0') != std::string::npos) {
    error = "the URL contains a NUL byte";
    return std::nullopt;
  }
  auto scheme = lower(uri_text(uri.scheme));
  http_url out;
  uint16_t default_port = 80;
  if (scheme == "https") {
    out.tls = true;
    default_port = 443;
  } else if (scheme != "http") {
    error = scheme.empty() ? "not an absolute URL (no scheme)"
                           : "unsupported URL scheme '" + scheme
                                 + "' (only http and https)";
    return std::nullopt;
  }
  out.host = lower(uri_text(uri.hostText));
  if (out.host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  if (uri.userInfo.first != nullptr) {
    error = "credentials in the URL are not supported (they would be "
            "logged): send an Authorization header";
    return std::nullopt;
  }
  bool ipv6 = uri.hostData.ip6 != nullptr || uri.hostData.ipFuture.first;
  out.host_is_address = ipv6 || uri.hostData.ip4 != nullptr;
  out.port = default_port;
  auto port = uri_text(uri.portText);
  if (!port.empty()) {
    // uriparser allows digits only, of any length.
    if (port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535) {
      error = "the URL's port " + port + " is out of range";
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(std::stoul(port));
  }
  out.host_header = ipv6 ? "[" + out.host + "]" : out.host;
  if (out.port != default_port)
    out.host_header += ":" + std::to_string(out.port);
  for (auto* segment = uri.pathHead; segment != nullptr;
       segment = segment->next)
    out.target += "/" + uri_text(segment->text);
  if (out.target.empty())
    out.target = "/";
  if (uri.query.first != nullptr)
    out.target += "?" + uri_text(uri.query);
  return out;
}

} // namespace regevent
