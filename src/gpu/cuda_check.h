// @brief CUDA runtime error checking that raises kforge::Error with the call site.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace kforge {

inline void cuda_check(cudaError_t status, const char* expr, const char* file, int line) {
  if (status != cudaSuccess) {
    throw Error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                ") in " + expr + " at " + file + ":" + std::to_string(line));
  }
}

// True when a CUDA device is present and usable; tests skip otherwise.
inline bool cuda_device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace kforge

#define KFORGE_CUDA_CHECK(expr) ::kforge::cuda_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: catches bad launch configurations immediately.
#define KFORGE_CUDA_CHECK_LAUNCH() ::kforge::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
