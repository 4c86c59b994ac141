// GDN decode: one delta-rule step per (sequence, v-head), k-last state read from `state` and
// written to `new_state`. Semantics of ref/gdn_decode.cpp.
#include "gpuref/device_math.cuh"
#include "gpuref/gdn_args.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

constexpr int kThreads = 128;  // four warps; each takes every fourth state row

// One block per (sequence, v-head) = blockIdx.x. Dynamic shared memory: q, k (float) of the
// head's GVA source heads and one zero row standing in for an absent state.
__global__ void __launch_bounds__(kThreads) gdn_decode_kernel(GdnArgs p) {
  extern __shared__ float smem[];
  const int d = p.d;
  float* q = smem;
  float* k = q + d;
  float* zeros = k + d;
  const auto item = static_cast<std::int64_t>(blockIdx.x);  // n * num_v_heads + h
  const auto n = item / p.num_v_heads;
  const auto h = static_cast<int>(item % p.num_v_heads);
  const auto q_head = h / (p.num_v_heads / p.num_q_heads);
  const auto k_head = h / (p.num_v_heads / p.num_k_heads);
  for (int c = static_cast<int>(threadIdx.x); c < d; c += kThreads) {
    q[c] = to_float(p.q[(n * p.num_q_heads + q_head) * d + c]);
    k[c] = to_float(p.k[(n * p.num_k_heads + k_head) * d + c]);
    zeros[c] = 0.0f;
  }
  __syncthreads();

  const float g = gdn_decay_gate(to_float(p.a[item]), p.a_log[h], p.dt_bias[h]);
  const float beta = sigmoid(to_float(p.b[item]));
  const std::int64_t matrix = static_cast<std::int64_t>(d) * d;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  for (int row = warp; row < d; row += kThreads / 32) {
    const float* in = p.state ? p.state + item * matrix + static_cast<std::int64_t>(row) * d : zeros;
    float* out = p.new_state + item * matrix + static_cast<std::int64_t>(row) * d;
    const float v = to_float(p.v[item * d + row]);
    const float qs = gdn_delta_rule_row(in, out, q, k, v, g, beta, d);
    if (lane == 0) p.out[item * d + row] = to_bf16(p.scale * qs);
  }
}

}  // namespace

void gdn_decode(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out,
                cudaStream_t s) {
  constexpr std::string_view kOp = "gdn_decode";
  const std::int64_t batch = axis(axes, kOp, "batch_size"), seq_len = axis(axes, kOp, "seq_len");
  require(seq_len == 1, "gdn_decode: seq_len is " + std::to_string(seq_len), "1");
  const GdnArgs p = gdn_args(kOp, axes, in, scalars, out, {batch, 1}, batch);

  if (batch == 0) return;
  const std::size_t smem = 3 * static_cast<std::size_t>(p.d) * sizeof(float);
  allow_dynamic_smem(gdn_decode_kernel, smem, kOp);
  gdn_decode_kernel<<<static_cast<unsigned>(batch * p.num_v_heads), kThreads, smem, s>>>(p);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
