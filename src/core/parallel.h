// @brief parallel_for over an index range on a few host threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace kforge {

// Calls body(begin, end) on disjoint chunks covering [0, n). Chunks are at least `grain` long
// so small ranges stay on the calling thread. Body must not throw.
template <class Body>
void parallel_for(std::int64_t n, std::int64_t grain, Body&& body) {
  const auto hw = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  const std::int64_t chunks = std::clamp<std::int64_t>(n / std::max<std::int64_t>(grain, 1), 1, hw);
  if (chunks == 1) {
    body(std::int64_t{0}, n);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(chunks - 1));
  const std::int64_t step = (n + chunks - 1) / chunks;
  for (std::int64_t c = 1; c < chunks; ++c) {
    const std::int64_t b = c * step, e = std::min(n, b + step);
    if (b < e) threads.emplace_back([&body, b, e] { body(b, e); });
  }
  body(std::int64_t{0}, std::min(n, step));
  for (auto& t : threads) t.join();
}

}  // namespace kforge
