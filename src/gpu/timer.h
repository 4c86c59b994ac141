// @brief GPU timing of candidate calls as FlashInfer-Bench times them: cold L2 before every
// call, warm-up, per-call span from the first GPU activity to the last (CUPTI), CUDA events as
// the fallback, and a CUDA-graph mode for microsecond kernels.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gpu/device_buffer.h"

namespace kforge {

// The contest runs each workload as this many trials, each on fresh inputs: one
// time_gpu_calls per trial, then summarize_trials.
inline constexpr int kContestTrials = 3;

struct GpuTimingConfig {
  enum class Method {
    // Per call: last end - first start over every kernel, memcpy and memset the call enqueued
    // from this thread, on any stream (FlashInfer-Bench's method). Falls back to kEvents, and
    // says so in GpuTimingResult::method, when CUPTI cannot be used.
    kCupti,
    // Per call: events recorded on `stream` before and after. Sees only work ordered on
    // `stream`: work on another stream that is not joined back to it is missed, and the launch
    // latency of the first kernel is included.
    kEvents,
    // The call captured graph_calls times into one CUDA graph; each sample is one replay timed
    // with events, replays queued back to back behind a held stream, so launch overhead and
    // host gaps are excluded. L2 is warm (no flush inside the graph: for microsecond kernels a
    // 2x-L2 memset would dominate the sample). Not FlashInfer-Bench's method; for kernels too
    // short for per-call spans to be meaningful.
    kGraph,
  };
  int warmup = 10;
  int iterations = 50;
  bool cold_l2 = true;  // ignored by kGraph, which always runs warm
  Method method = Method::kCupti;
  // kCupti: every call must launch the same multiset of kernel names as the first timed call
  // (FlashInfer-Bench's "inconsistent kernel names" error). Disable for calls that legitimately
  // choose kernels per call.
  bool check_kernel_names = true;
  int graph_calls = 20;  // kGraph: calls captured back to back in the graph
  // kCupti, kEvents: runs after timed call i has completed (device synchronized), outside the
  // measured span; the evaluator checks an unpredictable timed call's outputs here.
  std::function<void(int)> after_timed_call;
};

struct GpuTimingResult {
  std::vector<double> per_call_us;  // one per timed call (kGraph: per replay / graph_calls)
  double median_us = 0;             // mean of the two middle values for an even count
  double mean_us = 0;
  double min_us = 0;
  double max_us = 0;
  double stddev_us = 0;  // sample standard deviation (n - 1); 0 for a single call
  // What ran: "cupti", "events", "events (cupti unavailable: <why>)",
  // "graph (warm L2, 20 calls per replay)".
  std::string method;
  std::vector<std::string> kernel_names;  // kCupti: the first timed call's kernels, by start time
  int streams = 0;                        // kCupti: distinct streams the first timed call used
};

// Times `call`, which enqueues one invocation on `stream` (it may launch several kernels,
// memsets and copies, also on other streams). Runs on the current device:
//   warm-up:  warmup times [flush L2, synchronize, call]
//   timed:    iterations times [flush L2, synchronize, call, synchronize]
// Device-wide synchronization after every timed call keeps calls from overlapping, as
// FlashInfer-Bench's torch.cuda.synchronize() does. Throws Error when a timed call leaves no GPU
// activity, when kernel sets differ between calls (kCupti), or when the call cannot be captured
// (kGraph). Not thread-safe per device; CUPTI timing is process-wide, one at a time.
GpuTimingResult time_gpu_calls(const std::function<void(cudaStream_t)>& call, cudaStream_t stream,
                            const GpuTimingConfig& cfg = {});

// Statistics over per-call times; method and kernel names are left to the caller.
GpuTimingResult summarize_calls(std::vector<double> per_call_us);

// Trials as the contest combines them: the mean of the per-trial medians, with their spread.
struct TrialSummary {
  std::vector<double> trial_medians_us;
  double mean_us = 0;
  double min_us = 0;
  double max_us = 0;
  double spread_pct = 0;  // (max - min) / mean * 100
};
TrialSummary summarize_trials(std::span<const GpuTimingResult> trials);

// Evicts the L2 cache by overwriting a buffer of twice its size (cudaDevAttrL2CacheSize of the
// current device), as FlashInfer-Bench zeroes its 2x-L2 buffer before each timed call.
class L2Flusher {
 public:
  L2Flusher();
  void flush(cudaStream_t stream) const;
  std::size_t bytes() const { return m_buffer.bytes(); }

 private:
  DeviceBuffer m_buffer;
};

}  // namespace kforge
