// Shared by the GPU tests: a non-blocking CUDA stream owned for a scope, so that a test sees
// work left on the legacy default stream or on another stream as missing.
#pragma once

#include <cuda_runtime.h>

#include "gpu/cuda_check.h"

namespace kforge::test_support {

class Stream {
 public:
  Stream() { KFORGE_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(m_stream); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return m_stream; }

 private:
  cudaStream_t m_stream = nullptr;
};

}  // namespace kforge::test_support
