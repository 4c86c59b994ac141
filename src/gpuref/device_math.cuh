// @brief Helpers shared by the GPU references: element decoding and the oracles' float32 formulas
// on the device (bit-identical to core/float_types.h and ref/), warp and block reductions, and
// the launchers' host-side argument checks.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/float_types.h"
#include "gpu/cuda_check.h"
#include "gpuref/gpu_reference.h"

namespace kforge::gpuref {

// ---------------------------------------------------------------- element types (device)

__device__ __forceinline__ float to_float(Bf16 v) { return __uint_as_float(std::uint32_t{v.bits} << 16); }

// Round to nearest even with every NaN becoming 0x7FC0, exactly as kforge::float_to_bf16
// (__float2bfloat16_rn rounds the same but keeps other NaN payloads).
__device__ __forceinline__ Bf16 to_bf16(float f) {
  if (isnan(f)) return Bf16{0x7FC0};
  const std::uint32_t u = __float_as_uint(f);
  return Bf16{static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16)};
}

// float8_e4m3fn by its bits: bias 7, no infinities, S.1111.111 is NaN. Every value is exact in
// float32, so this equals kforge::fp8e4m3_to_float.
__device__ __forceinline__ float to_float(Fp8E4M3 v) {
  const std::uint32_t code = v.bits;
  const std::uint32_t exp_field = (code >> 3) & 0xFu, mant = code & 0x7u;
  float mag;
  if (exp_field == 0xFu && mant == 0x7u) {
    mag = __uint_as_float(0x7FC00000u);
  } else if (exp_field == 0) {
    mag = static_cast<float>(mant) * 0x1p-9f;  // subnormal: mant * 2^(1 - 7 - 3)
  } else {
    mag = __uint_as_float(((exp_field + 127u - 7u) << 23) | (mant << 20));
  }
  return (code & 0x80u) ? -mag : mag;
}

// ---------------------------------------------------------------- gate formulas (device)

// torch.nn.functional.softplus (beta 1, threshold 20), as gdn::softplus.
__device__ __forceinline__ float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// g = exp(-exp(A_log) * softplus(a + dt_bias)), as gdn::decay_gate.
__device__ __forceinline__ float gdn_decay_gate(float a, float a_log, float dt_bias) {
  const float rate = -expf(a_log);
  return expf(rate * softplus(a + dt_bias));
}

// ---------------------------------------------------------------- reductions (device)

constexpr unsigned kFullMask = 0xFFFFFFFFu;

// Butterfly sums: every lane ends with the same total, so no broadcast is needed.
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Whole-block reductions (blockDim.x a multiple of 32, every thread calling). `scratch` holds 32
// floats of shared memory; the trailing barrier makes it reusable by the next call.
template <class WarpOp>
__device__ float block_reduce(float v, float* scratch, WarpOp warp_op, float identity) {
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  v = warp_op(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x) / 32 ? scratch[lane] : identity;
  v = warp_op(v);
  __syncthreads();
  return v;
}

__device__ __forceinline__ float block_sum(float v, float* scratch) {
  return block_reduce(v, scratch, [](float x) { return warp_sum(x); }, 0.0f);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  return block_reduce(v, scratch, [](float x) { return warp_max(x); }, -INFINITY);
}

// ---------------------------------------------------------------- GDN delta rule (device)

// One state row of one token, computed by one warp (see ref/gdn_common.h delta_rule_step): reads
// the k-last row `in` (d floats), writes the updated row to `out` (may alias `in`; each lane
// reads an element before writing it) and returns scale-free q . row on every lane. The
// elementwise steps use explicit roundings so that no FMA merges what torch rounds separately.
__device__ __forceinline__ float gdn_delta_rule_row(const float* in, float* out, const float* q, const float* k,
                                                    float v, float g, float beta, int d) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  float partial = 0.0f;
  for (int c = lane; c < d; c += 32) partial += k[c] * __fmul_rn(g, in[c]);
  const float old_v = warp_sum(partial);
  const float new_v = __fadd_rn(__fmul_rn(beta, v), __fmul_rn(1.0f - beta, old_v));
  partial = 0.0f;
  for (int c = lane; c < d; c += 32) {
    const float removed = __fsub_rn(__fmul_rn(g, in[c]), __fmul_rn(k[c], old_v));
    const float s = __fadd_rn(removed, __fmul_rn(k[c], new_v));
    out[c] = s;
    partial += q[c] * s;
  }
  return warp_sum(partial);
}

// ---------------------------------------------------------------- launch side (host)

// Size of a named axis, which must exist and be non-negative.
inline std::int64_t axis(const Axes& axes, std::string_view op, std::string_view name) {
  const auto it = axes.find(name);
  require(it != axes.end(), std::string(op) + ": axis '" + std::string(name) + "' missing",
          "every axis of the definition");
  require(it->second >= 0, std::string(op) + ": axis '" + std::string(name) + "' is " + std::to_string(it->second),
          ">= 0");
  return it->second;
}

// Typed device pointer of an input after checking its dtype and shape; nullptr for an absent
// optional input.
template <class T>
const T* input(const DeviceTensorMap& in, std::string_view op, std::string_view name, DType dtype,
               const Shape& shape, bool optional = false) {
  const auto it = in.find(name);
  const std::string what = std::string(op) + ": input '" + std::string(name) + "'";
  if (it == in.end()) {
    require(optional, what + " missing", "every input of the definition");
    return nullptr;
  }
  const DeviceTensor& t = it->second;
  require(t.dtype == dtype && t.shape == shape,
          what + " is " + std::string(dtype_name(t.dtype)) + " " + shape_to_string(t.shape),
          std::string(dtype_name(dtype)) + " " + shape_to_string(shape));
  return static_cast<const T*>(t.data());
}

// Typed device pointer of an output (gpuref::run has checked its dtype and shape).
template <class T>
T* output(DeviceTensorMap& out, std::string_view op, std::string_view name) {
  const auto it = out.find(name);
  require(it != out.end(), std::string(op) + ": output '" + std::string(name) + "' missing");
  return static_cast<T*>(it->second.data());
}

// A scalar input (rank-0 host tensor) as double.
inline double scalar(const TensorMap& scalars, std::string_view op, std::string_view name, DType dtype) {
  const auto it = scalars.find(name);
  require(it != scalars.end(), std::string(op) + ": scalar '" + std::string(name) + "' missing");
  require(it->second.dtype() == dtype && it->second.is_scalar(),
          std::string(op) + ": scalar '" + std::string(name) + "' is " + std::string(dtype_name(it->second.dtype())) +
              " " + shape_to_string(it->second.shape()),
          "a rank-0 " + std::string(dtype_name(dtype)));
  return it->second.get(0);
}

// Scratch device memory allocated and freed in stream order (cudaMallocAsync/cudaFreeAsync): the
// kernels that use it may still be running when the launcher returns, and a plain cudaFree would
// synchronize the device.
class StreamBuffer {
 public:
  StreamBuffer(std::size_t bytes, cudaStream_t stream) : m_stream(stream) {
    if (bytes) KFORGE_CUDA_CHECK(cudaMallocAsync(&m_ptr, bytes, stream));
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  ~StreamBuffer() {
    if (m_ptr) cudaFreeAsync(m_ptr, m_stream);  // a failure here resurfaces at the next CUDA call
  }

  template <class T>
  T* as() const {
    return static_cast<T*>(m_ptr);
  }

 private:
  void* m_ptr = nullptr;
  cudaStream_t m_stream;
};

// Lets `kernel` use `bytes` of dynamic shared memory (past the 48 KB default when the device
// allows it); throws when the current device cannot.
template <class Kernel>
void allow_dynamic_smem(Kernel* kernel, std::size_t bytes, std::string_view op) {
  int device = 0, limit = 0;
  KFORGE_CUDA_CHECK(cudaGetDevice(&device));
  KFORGE_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  require(bytes <= static_cast<std::size_t>(limit),
          std::string(op) + ": needs " + std::to_string(bytes) + " bytes of shared memory per block",
          "at most " + std::to_string(limit) + " on this device");
  KFORGE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

}  // namespace kforge::gpuref
