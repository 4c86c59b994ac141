// MoE with DeepSeek-V3 no-aux routing and fp8 block-scale experts. Semantics of
// ref/moe_fp8_block_scale.cpp. Stages, all queued on the stream without host synchronization:
//   1. routing, one thread per token: top-8 global expert ids and their weights;
//   2. bucketing, one warp per local expert: its tokens in increasing order and their weights,
//      and the count, which stays on the device;
//   3. per local expert, in local order as the reference's index_add_: GEMM1 over the gathered
//      tokens, SwiGLU, GEMM2 whose epilogue adds weight * O into a float32 accumulator [T, H].
//      Grids are sized for every token choosing the expert; blocks past the count exit at once;
//   4. the accumulator rounded to bf16.
// The GEMMs are plain shared-memory tiled fp32 FMA kernels that decode fp8 weights as they load.
#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "gpuref/device_math.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

// Fixed by the definition name (topk8_ng8_kg4); sizes come from the axes.
constexpr int kTopK = 8;
constexpr int kNGroup = 8;
constexpr int kTopKGroup = 4;

constexpr int kRoutingThreads = 128;
constexpr int kTile = 64;          // GEMM output tile kTile x kTile
constexpr int kTileK = 32;         // reduction slice per shared-memory stage
constexpr int kGemmThreads = 256;  // 16 x 16 threads, each 4 x 4 outputs strided by 16
constexpr int kElementwiseThreads = 256;
constexpr int kMaxElementwiseBlocks = 4096;

// torch.topk's order made total, as the oracle: NaN first, then larger, then lower index.
__device__ bool ranks_before(float a, int ia, float b, int ib) {
  const bool a_nan = isnan(a), b_nan = isnan(b);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

// 1 / (1 + exp(-x)) as the oracle's float math. Routing is a discrete choice, so exp goes through
// double and one rounding to float, agreeing with the host's expf where the device's expf could
// be an ulp off and flip a near tie.
__device__ float routing_sigmoid(float x) {
  return 1.0f / (1.0f + static_cast<float>(exp(-static_cast<double>(x))));
}

struct RoutingArgs {
  const float* logits;  // [tokens, experts]
  const Bf16* bias;     // [experts]
  std::int64_t tokens;
  int experts;
  float scaling;
  std::int32_t* topk_ids;  // [tokens, kTopK], global expert ids in rank order
  float* topk_weights;     // [tokens, kTopK]
};

__global__ void __launch_bounds__(kRoutingThreads) moe_routing_kernel(RoutingArgs p) {
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * kRoutingThreads + threadIdx.x;
  if (t >= p.tokens) return;
  const float* logits = p.logits + t * p.experts;
  const int group_size = p.experts / kNGroup;
  const auto biased = [&](int e) { return routing_sigmoid(logits[e]) + to_float(p.bias[e]); };

  // Group score: the sum of the group's two best biased scores.
  float group_score[kNGroup];
#pragma unroll
  for (int g = 0; g < kNGroup; ++g) {
    int best = g * group_size, second = best + 1;
    float best_v = biased(best), second_v = biased(second);
    if (ranks_before(second_v, second, best_v, best)) {
      const int e = best;
      best = second;
      second = e;
      const float v = best_v;
      best_v = second_v;
      second_v = v;
    }
    for (int e = g * group_size + 2; e < (g + 1) * group_size; ++e) {
      const float v = biased(e);
      if (ranks_before(v, e, best_v, best)) {
        second = best;
        second_v = best_v;
        best = e;
        best_v = v;
      } else if (ranks_before(v, e, second_v, second)) {
        second = e;
        second_v = v;
      }
    }
    group_score[g] = best_v + second_v;
  }

  // The kTopKGroup best groups, as a bit mask.
  unsigned kept = 0;
#pragma unroll
  for (int k = 0; k < kTopKGroup; ++k) {
    int pick = -1;
#pragma unroll
    for (int g = 0; g < kNGroup; ++g) {
      if (!((kept >> g) & 1u) && (pick < 0 || ranks_before(group_score[g], g, group_score[pick], pick))) pick = g;
    }
    kept |= 1u << pick;
  }

  // The kTopK best experts by biased score, experts of dropped groups at finfo(float32).min as
  // in the reference. Pick k is the best expert ranking after pick k-1 (the order is total).
  const auto pruned = [&](int e) { return ((kept >> (e / group_size)) & 1u) ? biased(e) : -FLT_MAX; };
  int ids[kTopK];
  int prev = -1;
  float prev_v = 0.0f;
#pragma unroll
  for (int k = 0; k < kTopK; ++k) {
    int pick = -1;
    float pick_v = 0.0f;
    for (int e = 0; e < p.experts; ++e) {
      const float v = pruned(e);
      if (prev >= 0 && !ranks_before(prev_v, prev, v, e)) continue;
      if (pick < 0 || ranks_before(v, e, pick_v, pick)) {
        pick = e;
        pick_v = v;
      }
    }
    ids[k] = pick;
    prev = pick;
    prev_v = pick_v;
  }

  // Weights from the unbiased scores; the oracle sums the eight in double and rounds once.
  double sum = 0.0;
#pragma unroll
  for (int k = 0; k < kTopK; ++k) sum += routing_sigmoid(logits[ids[k]]);
  const float denom = static_cast<float>(sum) + 1e-20f;
#pragma unroll
  for (int k = 0; k < kTopK; ++k) {
    p.topk_ids[t * kTopK + k] = ids[k];
    p.topk_weights[t * kTopK + k] = routing_sigmoid(logits[ids[k]]) / denom * p.scaling;
  }
}

// One warp per local expert (blockIdx.x): the tokens that chose it, in increasing order, with
// the routing weight of that choice. Lists have room for every token.
__global__ void __launch_bounds__(32) moe_bucket_kernel(const std::int32_t* topk_ids, const float* topk_weights,
                                                        int tokens, std::int64_t expert_offset, int* counts,
                                                        int* token_lists, float* weight_lists) {
  const int local = static_cast<int>(blockIdx.x), lane = static_cast<int>(threadIdx.x);
  const std::int64_t expert = expert_offset + local;
  int* list = token_lists + static_cast<std::int64_t>(local) * tokens;
  float* weights = weight_lists + static_cast<std::int64_t>(local) * tokens;
  int count = 0;
  for (int base = 0; base < tokens; base += 32) {
    const int t = base + lane;
    int hit = -1;  // the token's top-k slot holding this expert (ids are distinct)
    if (t < tokens) {
      for (int k = 0; k < kTopK; ++k) {
        if (topk_ids[static_cast<std::int64_t>(t) * kTopK + k] == expert) hit = k;
      }
    }
    const unsigned hits = __ballot_sync(kFullMask, hit >= 0);
    if (hit >= 0) {
      const int pos = count + __popc(hits & ((1u << lane) - 1u));
      list[pos] = t;
      weights[pos] = topk_weights[static_cast<std::int64_t>(t) * kTopK + hit];
    }
    count += __popc(hits);
  }
  if (lane == 0) counts[local] = count;
}

// GEMM1 of one expert: G1[m, n] = sum_h A[token_m, h] * W13[n, h] with the reference's float32
// dequantization A = fp8 * hidden_states_scale[h / block, token] (block-major scales) and
// W13 = fp8 * scale[n / block, h / block].
struct Gemm1Operands {
  const Fp8E4M3* x;        // [tokens, hidden]
  const float* x_scale;    // [hidden_blocks, tokens]
  const Fp8E4M3* w;        // [gemm1_out, hidden] of this expert
  const float* w_scale;    // [gemm1_out_blocks, hidden_blocks] of this expert
  const int* token_list;   // [count]
  const int* count;
  std::int64_t tokens;
  int hidden, gemm1_out, block, hidden_blocks;
  float* g1;               // [count, gemm1_out]

  __device__ float a(int m, int k) const {
    const std::int64_t t = token_list[m];
    return to_float(x[t * hidden + k]) * x_scale[(k / block) * tokens + t];
  }
  __device__ float b(int n, int k) const {
    return to_float(w[static_cast<std::int64_t>(n) * hidden + k]) * w_scale[(n / block) * hidden_blocks + k / block];
  }
  __device__ void store(int m, int n, float v) const { g1[static_cast<std::int64_t>(m) * gemm1_out + n] = v; }
};

// GEMM2 of one expert: O[m, h] = sum_i C[m, i] * W2[h, i], W2 = fp8 * scale[h / block, i / block];
// the epilogue adds float(O) * weight into the token's accumulator row, rounding the product
// and the sum separately as the reference's O * w_tok and index_add_.
struct Gemm2Operands {
  const float* c;          // [count, inter]
  const Fp8E4M3* w;        // [hidden, inter] of this expert
  const float* w_scale;    // [hidden_blocks, inter_blocks] of this expert
  const int* token_list;   // [count]
  const float* weight_list;  // [count]
  const int* count;
  int inter, hidden, block, inter_blocks;
  float* acc;              // [tokens, hidden]

  __device__ float a(int m, int k) const { return c[static_cast<std::int64_t>(m) * inter + k]; }
  __device__ float b(int n, int k) const {
    return to_float(w[static_cast<std::int64_t>(n) * inter + k]) * w_scale[(n / block) * inter_blocks + k / block];
  }
  __device__ void store(int m, int n, float v) const {
    float* out = acc + static_cast<std::int64_t>(token_list[m]) * hidden + n;
    *out = __fadd_rn(*out, __fmul_rn(v, weight_list[m]));
  }
};

// out[m, n] = sum_k a(m, k) * b(n, k) for m < *count, n < n_size, over k < k_size in increasing
// order (so a row's result does not depend on where the row sits in the list). Block
// (blockIdx.x, blockIdx.y) computes the output tile at (n, m) = kTile * (x, y).
template <class Operands>
__global__ void __launch_bounds__(kGemmThreads) expert_gemm_kernel(Operands op, int n_size, int k_size) {
  const int rows = *op.count;
  const int m0 = static_cast<int>(blockIdx.y) * kTile, n0 = static_cast<int>(blockIdx.x) * kTile;
  if (m0 >= rows) return;
  // Transposed tiles ([k][row], one pad column against bank conflicts on the stores).
  __shared__ float a_tile[kTileK][kTile + 1];
  __shared__ float b_tile[kTileK][kTile + 1];
  const int tx = static_cast<int>(threadIdx.x) % 16, ty = static_cast<int>(threadIdx.x) / 16;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < k_size; k0 += kTileK) {
    for (int i = static_cast<int>(threadIdx.x); i < kTile * kTileK; i += kGemmThreads) {
      const int r = i / kTileK, kk = i % kTileK, k = k0 + kk;
      a_tile[kk][r] = (m0 + r < rows && k < k_size) ? op.a(m0 + r, k) : 0.0f;
      b_tile[kk][r] = (n0 + r < n_size && k < k_size) ? op.b(n0 + r, k) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = a_tile[kk][ty + 16 * i];
        b[i] = b_tile[kk][tx + 16 * i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < rows && n < n_size) op.store(m, n, acc[i][j]);
    }
  }
}

// C = silu(X2) * X1 with X1, X2 the first and second halves of each G1 row (second half is the
// gate), in the reference's float32 operation order.
__global__ void __launch_bounds__(kElementwiseThreads) moe_swiglu_kernel(const float* g1, const int* count, int inter,
                                                                         float* c) {
  const std::int64_t total = static_cast<std::int64_t>(*count) * inter;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kElementwiseThreads + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * kElementwiseThreads) {
    const std::int64_t m = i / inter, j = i % inter;
    const float x1 = g1[m * 2 * inter + j], x2 = g1[m * 2 * inter + inter + j];
    c[i] = x2 / (1.0f + expf(-x2)) * x1;
  }
}

__global__ void __launch_bounds__(kElementwiseThreads) moe_to_bf16_kernel(const float* acc, std::int64_t n,
                                                                          Bf16* out) {
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kElementwiseThreads + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * kElementwiseThreads) {
    out[i] = to_bf16(acc[i]);
  }
}

unsigned elementwise_blocks(std::int64_t n) {
  return static_cast<unsigned>(
      std::min<std::int64_t>((n + kElementwiseThreads - 1) / kElementwiseThreads, kMaxElementwiseBlocks));
}

unsigned tiles(std::int64_t n) { return static_cast<unsigned>((n + kTile - 1) / kTile); }

}  // namespace

void moe_fp8_block_scale(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out,
                         cudaStream_t s) {
  constexpr std::string_view kOp = "moe_fp8_block_scale";
  const std::int64_t T = axis(axes, kOp, "seq_len"), E = axis(axes, kOp, "num_experts");
  const std::int64_t L = axis(axes, kOp, "num_local_experts"), H = axis(axes, kOp, "hidden_size");
  const std::int64_t I = axis(axes, kOp, "intermediate_size"), N = axis(axes, kOp, "gemm1_out_size");
  const std::int64_t hb = axis(axes, kOp, "num_hidden_blocks"), ib = axis(axes, kOp, "num_intermediate_blocks");
  const std::int64_t nb = axis(axes, kOp, "num_gemm1_out_blocks");
  // The oracle's geometry checks: groups of at least two experts, one block size for every
  // quantized dimension, GEMM1 producing the up and gate halves.
  require(E % kNGroup == 0 && E / kNGroup >= 2, "moe_fp8_block_scale: num_experts is " + std::to_string(E),
          "a multiple of 8 with at least 2 experts per group");
  require(H > 0 && hb > 0 && H % hb == 0, "moe_fp8_block_scale: hidden_size " + std::to_string(H) +
                                              " with num_hidden_blocks " + std::to_string(hb),
          "a positive hidden_size that is a multiple of num_hidden_blocks");
  const std::int64_t block = H / hb;
  require(I > 0 && I == ib * block && N == nb * block && N == 2 * I,
          "moe_fp8_block_scale: intermediate_size " + std::to_string(I) + " / " + std::to_string(ib) +
              " blocks, gemm1_out_size " + std::to_string(N) + " / " + std::to_string(nb) + " blocks",
          "block size " + std::to_string(block) + " throughout and gemm1_out_size == 2 * intermediate_size > 0");
  require(T <= std::int64_t{65535} * kTile && H * I < (std::int64_t{1} << 31) && N * H < (std::int64_t{1} << 31),
          "moe_fp8_block_scale: seq_len " + std::to_string(T) + " or expert matrices too large",
          "seq_len <= 4194240 and expert matrices under 2^31 elements");

  const auto* logits = input<float>(in, kOp, "routing_logits", DType::kFloat32, {T, E});
  const auto* bias = input<Bf16>(in, kOp, "routing_bias", DType::kBFloat16, {E});
  const auto* x = input<Fp8E4M3>(in, kOp, "hidden_states", DType::kFloat8E4M3FN, {T, H});
  const auto* x_scale = input<float>(in, kOp, "hidden_states_scale", DType::kFloat32, {hb, T});
  const auto* w1 = input<Fp8E4M3>(in, kOp, "gemm1_weights", DType::kFloat8E4M3FN, {L, N, H});
  const auto* w1_scale = input<float>(in, kOp, "gemm1_weights_scale", DType::kFloat32, {L, nb, hb});
  const auto* w2 = input<Fp8E4M3>(in, kOp, "gemm2_weights", DType::kFloat8E4M3FN, {L, H, I});
  const auto* w2_scale = input<float>(in, kOp, "gemm2_weights_scale", DType::kFloat32, {L, hb, ib});
  const auto offset = static_cast<std::int64_t>(scalar(scalars, kOp, "local_expert_offset", DType::kInt32));
  const auto scaling = static_cast<float>(scalar(scalars, kOp, "routed_scaling_factor", DType::kFloat32));
  auto* result = output<Bf16>(out, kOp, "output");
  if (T == 0) return;

  const auto bytes = [](std::int64_t n, std::size_t size) { return static_cast<std::size_t>(n) * size; };
  const StreamBuffer topk_ids(bytes(T * kTopK, sizeof(std::int32_t)), s);
  const StreamBuffer topk_weights(bytes(T * kTopK, sizeof(float)), s);
  const StreamBuffer counts(bytes(L, sizeof(int)), s);
  const StreamBuffer token_lists(bytes(L * T, sizeof(int)), s);
  const StreamBuffer weight_lists(bytes(L * T, sizeof(float)), s);
  const StreamBuffer g1(bytes(T * N, sizeof(float)), s);
  const StreamBuffer c(bytes(T * I, sizeof(float)), s);
  const StreamBuffer acc(bytes(T * H, sizeof(float)), s);
  KFORGE_CUDA_CHECK(cudaMemsetAsync(acc.as<float>(), 0, bytes(T * H, sizeof(float)), s));

  const RoutingArgs routing{logits, bias, T, static_cast<int>(E), scaling, topk_ids.as<std::int32_t>(),
                            topk_weights.as<float>()};
  moe_routing_kernel<<<static_cast<unsigned>((T + kRoutingThreads - 1) / kRoutingThreads), kRoutingThreads, 0, s>>>(
      routing);
  KFORGE_CUDA_CHECK_LAUNCH();
  if (L > 0) {
    moe_bucket_kernel<<<static_cast<unsigned>(L), 32, 0, s>>>(topk_ids.as<std::int32_t>(), topk_weights.as<float>(),
                                                             static_cast<int>(T), offset, counts.as<int>(),
                                                             token_lists.as<int>(), weight_lists.as<float>());
    KFORGE_CUDA_CHECK_LAUNCH();
  }

  for (std::int64_t le = 0; le < L; ++le) {
    const std::int64_t ge = offset + le;
    if (ge < 0 || ge >= E) continue;  // not an expert of this model: contributes nothing
    const int* count = counts.as<int>() + le;
    const int* token_list = token_lists.as<int>() + le * T;

    const Gemm1Operands gemm1{x, x_scale, w1 + le * N * H, w1_scale + le * nb * hb, token_list, count, T,
                              static_cast<int>(H), static_cast<int>(N), static_cast<int>(block), static_cast<int>(hb),
                              g1.as<float>()};
    expert_gemm_kernel<<<dim3(tiles(N), tiles(T)), kGemmThreads, 0, s>>>(gemm1, static_cast<int>(N),
                                                                         static_cast<int>(H));
    KFORGE_CUDA_CHECK_LAUNCH();

    moe_swiglu_kernel<<<elementwise_blocks(T * I), kElementwiseThreads, 0, s>>>(g1.as<float>(), count,
                                                                              static_cast<int>(I), c.as<float>());
    KFORGE_CUDA_CHECK_LAUNCH();

    const Gemm2Operands gemm2{c.as<float>(), w2 + le * H * I, w2_scale + le * hb * ib, token_list,
                              weight_lists.as<float>() + le * T, count, static_cast<int>(I), static_cast<int>(H),
                              static_cast<int>(block), static_cast<int>(ib), acc.as<float>()};
    expert_gemm_kernel<<<dim3(tiles(H), tiles(T)), kGemmThreads, 0, s>>>(gemm2, static_cast<int>(H),
                                                                         static_cast<int>(I));
    KFORGE_CUDA_CHECK_LAUNCH();
  }
  moe_to_bf16_kernel<<<elementwise_blocks(T * H), kElementwiseThreads, 0, s>>>(acc.as<float>(), T * H, result);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
