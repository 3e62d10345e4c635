#pragma once

#include "persistence/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regevent {

/// A notification body, parsed.
struct envelope {
  std::vector<event_record> events;
  /// Events that were unusable on their own (no id, unknown action, no
  /// target or repository): counted, never a reason to reject the batch.
  uint32_t ignored = 0;
};

/// Limits that keep one hostile body from costing more than it is worth.
namespace envelope_limits {
constexpr size_t max_depth = 64;
constexpr size_t max_id = 256;
constexpr size_t max_repository = 1024;
} // namespace envelope_limits

/// Parses a registry envelope `{"events":[...]}` in one pass, without a
/// DOM. Each event's `raw` is its original text, a slice of `body`. On a
/// malformed body returns nullopt and sets `error` to a message for the 400
/// answer. Never throws.
std::optional<envelope> parse_envelope(std::string_view body,
                                       timestamp_us received,
                                       std::string& error);

/// Whether a Content-Type is one a registry sends: the events v1/v2 JSON
/// types or application/json, parameters such as charset allowed.
bool is_notification_content_type(std::string_view content_type);

} // namespace regevent
