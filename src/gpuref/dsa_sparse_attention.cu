// DSA sparse MLA attention: per (token, head), softmax over the selected cache slots of the scaled
// logits q_nope . ckv + q_pe . kpe, output the weighted ckv rows, base-2 lse. Semantics of
// ref/dsa_sparse_attention.cpp.
//
// Not validated on the device (the oracle throws instead): an index outside [0, num_slots) other
// than -1 is skipped like padding, so a bad index gives wrong numbers but no out-of-bounds read.
#include <cmath>
#include <numbers>

#include "gpuref/device_math.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

constexpr int kThreads = 256;

struct AttentionArgs {
  const Bf16* q_nope;           // [tokens, heads, dim_ckv]
  const Bf16* q_pe;             // [tokens, heads, dim_kpe]
  const Bf16* ckv;              // [num_slots, dim_ckv]
  const Bf16* kpe;              // [num_slots, dim_kpe]
  const std::int32_t* indices;  // [tokens, topk]
  std::int64_t num_slots;
  float sm_scale;
  int heads, dim_ckv, dim_kpe, topk;
  Bf16* out;                    // [tokens, heads, dim_ckv]
  float* lse;                   // [tokens, heads]
};

// Block (token, head) = (blockIdx.x, blockIdx.y). Dynamic shared memory: per index j its slot
// (-1 when skipped) and scaled logit, later its softmax weight; then q (float, ckv then kpe part).
__global__ void __launch_bounds__(kThreads) dsa_attention_kernel(AttentionArgs p) {
  extern __shared__ std::int32_t slot_of[];
  __shared__ float scratch[32];
  auto* weight = reinterpret_cast<float*>(slot_of + p.topk);
  float* q = weight + p.topk;
  const auto token = static_cast<std::int64_t>(blockIdx.x);
  const auto th = token * p.heads + blockIdx.y;  // row of q, out and lse
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32, warp = tid / 32;

  for (int c = tid; c < p.dim_ckv; c += kThreads) q[c] = to_float(p.q_nope[th * p.dim_ckv + c]);
  for (int c = tid; c < p.dim_kpe; c += kThreads) q[p.dim_ckv + c] = to_float(p.q_pe[th * p.dim_kpe + c]);
  __syncthreads();

  // Logits, one warp per index.
  for (int j = warp; j < p.topk; j += kThreads / 32) {
    const std::int64_t slot = p.indices[token * p.topk + j];
    const bool valid = slot >= 0 && slot < p.num_slots;
    float dot = 0.0f;
    if (valid) {
      for (int c = lane; c < p.dim_ckv; c += 32) dot += q[c] * to_float(p.ckv[slot * p.dim_ckv + c]);
      for (int c = lane; c < p.dim_kpe; c += 32) dot += q[p.dim_ckv + c] * to_float(p.kpe[slot * p.dim_kpe + c]);
      dot = warp_sum(dot);
    }
    if (lane == 0) {
      slot_of[j] = valid ? static_cast<std::int32_t>(slot) : -1;
      weight[j] = dot * p.sm_scale;
    }
  }
  __syncthreads();

  float local_max = -INFINITY, local_count = 0.0f;
  for (int j = tid; j < p.topk; j += kThreads) {
    if (slot_of[j] < 0) continue;
    local_max = fmaxf(local_max, weight[j]);
    local_count += 1.0f;
  }
  const float max_logit = block_max(local_max, scratch);
  if (block_sum(local_count, scratch) == 0.0f) {  // no valid index: zeros and -inf
    for (int c = tid; c < p.dim_ckv; c += kThreads) p.out[th * p.dim_ckv + c] = Bf16{0};
    if (tid == 0) p.lse[th] = -INFINITY;
    return;
  }

  float local_sum = 0.0f;
  for (int j = tid; j < p.topk; j += kThreads) {
    if (slot_of[j] < 0) continue;
    weight[j] = expf(weight[j] - max_logit);
    local_sum += weight[j];
  }
  const float sum = block_sum(local_sum, scratch);  // its barriers also publish weight[]
  for (int j = tid; j < p.topk; j += kThreads) {
    if (slot_of[j] >= 0) weight[j] /= sum;  // softmax weights, as torch.softmax
  }
  __syncthreads();

  for (int c = tid; c < p.dim_ckv; c += kThreads) {
    float acc = 0.0f;
#pragma unroll 4
    for (int j = 0; j < p.topk; ++j) {
      const std::int32_t slot = slot_of[j];
      if (slot >= 0) acc += weight[j] * to_float(p.ckv[static_cast<std::int64_t>(slot) * p.dim_ckv + c]);
    }
    p.out[th * p.dim_ckv + c] = to_bf16(acc);
  }
  if (tid == 0) p.lse[th] = (max_logit + logf(sum)) / std::numbers::ln2_v<float>;
}

}  // namespace

void dsa_sparse_attention(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars,
                          DeviceTensorMap& out, cudaStream_t s) {
  constexpr std::string_view kOp = "dsa_sparse_attention";
  const std::int64_t tokens = axis(axes, kOp, "num_tokens"), heads = axis(axes, kOp, "num_qo_heads");
  const std::int64_t dim_ckv = axis(axes, kOp, "head_dim_ckv"), dim_kpe = axis(axes, kOp, "head_dim_kpe");
  const std::int64_t page_size = axis(axes, kOp, "page_size"), topk = axis(axes, kOp, "topk");
  const std::int64_t num_pages = axis(axes, kOp, "num_pages");

  AttentionArgs p{};
  p.q_nope = input<Bf16>(in, kOp, "q_nope", DType::kBFloat16, {tokens, heads, dim_ckv});
  p.q_pe = input<Bf16>(in, kOp, "q_pe", DType::kBFloat16, {tokens, heads, dim_kpe});
  p.ckv = input<Bf16>(in, kOp, "ckv_cache", DType::kBFloat16, {num_pages, page_size, dim_ckv});
  p.kpe = input<Bf16>(in, kOp, "kpe_cache", DType::kBFloat16, {num_pages, page_size, dim_kpe});
  p.indices = input<std::int32_t>(in, kOp, "sparse_indices", DType::kInt32, {tokens, topk});
  p.sm_scale = static_cast<float>(scalar(scalars, kOp, "sm_scale", DType::kFloat32));
  p.num_slots = num_pages * page_size;
  p.heads = static_cast<int>(heads);
  p.dim_ckv = static_cast<int>(dim_ckv);
  p.dim_kpe = static_cast<int>(dim_kpe);
  p.topk = static_cast<int>(topk);
  p.out = output<Bf16>(out, kOp, "output");
  p.lse = output<float>(out, kOp, "lse");

  if (tokens == 0 || heads == 0) return;
  require(heads <= 65535, "dsa_sparse_attention: num_qo_heads is " + std::to_string(heads), "at most 65535");
  const std::size_t smem = static_cast<std::size_t>(topk) * (sizeof(std::int32_t) + sizeof(float)) +
                           static_cast<std::size_t>(dim_ckv + dim_kpe) * sizeof(float);
  allow_dynamic_smem(dsa_attention_kernel, smem, kOp);
  dsa_attention_kernel<<<dim3(static_cast<unsigned>(tokens), static_cast<unsigned>(heads)), kThreads, smem, s>>>(p);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
