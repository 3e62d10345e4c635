#include "config/percent.hpp"

#include <uriparser/Uri.h>

namespace regevent {

std::string percent_decode(const std::string& text) {
  std::string out = text;
  // The in-place decoder never grows the text and returns its new end.
  const char* end
      = uriUnescapeInPlaceExA(out.data(), URI_FALSE, URI_BR_DONT_TOUCH);
  out.resize(static_cast<size_t>(end - out.data()));
  return out;
}

std::string percent_encode(const std::string& text) {
  // uriparser stops at a NUL even with an explicit end: encode the runs
  // between NULs and write those by hand.
  std::string out;
  for (size_t start = 0;;) {
    auto nul = text.find('\0', start);
    auto run = text.substr(start, nul == std::string::npos ? std::string::npos
                                                           : nul - start);
    // Each byte takes at most three characters (normalizeBreaks off), plus
    // the terminator uriparser writes.
    std::string encoded(run.size() * 3 + 1, '\0');
    const char* end = uriEscapeExA(run.data(), run.data() + run.size(),
                                   encoded.data(), URI_FALSE, URI_FALSE);
    out.append(encoded.data(), static_cast<size_t>(end - encoded.data()));
    if (nul == std::string::npos)
      return out;
    out += "%00";
    start = nul + 1;
  }
}

} // namespace regevent
