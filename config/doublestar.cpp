#include "config/doublestar.hpp"

#include <fnmatch.h>

#include <vector>

namespace regevent {

namespace {

/// The patterns `{a,b}` alternatives stand for, braces expanded from the
/// first one outwards (fnmatch knows no braces); false when a brace is
/// left open.
bool expand_braces(const std::string& pattern, std::vector<std::string>& out) {
  auto open = pattern.find('{');
  if (open == std::string::npos) {
    out.push_back(pattern);
    return true;
  }
  // The matching close brace and the top-level commas between.
  int depth = 0;
  std::vector<size_t> commas;
  size_t close = std::string::npos;
  for (size_t i = open; i < pattern.size(); ++i) {
    if (pattern[i] == '{')
      ++depth;
    else if (pattern[i] == '}' && --depth == 0) {
      close = i;
      break;
    } else if (pattern[i] == ',' && depth == 1)
      commas.push_back(i);
  }
  if (close == std::string::npos)
    return false;
  auto head = pattern.substr(0, open);
  auto tail = pattern.substr(close + 1);
  size_t start = open + 1;
  commas.push_back(close);
  for (auto end : commas) {
    if (!expand_braces(head + pattern.substr(start, end - start) + tail, out))
      return false;
    start = end + 1;
  }
  return true;
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    auto end = path.find('/', start);
    out.push_back(path.substr(start, end - start));
    if (end == std::string::npos)
      return out;
    start = end + 1;
  }
}

bool match_from(const std::vector<std::string>& pat, size_t p,
                const std::vector<std::string>& name, size_t n) {
  while (p < pat.size()) {
    if (pat[p] == "**") {
      // Zero or more whole components; the rest must match what follows.
      for (size_t k = n; k <= name.size(); ++k)
        if (match_from(pat, p + 1, name, k))
          return true;
      return false;
    }
    if (n == name.size() || fnmatch(pat[p].c_str(), name[n].c_str(), 0) != 0)
      return false;
    ++p;
    ++n;
  }
  return n == name.size();
}

} // namespace

bool doublestar_match(const std::string& pattern, const std::string& name) {
  std::vector<std::string> alternatives;
  if (!expand_braces(pattern, alternatives))
    return false;
  auto parts = components(name);
  for (const auto& alt : alternatives)
    if (match_from(components(alt), 0, parts, 0))
      return true;
  return false;
}

} // namespace regevent
