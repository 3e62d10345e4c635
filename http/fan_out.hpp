#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace regevent {

/// Runs `work(i)` for every `i` below `count` on up to `threads` threads,
/// the caller's among them, each taking the next index when it is done
/// with one; returns once all are done. For the blocking registry reads of
/// a port, a few at once. `work` must not throw.
template<class F>
void fan_out(size_t threads, size_t count, F work) {
  size_t workers = std::min(std::max<size_t>(1, threads), count);
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i = next++; i < count; i = next++)
      work(i);
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w)
    pool.emplace_back(run);
  run();
  for (auto& t : pool)
    t.join();
}

} // namespace regevent
