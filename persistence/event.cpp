#include "persistence/event.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace regevent {

timestamp_us now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string format_rfc3339(timestamp_us t) {
  auto secs = static_cast<time_t>(t / 1'000'000);
  auto millis = static_cast<int>((t % 1'000'000) / 1000);
  if (t < 0 && t % 1'000'000 != 0) {
    secs -= 1;
    millis = static_cast<int>((1'000'000 + t % 1'000'000) / 1000);
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Room for any int year, so that no output can be truncated.
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

bool parse_rfc3339(const std::string& text, timestamp_us& out) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr)
    return false;
  int64_t micros = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 6) {
        micros = micros * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    if (digits == 0)
      return false;
    while (digits++ < 6)
      micros *= 10;
  }
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    // Exactly `+hh:mm`: sscanf("%2d:%2d") also took "+2:0" or "+-1:-1",
    // and the fixed `rest += 6` then read past the end of the text.
    auto digit = [](char c) {
      return c >= '0' && c <= '9';
    };
    if (!digit(rest[1]) || !digit(rest[2]) || rest[3] != ':' || !digit(rest[4])
        || !digit(rest[5]))
      return false;
    int sign = *rest == '-' ? -1 : 1;
    int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
    int mm = (rest[4] - '0') * 10 + (rest[5] - '0');
    offset_s = sign * (hh * 3600 + mm * 60);
    rest += 6;
  } else {
    return false;
  }
  if (*rest != '\0')
    return false;
  auto secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  out = secs * 1'000'000 + micros;
  return true;
}

} // namespace regevent
