#pragma once

// Beast's HTTP headers for the code that trips GCC 12's
// -Wmaybe-uninitialized under the sanitizers: Beast 1.74's parser returns
// boost::none from content_length_unchecked(), which GCC, inlining deeply
// enough (ASan builds of the client and its test), takes for an
// uninitialized optional. A false positive in headers we do not own, fatal
// under -Werror; server.cpp includes Beast directly and is not affected.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
