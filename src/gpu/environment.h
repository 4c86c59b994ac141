// @brief What a timing ran on: the device, its driver and runtime, and the clocks seen. Each
// trace records one, so that timings from different machines or clock states are told apart.
#pragma once

#include <cstdint>
#include <string>

namespace kforge {

struct GpuEnvironment {
  int device = 0;
  std::string name;                // "NVIDIA H100 80GB HBM3"
  std::string uuid;                // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::string compute_capability;  // "9.0"
  int sm_count = 0;
  std::int64_t l2_bytes = 0;
  std::int64_t memory_bytes = 0;
  std::string driver_version;       // the kernel driver's, "580.159.03"; empty without NVML
  std::string cuda_driver_version;  // the newest CUDA the driver supports, "13.0"
  std::string runtime_version;      // the CUDA runtime kforge runs with, "13.0"
  int sm_clock_mhz = 0;             // per clock_source
  int mem_clock_mhz = 0;
  int sm_clock_max_mhz = 0;  // device attributes: the peak clocks
  int mem_clock_max_mhz = 0;
  // "nvml current" when NVML read the clocks at the snapshot, else
  // "device attribute max (nvml unavailable: <why>)" and the clocks above are the peaks.
  std::string clock_source;
};

// Reads the environment of `device`. The current clocks are those at the moment of the call:
// take the snapshot right after timing to record the clocks the timing ran at (an idle GPU
// drops its SM clock far below the peak).
GpuEnvironment snapshot_environment(int device);

// One line for logs: name, capability, SMs, L2, driver, runtime, clocks and their source.
std::string describe(const GpuEnvironment& env);

}  // namespace kforge
