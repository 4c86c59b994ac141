// CUPTI is compiled against (headers only) and resolved with dlsym at run time: a missing or
// mismatched libcupti makes the timer fall back to CUDA events instead of failing to load.
#include "gpu/cupti_tracer.h"

#include <cupti.h>
#include <cxxabi.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/error.h"

namespace kforge {
namespace {

// Regions are tagged with the CUSTOM0 kind. CUPTI's activity state is shared by every client
// in the process, so a profiler running alongside (nsys, Kineto) would see kforge's settings and
// kforge its records: KFORGE_DISABLE_CUPTI exists for runs under one.
constexpr CUpti_ExternalCorrelationKind kExternalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;

// One buffer holds tens of thousands of records; CUPTI asks for another whenever one fills, so
// the size bounds nothing, and a failed allocation shows up as dropped records.
constexpr std::size_t kBufferBytes = std::size_t{8} << 20;
constexpr std::size_t kRecordAlignment = 8;  // CUPTI's requirement for activity buffers

// API kinds are needed only because CUPTI writes external correlation records for API records;
// DRIVER covers libraries that launch through cuLaunchKernel without the runtime.
constexpr CUpti_ActivityKind kKinds[] = {
    CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME,
    CUPTI_ACTIVITY_KIND_DRIVER,               CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
    CUPTI_ACTIVITY_KIND_MEMCPY,               CUPTI_ACTIVITY_KIND_MEMSET,
};

struct CuptiApi {
  decltype(&cuptiGetVersion) get_version = nullptr;
  decltype(&cuptiGetResultString) result_string = nullptr;
  decltype(&cuptiActivityRegisterCallbacks) register_callbacks = nullptr;
  decltype(&cuptiActivityEnable) enable = nullptr;
  decltype(&cuptiActivityDisable) disable = nullptr;
  decltype(&cuptiActivityFlushAll) flush_all = nullptr;
  decltype(&cuptiActivityGetNextRecord) next_record = nullptr;
  decltype(&cuptiActivityGetNumDroppedRecords) dropped_records = nullptr;
  decltype(&cuptiActivityPushExternalCorrelationId) push_external_id = nullptr;
  decltype(&cuptiActivityPopExternalCorrelationId) pop_external_id = nullptr;
  std::string unavailable;  // empty once everything above is resolved and callbacks registered
};

// An activity before attribution: CUPTI delivers records in any order across buffers, so the
// correlation-id -> region map is only complete once everything has been flushed.
struct RawActivity {
  GpuActivity activity;
  std::uint32_t correlation_id = 0;
  std::uint32_t runtime_correlation_id = 0;  // memcpy records carry both API ids
};

// Filled from CUPTI's buffer-completed callback, which may run on CUPTI's worker thread.
struct Collector {
  std::mutex mutex;
  std::vector<RawActivity> activities;
  std::unordered_map<std::uint32_t, std::uint64_t> region_of_correlation;
  // Kernel records of one kernel share one name pointer; demangling once per kernel keeps the
  // callback cheap when a call launches thousands of kernels.
  std::unordered_map<const char*, std::string> demangled;
  std::size_t dropped = 0;
  std::string failure;  // a record CUPTI could not iterate, or memory exhausted in the callback

  void clear() {
    activities.clear();
    region_of_correlation.clear();
    demangled.clear();
    dropped = 0;
    failure.clear();
  }
};

Collector& collector() {
  static Collector c;
  return c;
}

std::atomic<bool> g_tracer_alive{false};

std::string result_name(const CuptiApi& api, CUptiResult r) {
  const char* s = nullptr;
  if (api.result_string && api.result_string(r, &s) == CUPTI_SUCCESS && s) return s;
  return "CUPTI error " + std::to_string(static_cast<int>(r));
}

void CUPTIAPI on_buffer_requested(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) {
  // A null buffer makes CUPTI drop records; collect() then reports the drop count.
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(kRecordAlignment, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // fill the buffer
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

void record_activity(Collector& c, GpuActivity::Kind kind, std::string name, std::uint64_t start,
                     std::uint64_t end, std::uint32_t device, std::uint32_t stream, std::uint32_t correlation,
                     std::uint32_t runtime_correlation) {
  c.activities.push_back({{kind, std::move(name), start, end, device, stream}, correlation, runtime_correlation});
}

void parse_record(Collector& c, const CUpti_Activity* record) {
  switch (record->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
      // CUPTI 13's record layout, as compiled here; load_cupti() accepts only a CUPTI 13 library.
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      std::string name = "<unnamed kernel>";
      if (k->name) {
        auto [it, fresh] = c.demangled.try_emplace(k->name);
        if (fresh) it->second = demangle(k->name);
        name = it->second;
      }
      record_activity(c, GpuActivity::Kind::kKernel, std::move(name), k->start, k->end, k->deviceId, k->streamId,
                      k->correlationId, 0);
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
      record_activity(c, GpuActivity::Kind::kMemcpy, "memcpy", m->start, m->end, m->deviceId, m->streamId,
                      m->correlationId, m->runtimeCorrelationId);
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(record);
      record_activity(c, GpuActivity::Kind::kMemset, "memset", m->start, m->end, m->deviceId, m->streamId,
                      m->correlationId, 0);
      break;
    }
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
      const auto* e = reinterpret_cast<const CUpti_ActivityExternalCorrelation*>(record);
      if (e->externalKind == kExternalKind) c.region_of_correlation[e->correlationId] = e->externalId;
      break;
    }
    default:  // API records: enabled only so that external correlation records are written
      break;
  }
}

const CuptiApi& cupti_api();

void CUPTIAPI on_buffer_completed(CUcontext context, std::uint32_t stream_id, std::uint8_t* buffer,
                                  std::size_t /*size*/, std::size_t valid_size) {
  const std::unique_ptr<std::uint8_t, decltype(&std::free)> owned(buffer, &std::free);
  const CuptiApi& api = cupti_api();
  Collector& c = collector();
  const std::lock_guard lock(c.mutex);
  // CUPTI calls this from C code: nothing may escape.
  try {
    CUpti_Activity* record = nullptr;
    for (;;) {
      const CUptiResult r = api.next_record(buffer, valid_size, &record);
      if (r == CUPTI_ERROR_MAX_LIMIT_REACHED) break;
      if (r != CUPTI_SUCCESS) {
        c.failure = "cuptiActivityGetNextRecord: " + result_name(api, r);
        break;
      }
      parse_record(c, record);
    }
  } catch (const std::exception& e) {
    c.failure = std::string("while reading CUPTI records: ") + e.what();
  }
  std::size_t dropped = 0;
  if (api.dropped_records(context, stream_id, &dropped) == CUPTI_SUCCESS) c.dropped += dropped;
}

template <class F>
bool resolve(void* lib, const char* symbol, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, symbol));
  if (!fn) missing = std::string("symbol ") + symbol + " not found in libcupti";
  return fn != nullptr;
}

CuptiApi load_cupti() {
  CuptiApi api;
  // The soname first (ld.so.conf, LD_LIBRARY_PATH); then the toolkit kforge was built with.
  const std::string candidates[] = {"libcupti.so.13", "libcupti.so", std::string(KFORGE_CUDA_LIBRARY_DIR) + "/libcupti.so.13"};
  void* lib = nullptr;
  std::string tried;
  for (const std::string& path : candidates) {
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
    const char* why = dlerror();
    tried += (tried.empty() ? "" : "; ") + (why ? std::string(why) : path);
  }
  if (!lib) {
    api.unavailable = "cannot load libcupti (" + tried + ")";
    return api;
  }
  // The library stays loaded for the life of the process: CUPTI hooks into the driver, and
  // unloading it while the driver holds those hooks is not supported.
  std::string missing;
  if (!resolve(lib, "cuptiGetVersion", api.get_version, missing) ||
      !resolve(lib, "cuptiGetResultString", api.result_string, missing) ||
      !resolve(lib, "cuptiActivityRegisterCallbacks", api.register_callbacks, missing) ||
      !resolve(lib, "cuptiActivityEnable", api.enable, missing) ||
      !resolve(lib, "cuptiActivityDisable", api.disable, missing) ||
      !resolve(lib, "cuptiActivityFlushAll", api.flush_all, missing) ||
      !resolve(lib, "cuptiActivityGetNextRecord", api.next_record, missing) ||
      !resolve(lib, "cuptiActivityGetNumDroppedRecords", api.dropped_records, missing) ||
      !resolve(lib, "cuptiActivityPushExternalCorrelationId", api.push_external_id, missing) ||
      !resolve(lib, "cuptiActivityPopExternalCorrelationId", api.pop_external_id, missing)) {
    api.unavailable = missing;
    return api;
  }
  // Record layouts are fixed within a major version only (CUPTI_API_VERSION is major*10000+...).
  std::uint32_t version = 0;
  const CUptiResult vr = api.get_version(&version);
  if (vr != CUPTI_SUCCESS) {
    api.unavailable = "cuptiGetVersion: " + result_name(api, vr);
    return api;
  }
  if (version / 10000 != CUPTI_API_VERSION / 10000) {
    api.unavailable = "libcupti API version " + std::to_string(version) + ", kforge was built for " +
                      std::to_string(CUPTI_API_VERSION / 10000) + ".x";
    return api;
  }
  const CUptiResult rr = api.register_callbacks(on_buffer_requested, on_buffer_completed);
  if (rr != CUPTI_SUCCESS) api.unavailable = "cuptiActivityRegisterCallbacks: " + result_name(api, rr);
  return api;
}

const CuptiApi& cupti_api() {
  static const CuptiApi api = load_cupti();
  return api;
}

void check(const CuptiApi& api, CUptiResult r, const char* what) {
  if (r != CUPTI_SUCCESS) throw Error(std::string(what) + ": " + result_name(api, r));
}

}  // namespace

std::string CuptiTracer::unavailable_reason() {
  if (const char* v = std::getenv("KFORGE_DISABLE_CUPTI"); v && *v && std::string(v) != "0") {
    return "disabled by KFORGE_DISABLE_CUPTI";
  }
  return cupti_api().unavailable;
}

CuptiTracer::CuptiTracer() {
  if (std::string why = unavailable_reason(); !why.empty()) throw Error(why);
  if (g_tracer_alive.exchange(true)) throw Error("another CUPTI tracer is active in this process");
  const CuptiApi& api = cupti_api();
  try {
    // Records left from before this tracer (another tool's, or a failed tracer's) must not mix in.
    check(api, api.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
    {
      const std::lock_guard lock(collector().mutex);
      collector().clear();
    }
    for (CUpti_ActivityKind kind : kKinds) {
      check(api, api.enable(kind), "cuptiActivityEnable");
      m_enabled_kinds.push_back(kind);
    }
  } catch (...) {
    for (int kind : m_enabled_kinds) api.disable(static_cast<CUpti_ActivityKind>(kind));
    g_tracer_alive = false;
    throw;
  }
}

CuptiTracer::~CuptiTracer() {
  const CuptiApi& api = cupti_api();
  for (auto it = m_enabled_kinds.rbegin(); it != m_enabled_kinds.rend(); ++it) {
    api.disable(static_cast<CUpti_ActivityKind>(*it));
  }
  api.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  {
    const std::lock_guard lock(collector().mutex);
    collector().clear();
  }
  g_tracer_alive = false;
}

CuptiTracer::Region CuptiTracer::region(std::uint64_t id) {
  require(id > 0, "CUPTI region ids start at 1");
  const CuptiApi& api = cupti_api();
  check(api, api.push_external_id(kExternalKind, id), "cuptiActivityPushExternalCorrelationId");
  return Region{};
}

CuptiTracer::Region::~Region() {
  const CuptiApi& api = cupti_api();
  api.pop_external_id(kExternalKind, nullptr);
}

std::map<std::uint64_t, std::vector<GpuActivity>> CuptiTracer::collect() {
  const CuptiApi& api = cupti_api();
  check(api, api.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
  Collector& c = collector();
  const std::lock_guard lock(c.mutex);
  std::size_t dropped = 0;
  if (api.dropped_records(nullptr, 0, &dropped) == CUPTI_SUCCESS) c.dropped += dropped;
  const std::string failure = c.failure;
  const std::size_t total_dropped = c.dropped;
  std::size_t untimed = 0;
  std::map<std::uint64_t, std::vector<GpuActivity>> by_region;
  for (RawActivity& raw : c.activities) {
    auto it = c.region_of_correlation.find(raw.correlation_id);
    if (it == c.region_of_correlation.end() && raw.runtime_correlation_id) {
      it = c.region_of_correlation.find(raw.runtime_correlation_id);
    }
    if (it == c.region_of_correlation.end()) continue;
    // Both zero: CUPTI could not time it (no device memory for timestamps).
    if (raw.activity.start_ns == 0 && raw.activity.end_ns == 0) ++untimed;
    by_region[it->second].push_back(std::move(raw.activity));
  }
  c.clear();
  if (!failure.empty()) throw Error("CUPTI activity records unreadable: " + failure);
  if (total_dropped) {
    throw Error("CUPTI dropped " + std::to_string(total_dropped) +
                " activity records (no buffer space); the measured spans would be incomplete");
  }
  if (untimed) {
    throw Error("CUPTI recorded " + std::to_string(untimed) +
                " GPU activities without timestamps (device memory for timestamps exhausted?)");
  }
  for (auto& [id, acts] : by_region) {
    std::sort(acts.begin(), acts.end(), [](const GpuActivity& a, const GpuActivity& b) { return a.start_ns < b.start_ns; });
  }
  return by_region;
}

}  // namespace kforge
