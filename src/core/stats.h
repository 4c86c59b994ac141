// @brief Summary statistics of repeated timings (median, mean, spread).
#pragma once

#include <string>
#include <vector>

namespace kforge {

struct TimingStats {
  std::vector<double> per_call_us;
  double median_us = 0, mean_us = 0, min_us = 0, max_us = 0;
  double stddev_us = 0;  // sample standard deviation (n - 1); 0 for one sample
  std::string method;    // what measured, with the reason for any fallback
};

// Median of an even count is the mean of the two middle values.
TimingStats summarize_times(std::vector<double> per_call_us, std::string method);

}  // namespace kforge
