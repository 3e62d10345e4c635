#include "actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace regevent {

namespace {

constexpr auto category = caf::atom("regevent");

} // namespace

const char* to_string(ec x) {
  switch (x) {
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
    case ec::not_found:
      return "not_found";
    case ec::already_exists:
      return "already_exists";
    case ec::overloaded:
      return "overloaded";
  }
  return "unknown";
}

caf::error make_error(ec x, std::string context) {
  return caf::make_error(x, std::move(context));
}

bool is(const caf::error& e, ec x) {
  return e.category() == category && e.code() == static_cast<uint8_t>(x);
}

bool is_transient(const caf::error& e) {
  return is(e, ec::database_unavailable) || is(e, ec::database_conflict);
}

std::string context_of(const caf::error& e) {
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return {};
}

std::string describe(const caf::error& e) {
  if (!e)
    return "none";
  std::string text;
  if (e.category() == category)
    text = to_string(static_cast<ec>(e.code()));
  else if (e.category() == caf::atom("system"))
    text = caf::to_string(static_cast<caf::sec>(e.code()));
  else
    text = "error " + std::to_string(e.code());
  if (auto ctx = context_of(e); !ctx.empty())
    text += ": " + ctx;
  return text;
}

} // namespace regevent
