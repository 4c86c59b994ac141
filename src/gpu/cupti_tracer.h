// @brief GPU activity tracing through CUPTI, attributed to host-side regions by external
// correlation ids. CUPTI is loaded at run time (dlopen), so kforge runs where it is absent.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kforge {

// One piece of GPU work as CUPTI saw it, timestamps in CUPTI's nanosecond clock.
struct GpuActivity {
  enum class Kind { kKernel, kMemcpy, kMemset };
  Kind kind = Kind::kKernel;
  std::string name;  // demangled kernel name; "memcpy" or "memset" for the others
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  std::uint32_t device_id = 0;
  std::uint32_t stream_id = 0;  // CUPTI's stream id: distinct streams have distinct ids
};

// Records kernels, memory copies and memsets while alive. Work that the constructing process
// enqueues from a thread inside a region (begin_region .. end_region on that thread) is
// attributed to the region's id, whatever stream it runs on: CUPTI tags every CUDA runtime or
// driver API call made inside the region with the id, and each activity carries the
// correlation id of the API call that enqueued it. Work enqueued from other threads or by the
// device itself (dynamic parallelism) is not attributed.
//
// CUPTI's activity state is process-wide, so at most one tracer exists at a time.
class CuptiTracer {
 public:
  // Why a tracer cannot be made here, or "" when it can: libcupti missing or of another major
  // version, or KFORGE_DISABLE_CUPTI set (for runs under another CUPTI client such as nsys).
  static std::string unavailable_reason();

  // Enables activity collection; throws Error when CUPTI is unavailable, refuses to enable a
  // kind, or another tracer is alive.
  CuptiTracer();
  ~CuptiTracer();
  CuptiTracer(const CuptiTracer&) = delete;
  CuptiTracer& operator=(const CuptiTracer&) = delete;

  // Opens a region on the calling thread; ids must be > 0 and regions do not nest.
  class Region {
   public:
    ~Region();
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;

   private:
    friend class CuptiTracer;
    Region() = default;
  };
  [[nodiscard]] Region region(std::uint64_t id);

  // Delivers everything CUPTI has buffered and returns each region's activities, sorted by
  // start. The caller synchronizes the device first: records of unfinished work are incomplete.
  // Throws Error when CUPTI dropped records or returned a record without timestamps, since
  // spans computed from partial records would be silently wrong. Clears what it returns.
  std::map<std::uint64_t, std::vector<GpuActivity>> collect();

 private:
  std::vector<int> m_enabled_kinds;
};

}  // namespace kforge
