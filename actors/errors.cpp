#include "actors/errors.hpp"

#include <caf/sec.hpp>

namespace regevent {

const char* to_string(ec x) {
  switch (x) {
    case ec::unspecified:
      return "unspecified";
    case ec::database_error:
      return "database_error";
    case ec::database_unavailable:
      return "database_unavailable";
    case ec::database_conflict:
      return "database_conflict";
    case ec::injected_fault:
      return "injected_fault";
    case ec::effect_unavailable:
      return "effect_unavailable";
    case ec::shutting_down:
      return "shutting_down";
  }
  return "unknown";
}

bool is_transient(const caf::error& e) {
  if (e.category() != caf::atom("regevent"))
    return false;
  auto code = static_cast<ec>(e.code());
  return code == ec::database_unavailable || code == ec::database_conflict;
}

std::string describe(const caf::error& e) {
  if (!e)
    return "none";
  std::string text;
  if (e.category() == caf::atom("regevent"))
    text = to_string(static_cast<ec>(e.code()));
  else if (e.category() == caf::atom("system"))
    text = caf::to_string(static_cast<caf::sec>(e.code()));
  else
    text = "error " + std::to_string(e.code());
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>()) {
    const auto& s = ctx.get_as<std::string>(0);
    if (!s.empty())
      text += ": " + s;
  }
  return text;
}

} // namespace regevent
