#include "actors/observability/health.hpp"

namespace regevent {

void health::set_failed(std::string why) {
  std::lock_guard<std::mutex> guard(mtx_);
  failure_ = std::move(why);
}

std::string health::not_ready_reason() const {
  if (shutting_down.load())
    return "shutting down";
  if (!database_ok.load())
    return "database unreachable";
  std::lock_guard<std::mutex> guard(mtx_);
  return failure_;
}

} // namespace regevent
