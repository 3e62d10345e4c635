#pragma once

#include <string>

namespace regevent {

/// Decodes every `%XX` escape (RFC 3986) in `text`; a malformed escape is
/// kept as written. `+` stays `+`: only HTML forms mean a space by it, and
/// the query dissector of uriparser handles those itself. A `%00` decodes to
/// a NUL byte inside the string, not to its end: callers that hand the value
/// on as a C string must reject it.
std::string percent_decode(const std::string& text);

/// Encodes every byte but the RFC 3986 unreserved characters (letters,
/// digits, `-._~`), so that the result is safe as any URL component, in a
/// header value (no CR, LF or delimiter survives) and decodes to `text`.
std::string percent_encode(const std::string& text);

} // namespace regevent
