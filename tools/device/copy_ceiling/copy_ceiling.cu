// The streaming ceiling of a GDN decode call: new_state = state (the 99.4% of the bytes a decode
// step must move) and zero outputs, nothing computed. Timed by the evaluator's protocol (cold L2,
// first-to-last GPU activity) it is the fastest any decode kernel could be on that GPU; the
// decode kernel's "% of ceiling" is this over its latency. Inputs: q, k, v, state, A_log, a,
// dt_bias, b, scale; outputs: output, new_state (as gdn_decode_hopper.cu).
#include <cuda_runtime.h>

#include <cstdint>

#include "kforge/solution_abi.h"
#include "kforge_tune.h"

namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;

__global__ void __launch_bounds__(kThreads) copy_kernel(const float4* __restrict__ src, float4* __restrict__ dst,
                                                        long long n, unsigned short* out, long long out_n) {
  const long long stride = static_cast<long long>(gridDim.x) * kThreads;
  long long i = static_cast<long long>(blockIdx.x) * kThreads + threadIdx.x;
  for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
    float4 r[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) r[u] = __ldcs(src + i + u * stride);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) dst[i + u * stride] = r[u];
  }
  for (; i < n; i += stride) dst[i] = __ldcs(src + i);
  for (long long j = static_cast<long long>(blockIdx.x) * kThreads + threadIdx.x; j < out_n; j += stride) out[j] = 0;
}

}  // namespace

extern "C" int32_t copy_ceiling(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out, int32_t num_outputs,
                                void* /*workspace*/, uint64_t /*workspace_bytes*/, void* stream) {
  if (num_inputs != 9 || num_outputs != 2) return -1;
  const kforge_arg &state = in[3], &o = out[0], &new_state = out[1];
  if (state.data == nullptr) return -1;
  long long n = 1, out_n = 1;
  for (int d = 0; d < state.rank; ++d) n *= state.shape[d];
  for (int d = 0; d < o.rank; ++d) out_n *= o.shape[d];
  const auto s = static_cast<cudaStream_t>(stream);
#if COPY_MODE == 1
  cudaError_t err = cudaMemcpyAsync(new_state.data, state.data, n * sizeof(float), cudaMemcpyDeviceToDevice, s);
  if (err == cudaSuccess) err = cudaMemsetAsync(o.data, 0, out_n * 2, s);
  return static_cast<int32_t>(err);
#else
  int device = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return static_cast<int32_t>(err);
  copy_kernel<<<sms * 4, kThreads, 0, s>>>(static_cast<const float4*>(state.data), static_cast<float4*>(new_state.data),
                                          n / 4, static_cast<unsigned short*>(o.data), out_n);
  return static_cast<int32_t>(cudaGetLastError());
#endif
}
