// NVML is loaded at run time (it ships with the driver, not the toolkit, and has no header
// here); without it the clocks fall back to the peak clocks of the device attributes.
#include "gpu/environment.h"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "gpu/cuda_check.h"

namespace kforge {
namespace {

// The few NVML declarations used, as nvml.h defines them: its C enums are int-sized, results
// are nvmlReturn_t with 0 meaning success, and devices are opaque handles.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr int kNvmlClockSm = 1;
constexpr int kNvmlClockMem = 2;
constexpr unsigned kNvmlDriverVersionLength = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

struct Nvml {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*handle_by_pci_bus_id)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*clock_info)(NvmlDevice, int, unsigned*) = nullptr;
  NvmlReturn (*driver_version)(char*, unsigned) = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  std::string unavailable;
};

template <class F>
void resolve(void* lib, const char* symbol, F& fn, std::string& unavailable) {
  fn = reinterpret_cast<F>(dlsym(lib, symbol));
  if (!fn && unavailable.empty()) unavailable = std::string("symbol ") + symbol + " not found in libnvidia-ml";
}

// Loaded once and kept: the driver's own library, cheap to keep mapped.
const Nvml& nvml() {
  static const Nvml api = [] {
    Nvml n;
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      n.unavailable = why ? why : "cannot load libnvidia-ml.so.1";
      return n;
    }
    resolve(lib, "nvmlInit_v2", n.init, n.unavailable);
    resolve(lib, "nvmlShutdown", n.shutdown, n.unavailable);
    resolve(lib, "nvmlDeviceGetHandleByPciBusId_v2", n.handle_by_pci_bus_id, n.unavailable);
    resolve(lib, "nvmlDeviceGetClockInfo", n.clock_info, n.unavailable);
    resolve(lib, "nvmlSystemGetDriverVersion", n.driver_version, n.unavailable);
    resolve(lib, "nvmlErrorString", n.error_string, n.unavailable);
    return n;
  }();
  return api;
}

std::string nvml_error(const Nvml& n, const char* what, NvmlReturn r) {
  const char* s = n.error_string(r);
  return std::string(what) + ": " + (s ? s : "NVML error " + std::to_string(r));
}

// Fills the driver version and current clocks; returns why not, or "" on success.
std::string read_nvml(int device, GpuEnvironment& env) {
  const Nvml& n = nvml();
  if (!n.unavailable.empty()) return n.unavailable;
  // NVML numbers devices by itself, ignoring CUDA_VISIBLE_DEVICES; the PCI bus id is common to both.
  char bus_id[32] = {};
  KFORGE_CUDA_CHECK(cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), device));
  if (const NvmlReturn r = n.init(); r != kNvmlSuccess) return nvml_error(n, "nvmlInit", r);
  std::string why;
  NvmlDevice handle = nullptr;
  unsigned sm = 0;
  unsigned mem = 0;
  char version[kNvmlDriverVersionLength] = {};
  if (NvmlReturn r = n.handle_by_pci_bus_id(bus_id, &handle); r != kNvmlSuccess) {
    why = nvml_error(n, "nvmlDeviceGetHandleByPciBusId", r);
  } else if (r = n.clock_info(handle, kNvmlClockSm, &sm); r != kNvmlSuccess) {
    why = nvml_error(n, "nvmlDeviceGetClockInfo(SM)", r);
  } else if (r = n.clock_info(handle, kNvmlClockMem, &mem); r != kNvmlSuccess) {
    why = nvml_error(n, "nvmlDeviceGetClockInfo(MEM)", r);
  } else if (r = n.driver_version(version, sizeof(version)); r != kNvmlSuccess) {
    why = nvml_error(n, "nvmlSystemGetDriverVersion", r);
  } else {
    env.sm_clock_mhz = static_cast<int>(sm);
    env.mem_clock_mhz = static_cast<int>(mem);
    env.driver_version = version;
  }
  n.shutdown();
  return why;
}

// CUDA encodes versions as 1000 * major + 10 * minor.
std::string cuda_version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string format_uuid(const cudaUUID_t& uuid) {
  std::string s = "GPU-";
  for (int i = 0; i < 16; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned char>(uuid.bytes[i]));
    s += hex;
    if (i == 3 || i == 5 || i == 7 || i == 9) s += '-';
  }
  return s;
}

}  // namespace

GpuEnvironment snapshot_environment(int device) {
  GpuEnvironment env;
  env.device = device;
  cudaDeviceProp prop{};
  KFORGE_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  env.name = prop.name;
  env.uuid = format_uuid(prop.uuid);
  env.compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  env.sm_count = prop.multiProcessorCount;
  env.l2_bytes = prop.l2CacheSize;
  env.memory_bytes = static_cast<std::int64_t>(prop.totalGlobalMem);

  int version = 0;
  KFORGE_CUDA_CHECK(cudaDriverGetVersion(&version));
  env.cuda_driver_version = cuda_version_string(version);
  KFORGE_CUDA_CHECK(cudaRuntimeGetVersion(&version));
  env.runtime_version = cuda_version_string(version);

  int khz = 0;
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device));
  env.sm_clock_max_mhz = khz / 1000;
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, device));
  env.mem_clock_max_mhz = khz / 1000;

  if (const std::string why = read_nvml(device, env); why.empty()) {
    env.clock_source = "nvml current";
  } else {
    env.sm_clock_mhz = env.sm_clock_max_mhz;
    env.mem_clock_mhz = env.mem_clock_max_mhz;
    env.clock_source = "device attribute max (nvml unavailable: " + why + ")";
  }
  return env;
}

std::string describe(const GpuEnvironment& env) {
  return env.name + " (compute " + env.compute_capability + ", " + std::to_string(env.sm_count) + " SMs, L2 " + std::to_string(env.l2_bytes >> 20) + " MiB), driver " +
         (env.driver_version.empty() ? "?" : env.driver_version) + " (CUDA " + env.cuda_driver_version +
         "), runtime " + env.runtime_version + ", SM " + std::to_string(env.sm_clock_mhz) + " MHz, memory " +
         std::to_string(env.mem_clock_mhz) + " MHz (" + env.clock_source + ")";
}

}  // namespace kforge
