#pragma once

// Internal to config/: only its .cpp files that parse with uriparser include
// this (config's other headers include nothing but the standard library).

#include <uriparser/Uri.h>

#include <string>

namespace regevent {

/// The text of one component uriparser found; empty when it is missing.
inline std::string uri_text(const UriTextRangeA& r) {
  if (r.first == nullptr || r.afterLast == nullptr)
    return {};
  return std::string(r.first, r.afterLast);
}

} // namespace regevent
