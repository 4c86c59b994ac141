#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kforge {

TimingStats summarize_times(std::vector<double> us, std::string method) {
  TimingStats s;
  s.method = std::move(method);
  s.per_call_us = us;
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  const std::size_t n = us.size();
  s.median_us = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  s.min_us = us.front();
  s.max_us = us.back();
  s.mean_us = std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(n);
  double var = 0;
  for (double v : us) var += (v - s.mean_us) * (v - s.mean_us);
  s.stddev_us = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0;
  return s;
}

}  // namespace kforge
