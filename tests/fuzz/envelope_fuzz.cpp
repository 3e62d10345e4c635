// libFuzzer target: any bytes as a notification body into parse_envelope.
// Besides the sanitizers' findings it checks the parser's contract: an
// answer or an error message, never both; nothing accepted that is not
// JSON; each event's `raw` a slice of the body that is a JSON object.

#include "http/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "envelope_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto parsed = regevent::parse_envelope(body, 1'800'000'000'000'000, error);
  if (!parsed) {
    if (error.empty())
      broken("rejected without a message");
    return 0;
  }
  if (!error.empty())
    broken("accepted with an error message");
  if (!nlohmann::json::accept(body))
    broken("accepted a body that is not JSON");
  for (const auto& e : parsed->events) {
    if (e.id.empty() || e.repository.empty())
      broken("kept an event without id or repository");
    if (body.find(e.raw) == std::string_view::npos)
      broken("an event's raw text is not a slice of the body");
    auto raw = nlohmann::json::parse(e.raw, nullptr, false);
    if (!raw.is_object())
      broken("an event's raw text is not a JSON object");
  }
  return 0;
}
