// GPU timer (src/gpu/timer.*) and environment snapshot. The known quantities are a spin kernel
// that busy-waits a number of clock64 cycles and records its own start and end on the GPU's
// global timer: CUPTI spans must cover that in-kernel duration and stay near it. Bounds on
// absolute speed are wide sanity bounds only (0.5x..3x of cycles at the peak clock). Tests that
// need CUPTI skip, naming why, where it cannot be loaded; everything skips without a GPU
// except the statistics, which are host arithmetic.
#include <gtest/gtest.h>

#include <cuda.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/cuda_stream.h"
#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/cupti_tracer.h"
#include "gpu/device_buffer.h"
#include "gpu/environment.h"
#include "gpu/timer.h"

namespace kforge {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"
#define SKIP_WITHOUT_CUPTI()                                                        \
  SKIP_WITHOUT_GPU();                                                               \
  if (const std::string why = CuptiTracer::unavailable_reason(); !why.empty()) \
  GTEST_SKIP() << "CUPTI unavailable: " << why

constexpr long long kSpinCycles = 2'000'000;  // about 1 ms at Hopper's 1.98 GHz peak

__device__ unsigned long long global_time_ns() {
  unsigned long long t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// times[0], times[1]: global timer at start and end of the last run.
__global__ void spin_kernel(long long cycles, unsigned long long* times) {
  const unsigned long long t0 = global_time_ns();
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
  if (times) {
    times[0] = t0;
    times[1] = global_time_ns();
  }
}

__global__ void other_kernel(int* out) {
  if (out) *out = 1;
}

void launch_spin(cudaStream_t stream, long long cycles, unsigned long long* times = nullptr) {
  spin_kernel<<<1, 1, 0, stream>>>(cycles, times);
  KFORGE_CUDA_CHECK_LAUNCH();
}

double peak_sm_clock_ghz() {
  int device = 0;
  KFORGE_CUDA_CHECK(cudaGetDevice(&device));
  int khz = 0;
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device));
  return khz * 1e-6;
}

// The in-kernel duration of the spin kernel's last run, in microseconds.
double spin_duration_us(const DeviceBuffer& times) {
  unsigned long long t[2] = {};
  KFORGE_CUDA_CHECK(cudaMemcpy(t, times.get(), sizeof(t), cudaMemcpyDeviceToHost));
  return static_cast<double>(t[1] - t[0]) * 1e-3;
}

using test_support::Stream;

class Event {
 public:
  Event() { KFORGE_CUDA_CHECK(cudaEventCreateWithFlags(&m_event, cudaEventDisableTiming)); }
  ~Event() { cudaEventDestroy(m_event); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return m_event; }

 private:
  cudaEvent_t m_event = nullptr;
};

GpuTimingConfig config(GpuTimingConfig::Method method, int warmup = 2, int iterations = 10) {
  GpuTimingConfig cfg;
  cfg.method = method;
  cfg.warmup = warmup;
  cfg.iterations = iterations;
  return cfg;
}

void expect_error_containing(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- host arithmetic

TEST(TimerStats, MedianMeanSpread) {
  const GpuTimingResult r = summarize_calls({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(r.median_us, 2.5);
  EXPECT_DOUBLE_EQ(r.mean_us, 2.5);
  EXPECT_DOUBLE_EQ(r.min_us, 1);
  EXPECT_DOUBLE_EQ(r.max_us, 4);
  EXPECT_NEAR(r.stddev_us, 1.2909944487358056, 1e-12);  // sqrt(5/3)
  EXPECT_EQ(r.per_call_us, (std::vector<double>{4, 1, 3, 2}));  // call order kept
  EXPECT_DOUBLE_EQ(summarize_calls({7, 1, 5}).median_us, 5);
  EXPECT_DOUBLE_EQ(summarize_calls({7}).stddev_us, 0);

  const std::vector<GpuTimingResult> trials = {summarize_calls({10}), summarize_calls({12}), summarize_calls({11})};
  const TrialSummary s = summarize_trials(trials);
  EXPECT_DOUBLE_EQ(s.mean_us, 11);
  EXPECT_DOUBLE_EQ(s.min_us, 10);
  EXPECT_DOUBLE_EQ(s.max_us, 12);
  EXPECT_NEAR(s.spread_pct, 2.0 / 11 * 100, 1e-12);
}

TEST(TimerConfig, RejectsNoIterations) {
  GpuTimingConfig cfg;
  cfg.iterations = 0;
  // Validation comes before any CUDA call, so this holds without a GPU too.
  expect_error_containing([&] { time_gpu_calls([](cudaStream_t) {}, nullptr, cfg); }, "at least one timed call");
}

// ---------------------------------------------------------------- CUPTI

TEST(TimerCupti, SpinKernelSpanMatchesItsCycles) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  const DeviceBuffer times(2 * sizeof(unsigned long long));
  auto* t = static_cast<unsigned long long*>(times.get());
  const GpuTimingResult r =
      time_gpu_calls([&](cudaStream_t s) { launch_spin(s, kSpinCycles, t); }, stream.get(), config(GpuTimingConfig::Method::kCupti));
  const double in_kernel_us = spin_duration_us(times);
  const double at_peak_us = kSpinCycles / (peak_sm_clock_ghz() * 1e3);
  std::printf("[timer] spin %lld cycles: cupti median %.1f us (min %.1f, max %.1f), in-kernel %.1f us, %.1f us at peak clock\n",
              kSpinCycles, r.median_us, r.min_us, r.max_us, in_kernel_us, at_peak_us);
  EXPECT_EQ(r.method, "cupti");
  ASSERT_EQ(r.per_call_us.size(), 10u);
  ASSERT_EQ(r.kernel_names.size(), 1u);
  EXPECT_NE(r.kernel_names[0].find("spin_kernel"), std::string::npos) << r.kernel_names[0];
  EXPECT_EQ(r.streams, 1);
  EXPECT_GE(r.median_us, 0.5 * at_peak_us);
  EXPECT_LE(r.median_us, 3.0 * at_peak_us);
  // The span holds the kernel's own duration (the global timer ticks coarsely: allow 5 us).
  EXPECT_GE(r.median_us, in_kernel_us - 5);
  EXPECT_LE(r.median_us, 1.5 * in_kernel_us + 50);
  EXPECT_LE(r.min_us, r.median_us);
  EXPECT_LE(r.median_us, r.max_us);

  const GpuTimingResult events =
      time_gpu_calls([&](cudaStream_t s) { launch_spin(s, kSpinCycles, t); }, stream.get(), config(GpuTimingConfig::Method::kEvents));
  std::printf("[timer] spin: events median %.1f us\n", events.median_us);
  EXPECT_EQ(events.method, "events");
  EXPECT_GE(events.median_us, 0.5 * r.median_us);
  EXPECT_LE(events.median_us, 2.0 * r.median_us);
}

TEST(TimerCupti, SpanCoversHostGapBetweenKernels) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  constexpr auto kGap = std::chrono::milliseconds(2);
  const GpuTimingResult r = time_gpu_calls(
      [&](cudaStream_t s) {
        launch_spin(s, 10'000);
        // Once the first kernel has finished, it started: the gap below then lies inside the
        // span even when other processes' work delays the first kernel's start.
        KFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
        std::this_thread::sleep_for(kGap);
        other_kernel<<<1, 1, 0, s>>>(nullptr);
        KFORGE_CUDA_CHECK_LAUNCH();
      },
      stream.get(), config(GpuTimingConfig::Method::kCupti, 1, 5));
  std::printf("[timer] two kernels 2 ms apart: cupti min %.1f us\n", r.min_us);
  ASSERT_EQ(r.kernel_names.size(), 2u);
  EXPECT_NE(r.kernel_names[0].find("spin_kernel"), std::string::npos);
  EXPECT_NE(r.kernel_names[1].find("other_kernel"), std::string::npos);
  // The second kernel was launched at least 2 ms after the first one ended.
  EXPECT_GE(r.min_us, 2000 - 100);
}

TEST(TimerCupti, CountsMemsetAndCopies) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  const DeviceBuffer a(std::size_t{64} << 20);
  const DeviceBuffer b(std::size_t{64} << 20);
  const GpuTimingResult r = time_gpu_calls(
      [&](cudaStream_t s) {
        KFORGE_CUDA_CHECK(cudaMemsetAsync(a.get(), 1, a.bytes(), s));
        KFORGE_CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), a.bytes(), cudaMemcpyDeviceToDevice, s));
      },
      stream.get(), config(GpuTimingConfig::Method::kCupti, 1, 5));
  std::printf("[timer] 64 MiB memset + copy: cupti median %.1f us\n", r.median_us);
  EXPECT_TRUE(r.kernel_names.empty());
  EXPECT_GT(r.median_us, 0);
}

// Work forked onto a second stream and joined back is ordered on `stream`: both methods see
// it. Work left on the second stream unjoined is seen by CUPTI only: events end with the
// short kernel on `stream`.
TEST(TimerCupti, CountsWorkOnOtherStreams) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  const Stream side;
  const Event fork;
  const Event join;
  const DeviceBuffer times(2 * sizeof(unsigned long long));
  auto* t = static_cast<unsigned long long*>(times.get());
  const auto joined = [&](cudaStream_t s) {
    KFORGE_CUDA_CHECK(cudaEventRecord(fork.get(), s));
    KFORGE_CUDA_CHECK(cudaStreamWaitEvent(side.get(), fork.get()));
    launch_spin(side.get(), kSpinCycles, t);
    KFORGE_CUDA_CHECK(cudaEventRecord(join.get(), side.get()));
    KFORGE_CUDA_CHECK(cudaStreamWaitEvent(s, join.get()));
  };
  const auto unjoined = [&](cudaStream_t s) {
    launch_spin(side.get(), kSpinCycles, t);
    other_kernel<<<1, 1, 0, s>>>(nullptr);
    KFORGE_CUDA_CHECK_LAUNCH();
  };

  const GpuTimingResult cupti_joined = time_gpu_calls(joined, stream.get(), config(GpuTimingConfig::Method::kCupti));
  const double spin_us = spin_duration_us(times);
  const GpuTimingResult events_joined = time_gpu_calls(joined, stream.get(), config(GpuTimingConfig::Method::kEvents));
  const GpuTimingResult cupti_unjoined = time_gpu_calls(unjoined, stream.get(), config(GpuTimingConfig::Method::kCupti));
  const GpuTimingResult events_unjoined = time_gpu_calls(unjoined, stream.get(), config(GpuTimingConfig::Method::kEvents));
  std::printf("[timer] side-stream spin %.1f us: joined cupti %.1f / events %.1f us, unjoined cupti %.1f / events %.1f us\n",
              spin_us, cupti_joined.median_us, events_joined.median_us, cupti_unjoined.median_us,
              events_unjoined.median_us);
  EXPECT_GE(cupti_joined.median_us, spin_us - 5);
  EXPECT_GE(events_joined.median_us, spin_us - 5);
  EXPECT_GE(cupti_unjoined.median_us, spin_us - 5);
  EXPECT_EQ(cupti_unjoined.streams, 2);
  EXPECT_EQ(cupti_unjoined.kernel_names.size(), 2u);
  EXPECT_LT(events_unjoined.median_us, 0.5 * spin_us);
}

// Libraries such as cuBLAS launch through the driver API, without a runtime API record: the
// driver's records must carry the attribution too (FlashInfer issue 2145 was this case).
TEST(TimerCupti, AttributesDriverApiLaunches) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  void* entry = nullptr;
  cudaDriverEntryPointQueryResult found{};
  KFORGE_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuLaunchKernel", &entry, 12000, cudaEnableDefault, &found));
  ASSERT_EQ(found, cudaDriverEntryPointSuccess);
  const auto launch_kernel = reinterpret_cast<decltype(&cuLaunchKernel)>(entry);
  cudaFunction_t function = nullptr;
  KFORGE_CUDA_CHECK(cudaGetFuncBySymbol(&function, reinterpret_cast<const void*>(&spin_kernel)));
  const DeviceBuffer times(2 * sizeof(unsigned long long));
  auto* t = static_cast<unsigned long long*>(times.get());
  const GpuTimingResult r = time_gpu_calls(
      [&](cudaStream_t s) {
        long long cycles = kSpinCycles;
        void* args[] = {&cycles, &t};
        ASSERT_EQ(launch_kernel(function, 1, 1, 1, 1, 1, 1, 0, s, args, nullptr), CUDA_SUCCESS);
      },
      stream.get(), config(GpuTimingConfig::Method::kCupti));
  EXPECT_EQ(r.method, "cupti");
  ASSERT_EQ(r.kernel_names.size(), 1u);
  EXPECT_NE(r.kernel_names[0].find("spin_kernel"), std::string::npos);
  EXPECT_GE(r.median_us, spin_duration_us(times) - 5);
}

// A candidate that replays its own CUDA graph: the graph's kernels belong to the call through
// the cudaGraphLaunch that enqueued them.
TEST(TimerCupti, AttributesTheCallsOwnGraph) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  const DeviceBuffer times(2 * sizeof(unsigned long long));
  auto* t = static_cast<unsigned long long*>(times.get());
  cudaGraph_t graph = nullptr;
  KFORGE_CUDA_CHECK(cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeThreadLocal));
  launch_spin(stream.get(), kSpinCycles, t);
  other_kernel<<<1, 1, 0, stream.get()>>>(nullptr);
  KFORGE_CUDA_CHECK(cudaStreamEndCapture(stream.get(), &graph));
  cudaGraphExec_t exec = nullptr;
  KFORGE_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const GpuTimingResult r = time_gpu_calls([&](cudaStream_t s) { KFORGE_CUDA_CHECK(cudaGraphLaunch(exec, s)); },
                                        stream.get(), config(GpuTimingConfig::Method::kCupti));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  ASSERT_EQ(r.kernel_names.size(), 2u);
  EXPECT_NE(r.kernel_names[0].find("spin_kernel"), std::string::npos);
  EXPECT_GE(r.median_us, spin_duration_us(times) - 5);
}

// Records of 20 calls x 2000 kernels (with their API and correlation records) span several
// activity buffers; none may be lost.
TEST(TimerCupti, ManyKernelsPerCall) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  constexpr int kKernels = 2000;
  const auto call = [](cudaStream_t s) {
    for (int i = 0; i < kKernels; ++i) other_kernel<<<1, 1, 0, s>>>(nullptr);
    KFORGE_CUDA_CHECK_LAUNCH();
  };
  const GpuTimingResult r = time_gpu_calls(call, stream.get(), config(GpuTimingConfig::Method::kCupti, 1, 20));
  // Launch-bound: the span is the host's launch rate, which CUPTI's API records slow down.
  const GpuTimingResult events = time_gpu_calls(call, stream.get(), config(GpuTimingConfig::Method::kEvents, 1, 20));
  std::printf("[timer] %d empty kernels: cupti median %.1f us, events %.1f us\n", kKernels, r.median_us,
              events.median_us);
  EXPECT_EQ(r.kernel_names.size(), static_cast<std::size_t>(kKernels));
  EXPECT_EQ(r.per_call_us.size(), 20u);
}

TEST(TimerCupti, InconsistentKernelSetsAreAnError) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  int n = 0;
  const auto alternating = [&](cudaStream_t s) {
    if (n++ % 2) {
      launch_spin(s, 1000);
    } else {
      other_kernel<<<1, 1, 0, s>>>(nullptr);
      KFORGE_CUDA_CHECK_LAUNCH();
    }
  };
  expect_error_containing([&] { time_gpu_calls(alternating, stream.get(), config(GpuTimingConfig::Method::kCupti, 0, 4)); },
                          "inconsistent kernel names");
  GpuTimingConfig lenient = config(GpuTimingConfig::Method::kCupti, 0, 4);
  lenient.check_kernel_names = false;
  EXPECT_EQ(time_gpu_calls(alternating, stream.get(), lenient).per_call_us.size(), 4u);
}

TEST(TimerCupti, CallWithoutGpuWorkIsAnError) {
  SKIP_WITHOUT_CUPTI();
  const Stream stream;
  expect_error_containing(
      [&] { time_gpu_calls([](cudaStream_t) {}, stream.get(), config(GpuTimingConfig::Method::kCupti)); },
      "no GPU activity recorded for timed call 0");
  // The failed run must leave CUPTI usable.
  EXPECT_EQ(time_gpu_calls([](cudaStream_t s) { launch_spin(s, 1000); }, stream.get(),
                           config(GpuTimingConfig::Method::kCupti))
                .method,
            "cupti");
}

TEST(TimerCupti, FallsBackToEventsWhenDisabled) {
  SKIP_WITHOUT_GPU();
  const Stream stream;
  setenv("KFORGE_DISABLE_CUPTI", "1", 1);
  const GpuTimingResult r =
      time_gpu_calls([](cudaStream_t s) { launch_spin(s, 1000); }, stream.get(), config(GpuTimingConfig::Method::kCupti));
  unsetenv("KFORGE_DISABLE_CUPTI");
  EXPECT_EQ(r.method, "events (cupti unavailable: disabled by KFORGE_DISABLE_CUPTI)");
  EXPECT_EQ(r.per_call_us.size(), 10u);
  EXPECT_TRUE(r.kernel_names.empty());
}

// ---------------------------------------------------------------- graphs

TEST(TimerGraph, TimesCapturableCall) {
  SKIP_WITHOUT_GPU();
  const Stream stream;
  constexpr long long kShortSpin = 20'000;  // about 10 us at peak clock
  const DeviceBuffer times(2 * sizeof(unsigned long long));
  auto* t = static_cast<unsigned long long*>(times.get());
  const GpuTimingResult r =
      time_gpu_calls([&](cudaStream_t s) { launch_spin(s, kShortSpin, t); }, stream.get(), config(GpuTimingConfig::Method::kGraph));
  const double in_kernel_us = spin_duration_us(times);
  std::printf("[timer] graph, spin %lld cycles: median %.2f us per call, in-kernel %.2f us (%s)\n", kShortSpin,
              r.median_us, in_kernel_us, r.method.c_str());
  EXPECT_EQ(r.method, "graph (warm L2, 20 calls per replay)");
  ASSERT_EQ(r.per_call_us.size(), 10u);
  const double at_peak_us = kShortSpin / (peak_sm_clock_ghz() * 1e3);
  EXPECT_GE(r.median_us, 0.5 * at_peak_us);
  EXPECT_LE(r.median_us, 3.0 * at_peak_us);
  EXPECT_GE(r.median_us, 0.9 * in_kernel_us - 1);
}

TEST(TimerGraph, SynchronizingCallIsNotCapturable) {
  SKIP_WITHOUT_GPU();
  const Stream stream;
  // Checked: the call's own error check throws inside the capture.
  expect_error_containing(
      [&] {
        time_gpu_calls(
            [](cudaStream_t s) {
              launch_spin(s, 1000);
              KFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
            },
            stream.get(), config(GpuTimingConfig::Method::kGraph));
      },
      "not graph-capturable");
  // Unchecked: the capture is invalidated and ending it fails.
  expect_error_containing(
      [&] {
        time_gpu_calls(
            [](cudaStream_t s) {
              launch_spin(s, 1000);
              (void)cudaStreamSynchronize(s);
            },
            stream.get(), config(GpuTimingConfig::Method::kGraph));
      },
      "not graph-capturable");
  // The stream and the context stay usable afterwards.
  EXPECT_EQ(time_gpu_calls([](cudaStream_t s) { launch_spin(s, 1000); }, stream.get(),
                           config(GpuTimingConfig::Method::kEvents))
                .per_call_us.size(),
            10u);
}

// ---------------------------------------------------------------- L2 and environment

TEST(TimerL2Flusher, BufferIsTwiceL2) {
  SKIP_WITHOUT_GPU();
  int device = 0;
  KFORGE_CUDA_CHECK(cudaGetDevice(&device));
  int l2 = 0;
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  const L2Flusher flusher;
  EXPECT_GE(flusher.bytes(), 2 * static_cast<std::size_t>(l2));
  flusher.flush(nullptr);
  KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
}

TEST(TimerEnvironment, SnapshotDescribesDevice) {
  SKIP_WITHOUT_GPU();
  const GpuEnvironment env = snapshot_environment(0);
  std::printf("[timer] %s\n", describe(env).c_str());
  EXPECT_FALSE(env.name.empty());
  EXPECT_GT(env.sm_count, 0);
  EXPECT_GT(env.l2_bytes, 0);
  EXPECT_EQ(env.uuid.rfind("GPU-", 0), 0u) << env.uuid;
  EXPECT_FALSE(env.cuda_driver_version.empty());
  EXPECT_FALSE(env.runtime_version.empty());
  EXPECT_GT(env.sm_clock_mhz, 0);
  EXPECT_GT(env.mem_clock_mhz, 0);
  EXPECT_GT(env.sm_clock_max_mhz, 0);
  EXPECT_FALSE(env.clock_source.empty());
  if (env.clock_source == "nvml current") EXPECT_FALSE(env.driver_version.empty());
}

}  // namespace
}  // namespace kforge
