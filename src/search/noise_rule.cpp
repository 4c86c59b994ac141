#include "search/noise_rule.h"

#include <fmt/format.h>

#include <algorithm>

namespace kforge::search {

double mean_latency(const Timings& t) {
  double sum = 0;
  for (const auto& [w, x] : t) sum += x.latency_us;
  return t.empty() ? 0 : sum / static_cast<double>(t.size());
}

double mean_spread(const Timings& t) {
  double sum = 0;
  for (const auto& [w, x] : t) sum += x.spread_us;
  return t.empty() ? 0 : sum / static_cast<double>(t.size());
}

WinVerdict compare_timings(const Timings& candidate, const Timings& other, double min_gain) {
  WinVerdict v;
  for (const auto& [w, o] : other) {
    if (!candidate.count(w)) {
      v.reason = "no passing timing on workload " + w.substr(0, 8);
      return v;
    }
  }
  for (const auto& [w, c] : candidate) {
    if (!other.count(w)) {
      v.reason = "the other side has no passing timing on workload " + w.substr(0, 8);
      return v;
    }
  }
  if (candidate.empty()) {
    v.reason = "no workloads to compare";
    return v;
  }
  double ratio = 0, noise = 0;
  for (const auto& [w, c] : candidate) {
    const WorkloadTiming& o = other.at(w);
    ratio += c.latency_us > 0 ? o.latency_us / c.latency_us : 0;
    noise += o.latency_us > 0 ? (c.spread_us + o.spread_us) / o.latency_us : 0;
  }
  const double n = static_cast<double>(candidate.size());
  v.workloads = static_cast<int>(candidate.size());
  v.candidate_us = mean_latency(candidate);
  v.other_us = mean_latency(other);
  v.speedup = ratio / n;
  v.noise = noise / n;
  v.threshold = std::max(v.noise, min_gain);
  v.wins = v.speedup - 1 > v.threshold;
  v.reason = fmt::format("x{:.3f} {} 1 + {:.3f} ({}) over {} workloads", v.speedup, v.wins ? ">" : "<=", v.threshold,
                         v.noise >= min_gain ? "measured noise" : "minimum gain", v.workloads);
  return v;
}

}  // namespace kforge::search
