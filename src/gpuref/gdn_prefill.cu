// GDN prefill: the decode recurrence token by token over each cu_seqlens segment, one block per
// (sequence, v-head) with the k-last state held in shared memory. Semantics of
// ref/gdn_prefill.cpp.
//
// Not validated on the device (the oracle throws instead): cu_seqlens entries are clamped into
// [0, total_seq_len] and a segment that ends before it starts counts as empty, so bad offsets
// give wrong numbers but no out-of-bounds access.
#include "gpuref/device_math.cuh"
#include "gpuref/gdn_args.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

constexpr int kThreads = 256;  // eight warps; each takes every eighth state row

// Tokens are [total], states [num_seqs]; `out` rows outside every segment are zeroed beforehand.
struct PrefillArgs : GdnArgs {
  const std::int64_t* cu;  // [num_seqs + 1]
  std::int64_t total;
};

// Block (n, h) = (blockIdx.x, blockIdx.y). Dynamic shared memory: the d x d state, then q, k
// (float) of the current token.
__global__ void __launch_bounds__(kThreads) gdn_prefill_kernel(PrefillArgs p) {
  extern __shared__ float smem[];
  const int d = p.d;
  float* state = smem;
  float* q = state + static_cast<std::int64_t>(d) * d;
  float* k = q + d;
  const auto n = static_cast<std::int64_t>(blockIdx.x);
  const int h = static_cast<int>(blockIdx.y);
  const int q_head = h / (p.num_v_heads / p.num_q_heads);
  const int k_head = h / (p.num_v_heads / p.num_k_heads);
  const std::int64_t matrix = static_cast<std::int64_t>(d) * d;
  const std::int64_t slot = (n * p.num_v_heads + h) * matrix;
  const auto clamp_offset = [&](std::int64_t x) { return x < 0 ? 0 : (x > p.total ? p.total : x); };
  const std::int64_t begin = clamp_offset(p.cu[n]), end = clamp_offset(p.cu[n + 1]);

  // An empty sequence's new_state is zero whatever the input state (the reference skips it).
  const bool start_from_input = p.state != nullptr && end > begin;
  for (std::int64_t i = threadIdx.x; i < matrix; i += kThreads) state[i] = start_from_input ? p.state[slot + i] : 0.0f;

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  for (std::int64_t t = begin; t < end; ++t) {
    for (int c = static_cast<int>(threadIdx.x); c < d; c += kThreads) {
      q[c] = to_float(p.q[(t * p.num_q_heads + q_head) * d + c]);
      k[c] = to_float(p.k[(t * p.num_k_heads + k_head) * d + c]);
    }
    __syncthreads();  // q, k (and, at the first token, the state) are in place
    const std::int64_t row_base = (t * p.num_v_heads + h) * d;  // of v and out
    const float g = gdn_decay_gate(to_float(p.a[t * p.num_v_heads + h]), p.a_log[h], p.dt_bias[h]);
    const float beta = sigmoid(to_float(p.b[t * p.num_v_heads + h]));
    for (int row = warp; row < d; row += kThreads / 32) {
      float* s = state + static_cast<std::int64_t>(row) * d;
      const float qs = gdn_delta_rule_row(s, s, q, k, to_float(p.v[row_base + row]), g, beta, d);
      if (lane == 0) p.out[row_base + row] = to_bf16(p.scale * qs);
    }
    __syncthreads();  // every row is done with this token's q and k
  }
  __syncthreads();  // the state is complete (also when there was no token)
  for (std::int64_t i = threadIdx.x; i < matrix; i += kThreads) p.new_state[slot + i] = state[i];
}

}  // namespace

void gdn_prefill(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out,
                 cudaStream_t s) {
  constexpr std::string_view kOp = "gdn_prefill";
  const std::int64_t total = axis(axes, kOp, "total_seq_len"), num_seqs = axis(axes, kOp, "num_seqs");
  const std::int64_t len_cu = axis(axes, kOp, "len_cu_seqlens");
  require(len_cu == num_seqs + 1,
          "gdn_prefill: len_cu_seqlens is " + std::to_string(len_cu) + " with num_seqs " + std::to_string(num_seqs),
          "len_cu_seqlens == num_seqs + 1");
  const PrefillArgs p{gdn_args(kOp, axes, in, scalars, out, {total}, num_seqs),
                      input<std::int64_t>(in, kOp, "cu_seqlens", DType::kInt64, {len_cu}), total};
  const std::int64_t hv = p.num_v_heads, d = p.d;

  // Rows no segment covers stay zero, as in the reference's torch.zeros output.
  if (total > 0) {
    KFORGE_CUDA_CHECK(cudaMemsetAsync(p.out, 0, static_cast<std::size_t>(total * hv * d) * sizeof(Bf16), s));
  }
  if (num_seqs == 0) return;
  const std::size_t smem = static_cast<std::size_t>(d * d + 2 * d) * sizeof(float);
  allow_dynamic_smem(gdn_prefill_kernel, smem, kOp);
  gdn_prefill_kernel<<<dim3(static_cast<unsigned>(num_seqs), static_cast<unsigned>(hv)), kThreads, smem, s>>>(p);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
