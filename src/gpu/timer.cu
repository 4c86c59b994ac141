#include "gpu/timer.h"

#include "core/stats.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/cupti_tracer.h"

namespace kforge {
namespace {

struct EventDeleter {
  void operator()(cudaEvent_t e) const { cudaEventDestroy(e); }
};
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDeleter>;

Event make_event() {
  cudaEvent_t e = nullptr;
  KFORGE_CUDA_CHECK(cudaEventCreate(&e));
  return Event(e);
}

struct GraphDeleter {
  void operator()(cudaGraph_t g) const { cudaGraphDestroy(g); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t g) const { cudaGraphExecDestroy(g); }
};
struct HostDeleter {
  void operator()(void* p) const { cudaFreeHost(p); }
};

double elapsed_us(const Event& start, const Event& end) {
  float ms = 0;
  KFORGE_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), end.get()));
  return static_cast<double>(ms) * 1e3;
}

void validate(const GpuTimingConfig& cfg) {
  require(cfg.warmup >= 0, "timing warm-up count is negative", ">= 0");
  require(cfg.iterations >= 1, "timing needs at least one timed call", "iterations >= 1");
  require(cfg.graph_calls >= 1, "graph timing needs at least one call per replay", "graph_calls >= 1");
}

// Flush (when asked) and wait for it, so that each call starts on an idle device with a cold L2.
class CallPreparer {
 public:
  explicit CallPreparer(bool cold_l2) {
    if (cold_l2) m_flusher.emplace();
  }
  void operator()(cudaStream_t stream) const {
    if (m_flusher) m_flusher->flush(stream);
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
  }

 private:
  std::optional<L2Flusher> m_flusher;
};

void warm_up(const std::function<void(cudaStream_t)>& call, cudaStream_t stream, const GpuTimingConfig& cfg,
             const CallPreparer& prepare) {
  for (int i = 0; i < cfg.warmup; ++i) {
    prepare(stream);
    call(stream);
  }
  KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
}

GpuTimingResult time_with_events(const std::function<void(cudaStream_t)>& call, cudaStream_t stream,
                              const GpuTimingConfig& cfg, std::string method) {
  const CallPreparer prepare(cfg.cold_l2);
  warm_up(call, stream, cfg, prepare);
  const Event start = make_event();
  const Event end = make_event();
  std::vector<double> per_call;
  per_call.reserve(static_cast<std::size_t>(cfg.iterations));
  for (int i = 0; i < cfg.iterations; ++i) {
    prepare(stream);
    KFORGE_CUDA_CHECK(cudaEventRecord(start.get(), stream));
    call(stream);
    KFORGE_CUDA_CHECK(cudaEventRecord(end.get(), stream));
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
    per_call.push_back(elapsed_us(start, end));
    if (cfg.after_timed_call) cfg.after_timed_call(i);
  }
  GpuTimingResult r = summarize_calls(std::move(per_call));
  r.method = std::move(method);
  return r;
}

std::vector<std::string> sorted_kernel_names(const std::vector<GpuActivity>& acts) {
  std::vector<std::string> names;
  for (const GpuActivity& a : acts) {
    if (a.kind == GpuActivity::Kind::kKernel) names.push_back(a.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s = "{";
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + "}";
}

GpuTimingResult time_with_cupti(CuptiTracer& tracer, const std::function<void(cudaStream_t)>& call,
                             cudaStream_t stream, const GpuTimingConfig& cfg) {
  const CallPreparer prepare(cfg.cold_l2);
  // The tracer is already on: the warm-up also absorbs CUPTI's first-launch instrumentation.
  warm_up(call, stream, cfg, prepare);
  for (int i = 0; i < cfg.iterations; ++i) {
    prepare(stream);
    {
      // Region ids are 1-based call numbers; the flush above lies outside every region.
      const CuptiTracer::Region region = tracer.region(static_cast<std::uint64_t>(i) + 1);
      call(stream);
    }
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
    if (cfg.after_timed_call) cfg.after_timed_call(i);
  }
  const std::map<std::uint64_t, std::vector<GpuActivity>> by_call = tracer.collect();

  std::vector<double> per_call;
  std::vector<std::string> first_call_kernels;  // in start order
  std::vector<std::string> first_names;         // sorted, for the multiset comparison
  int first_call_streams = 0;
  for (int i = 0; i < cfg.iterations; ++i) {
    const auto it = by_call.find(static_cast<std::uint64_t>(i) + 1);
    if (it == by_call.end() || it->second.empty()) {
      throw Error("no GPU activity recorded for timed call " + std::to_string(i) +
                  ": did the candidate launch its work on the GPU from the calling thread?");
    }
    const std::vector<GpuActivity>& acts = it->second;  // sorted by start
    std::uint64_t last = 0;
    for (const GpuActivity& a : acts) last = std::max(last, a.end_ns);
    per_call.push_back(static_cast<double>(last - acts.front().start_ns) * 1e-3);
    std::vector<std::string> names = sorted_kernel_names(acts);
    if (i == 0) {
      std::vector<std::uint32_t> streams;
      for (const GpuActivity& a : acts) {
        if (a.kind == GpuActivity::Kind::kKernel) first_call_kernels.push_back(a.name);
        streams.push_back(a.stream_id);
      }
      std::sort(streams.begin(), streams.end());
      first_call_streams = static_cast<int>(std::unique(streams.begin(), streams.end()) - streams.begin());
      first_names = std::move(names);
    } else if (cfg.check_kernel_names && names != first_names) {
      throw Error("inconsistent kernel names: timed call " + std::to_string(i) + " launched " + join_names(names) +
                  ", timed call 0 launched " + join_names(first_names));
    }
  }
  GpuTimingResult r = summarize_calls(std::move(per_call));
  r.method = "cupti";
  r.kernel_names = std::move(first_call_kernels);
  r.streams = first_call_streams;
  return r;
}

constexpr unsigned long long kHoldTimeoutNs = 1'000'000'000ull;

// Holds `stream` until the host sets *release, so that every replay and event behind it is
// queued before the first one runs: samples then measure back-to-back GPU execution, not the
// host's launch rate. Gives up after kHoldTimeoutNs so that a stuck host cannot hang the GPU,
// and says so through *timed_out.
__global__ void hold_stream_kernel(const volatile int* release, int* timed_out) {
  unsigned long long start = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (;;) {
    if (*release) return;
    unsigned long long now = 0;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start > kHoldTimeoutNs) {
      *timed_out = 1;
      return;
    }
    __nanosleep(1000);
  }
}

// A failed capture leaves the stream out of capture mode but its error as the last error: clear
// it so that later checks report their own.
std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter> capture(const std::function<void(cudaStream_t)>& call,
                                                                          cudaStream_t stream, int calls) {
  // Thread-local mode: an unsafe call (synchronize, malloc) made by the candidate on this thread
  // invalidates the capture, which is how non-capturable candidates are detected, while other
  // threads of the process (other devices' evaluators) stay unaffected, as they would not be
  // under the global mode. Relaxed mode would let an allocation inside the call slip through.
  KFORGE_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  std::string failure;
  try {
    for (int i = 0; i < calls; ++i) call(stream);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "the call threw a non-standard exception";
  }
  cudaGraph_t raw = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &raw);
  std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter> graph(raw);
  if (failure.empty() && ended != cudaSuccess) {
    failure = std::string(cudaGetErrorName(ended)) + " (" + cudaGetErrorString(ended) + ")";
  }
  if (!failure.empty()) {
    (void)cudaGetLastError();
    throw Error("the call is not graph-capturable: " + failure +
                " (calls that synchronize, allocate, or leave work on other streams unjoined cannot be captured)");
  }
  std::size_t nodes = 0;
  KFORGE_CUDA_CHECK(cudaGraphGetNodes(graph.get(), nullptr, &nodes));
  require(nodes > 0, "the captured graph is empty: the call enqueued no GPU work on the stream");
  return graph;
}

GpuTimingResult time_with_graph(const std::function<void(cudaStream_t)>& call, cudaStream_t stream,
                             const GpuTimingConfig& cfg) {
  require(stream != nullptr && stream != cudaStreamLegacy,
          "graph timing needs a created stream: the legacy default stream cannot be captured");
  const auto graph = capture(call, stream, cfg.graph_calls);
  cudaGraphExec_t raw_exec = nullptr;
  KFORGE_CUDA_CHECK(cudaGraphInstantiate(&raw_exec, graph.get(), 0));
  const std::unique_ptr<std::remove_pointer_t<cudaGraphExec_t>, GraphExecDeleter> exec(raw_exec);

  for (int i = 0; i < cfg.warmup; ++i) KFORGE_CUDA_CHECK(cudaGraphLaunch(exec.get(), stream));
  KFORGE_CUDA_CHECK(cudaDeviceSynchronize());

  // [0] release flag written by the host, [1] timed-out flag written by the hold kernel.
  void* raw_flags = nullptr;
  KFORGE_CUDA_CHECK(cudaHostAlloc(&raw_flags, 2 * sizeof(int), cudaHostAllocMapped));
  const std::unique_ptr<void, HostDeleter> flags_owner(raw_flags);
  int* flags = static_cast<int*>(raw_flags);
  flags[0] = 0;
  flags[1] = 0;
  int* device_flags = nullptr;
  KFORGE_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_flags), raw_flags, 0));

  std::vector<Event> events;
  for (int i = 0; i <= cfg.iterations; ++i) events.push_back(make_event());
  hold_stream_kernel<<<1, 1, 0, stream>>>(device_flags, device_flags + 1);
  KFORGE_CUDA_CHECK_LAUNCH();
  KFORGE_CUDA_CHECK(cudaEventRecord(events[0].get(), stream));
  for (int i = 0; i < cfg.iterations; ++i) {
    KFORGE_CUDA_CHECK(cudaGraphLaunch(exec.get(), stream));
    KFORGE_CUDA_CHECK(cudaEventRecord(events[static_cast<std::size_t>(i) + 1].get(), stream));
  }
  std::atomic_ref<int>(flags[0]).store(1, std::memory_order_release);
  KFORGE_CUDA_CHECK(cudaDeviceSynchronize());

  std::vector<double> per_call;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    per_call.push_back(elapsed_us(events[i], events[i + 1]) / cfg.graph_calls);
  }
  GpuTimingResult r = summarize_calls(std::move(per_call));
  r.method = "graph (warm L2, " + std::to_string(cfg.graph_calls) + " calls per replay";
  // The first replays may then have waited on the host's launches, not only on the GPU.
  if (std::atomic_ref<int>(flags[1]).load(std::memory_order_acquire)) r.method += "; stream hold timed out";
  r.method += ")";
  return r;
}

}  // namespace

L2Flusher::L2Flusher() {
  int device = 0;
  KFORGE_CUDA_CHECK(cudaGetDevice(&device));
  int l2_bytes = 0;
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
  require(l2_bytes > 0, "device " + std::to_string(device) + " reports no L2 cache size to flush");
  m_buffer = DeviceBuffer(2 * static_cast<std::size_t>(l2_bytes));
}

void L2Flusher::flush(cudaStream_t stream) const {
  KFORGE_CUDA_CHECK(cudaMemsetAsync(m_buffer.get(), 0, m_buffer.bytes(), stream));
}

GpuTimingResult summarize_calls(std::vector<double> per_call_us) {
  const TimingStats t = summarize_times(std::move(per_call_us), "");
  GpuTimingResult r;
  r.per_call_us = t.per_call_us;
  r.median_us = t.median_us;
  r.mean_us = t.mean_us;
  r.min_us = t.min_us;
  r.max_us = t.max_us;
  r.stddev_us = t.stddev_us;
  return r;
}

TrialSummary summarize_trials(std::span<const GpuTimingResult> trials) {
  TrialSummary s;
  if (trials.empty()) return s;
  for (const GpuTimingResult& t : trials) s.trial_medians_us.push_back(t.median_us);
  const auto [lo, hi] = std::minmax_element(s.trial_medians_us.begin(), s.trial_medians_us.end());
  s.min_us = *lo;
  s.max_us = *hi;
  s.mean_us = std::accumulate(s.trial_medians_us.begin(), s.trial_medians_us.end(), 0.0) /
              static_cast<double>(s.trial_medians_us.size());
  s.spread_pct = s.mean_us > 0 ? (s.max_us - s.min_us) / s.mean_us * 100 : 0;
  return s;
}

GpuTimingResult time_gpu_calls(const std::function<void(cudaStream_t)>& call, cudaStream_t stream,
                            const GpuTimingConfig& cfg) {
  validate(cfg);
  switch (cfg.method) {
    case GpuTimingConfig::Method::kEvents:
      return time_with_events(call, stream, cfg, "events");
    case GpuTimingConfig::Method::kGraph:
      return time_with_graph(call, stream, cfg);
    case GpuTimingConfig::Method::kCupti:
      break;
  }
  std::optional<CuptiTracer> tracer;
  std::string why;
  try {
    tracer.emplace();
  } catch (const Error& e) {
    why = e.what();
  }
  if (!tracer) return time_with_events(call, stream, cfg, "events (cupti unavailable: " + why + ")");
  return time_with_cupti(*tracer, call, stream, cfg);
}

}  // namespace kforge
