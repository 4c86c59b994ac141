// @brief When is one kernel faster than another? A win must exceed the noise both measurements
// carry, judged per workload as the contest scores: the mean over workloads of best / candidate.
#pragma once

#include <map>
#include <string>

namespace kforge::search {

struct WorkloadTiming {
  double latency_us = 0;  // mean of the timing trials' medians
  double spread_us = 0;   // max - min of those medians (the trace's kforge.timing.spread_us)
};
using Timings = std::map<std::string, WorkloadTiming>;  // by workload uuid

struct WinVerdict {
  bool wins = false;
  int workloads = 0;          // compared (present in both)
  double candidate_us = 0;    // mean latency over them
  double other_us = 0;
  double speedup = 0;         // mean over workloads of other / candidate
  double noise = 0;           // mean over workloads of (spread_c + spread_o) / other
  double threshold = 0;       // max(noise, min_gain)
  std::string reason;         // "x1.84 > 1 + 0.031 (noise)" or why not
};

// The candidate wins when speedup - 1 > max(noise, min_gain). Both maps must hold the same
// workloads (a workload only one side passed is a loss for the candidate); min_gain (e.g. 0.02)
// guards against a spread of zero from too few timing trials.
WinVerdict compare_timings(const Timings& candidate, const Timings& other, double min_gain);

// Mean latency and mean spread of a set of timings (0 when empty).
double mean_latency(const Timings& t);
double mean_spread(const Timings& t);

}  // namespace kforge::search
