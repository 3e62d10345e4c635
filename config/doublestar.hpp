#pragma once

/// Harbor's filter patterns (replication name and tag filters): the
/// doublestar syntax of bmatcuk/doublestar, which Harbor matches with.

#include <string>

namespace regevent {

/// Whether `name` matches `pattern`, '/' separating path components:
/// `*` any run of characters within a component, `?` one character within
/// a component, `[...]` a class, `{a,b}` alternatives (nesting allowed),
/// and `**` as a whole component zero or more components (`library/**`
/// matches every repository under `library`; `**` matches every name).
/// A malformed pattern (an unclosed brace or class) matches nothing.
bool doublestar_match(const std::string& pattern, const std::string& name);

} // namespace regevent
