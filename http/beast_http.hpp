#pragma once

// Beast's HTTP headers for the code that trips GCC 12's
// -Wmaybe-uninitialized under the sanitizers: Beast 1.74's parser returns
// boost::none from content_length_unchecked(), which GCC, inlining deeply
// enough (ASan builds of the client and its test), takes for an
// uninitialized optional. A false positive in headers we do not own, fatal
// under -Werror; server.cpp includes Beast directly and is not affected.

// GCC only: clang has no such warning and, under -Werror, refuses to
// ignore one it does not know.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
