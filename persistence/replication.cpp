#include "persistence/replication.hpp"

#include "config/doublestar.hpp"

namespace regevent {

std::optional<std::string>
destination_repository(const std::string& repository,
                       const std::string& dest_namespace,
                       int64_t replace_count) {
  if (dest_namespace.empty())
    return repository;
  auto last = repository.rfind('/');
  if (replace_count < 0)
    return dest_namespace + "/"
           + (last == std::string::npos ? repository
                                        : repository.substr(last + 1));
  // The components before the last are the ones a count may replace.
  size_t prefix = 0;
  for (char c : repository)
    prefix += c == '/' ? 1 : 0;
  if (static_cast<uint64_t>(replace_count) > prefix)
    return std::nullopt;
  size_t start = 0;
  for (int64_t i = 0; i < replace_count; ++i)
    start = repository.find('/', start) + 1;
  return dest_namespace + "/" + repository.substr(start);
}

bool policy_selects(const std::vector<replication_filter>& filters,
                    const std::string& repository, const std::string& tag) {
  for (const auto& f : filters) {
    if (f.value.empty())
      continue;
    if (f.type == "name" && !doublestar_match(f.value, repository))
      return false;
    if (f.type == "tag" && (tag.empty() || !doublestar_match(f.value, tag)))
      return false;
  }
  return true;
}

} // namespace regevent
