// GDN decode: one delta-rule step per (sequence, v-head), k-last state read from `state` and
// written to `new_state`. Semantics of ref/gdn_decode.cpp.
#include <cmath>

#include "gpuref/device_math.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

constexpr int kThreads = 128;  // four warps; each takes every fourth state row

struct DecodeArgs {
  const Bf16* q;         // [batch, num_q_heads, d]
  const Bf16* k;         // [batch, num_k_heads, d]
  const Bf16* v;         // [batch, num_v_heads, d]
  const float* state;    // [batch, num_v_heads, d, d] or nullptr (zeros)
  const float* a_log;    // [num_v_heads]
  const Bf16* a;         // [batch, num_v_heads]
  const float* dt_bias;  // [num_v_heads]
  const Bf16* b;         // [batch, num_v_heads]
  float scale;
  int num_q_heads, num_k_heads, num_v_heads, d;
  Bf16* out;             // [batch, num_v_heads, d]
  float* new_state;      // [batch, num_v_heads, d, d]
};

// One block per (sequence, v-head) = blockIdx.x. Dynamic shared memory: q, k (float) of the
// head's GVA source heads and one zero row standing in for an absent state.
__global__ void __launch_bounds__(kThreads) gdn_decode_kernel(DecodeArgs p) {
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
  const std::int64_t hq = axis(axes, kOp, "num_q_heads"), hk = axis(axes, kOp, "num_k_heads");
  const std::int64_t hv = axis(axes, kOp, "num_v_heads"), d = axis(axes, kOp, "head_size");
  require(seq_len == 1, "gdn_decode: seq_len is " + std::to_string(seq_len), "1");
  // As gdn::head_layout: repeat_interleave must map the q/k heads onto exactly hv heads.
  require(hq > 0 && hk > 0 && hv > 0 && hv % hq == 0 && hv % hk == 0 && d > 0,
          "gdn_decode: heads q=" + std::to_string(hq) + " k=" + std::to_string(hk) + " v=" + std::to_string(hv) +
              ", head_size " + std::to_string(d),
          "positive sizes, num_q_heads and num_k_heads dividing num_v_heads");

  DecodeArgs p{};
  p.q = input<Bf16>(in, kOp, "q", DType::kBFloat16, {batch, 1, hq, d});
  p.k = input<Bf16>(in, kOp, "k", DType::kBFloat16, {batch, 1, hk, d});
  p.v = input<Bf16>(in, kOp, "v", DType::kBFloat16, {batch, 1, hv, d});
  p.state = input<float>(in, kOp, "state", DType::kFloat32, {batch, hv, d, d}, /*optional=*/true);
  p.a_log = input<float>(in, kOp, "A_log", DType::kFloat32, {hv});
  p.a = input<Bf16>(in, kOp, "a", DType::kBFloat16, {batch, 1, hv});
  p.dt_bias = input<float>(in, kOp, "dt_bias", DType::kFloat32, {hv});
  p.b = input<Bf16>(in, kOp, "b", DType::kBFloat16, {batch, 1, hv});
  // 0 selects 1/sqrt(head_size), rounded to float as torch does (gdn::read_scale).
  const auto scale = static_cast<float>(scalar(scalars, kOp, "scale", DType::kFloat32));
  p.scale = scale == 0.0f ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))) : scale;
  p.num_q_heads = static_cast<int>(hq);
  p.num_k_heads = static_cast<int>(hk);
  p.num_v_heads = static_cast<int>(hv);
  p.d = static_cast<int>(d);
  p.out = output<Bf16>(out, kOp, "output");
  p.new_state = output<float>(out, kOp, "new_state");

  if (batch == 0) return;
  const std::size_t smem = 3 * static_cast<std::size_t>(d) * sizeof(float);
  allow_dynamic_smem(gdn_decode_kernel, smem, kOp);
  gdn_decode_kernel<<<static_cast<unsigned>(batch * hv), kThreads, smem, s>>>(p);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
