// Gated Delta Net decode (gdn_decode_qk4_v8_d128_k_last) for Hopper: one delta-rule step per
// (sequence, v-head) pair in one kernel launch, the k-last fp32 state read once and written once.
// Any batch size and any GVA head counts; head_size 128.
//
// Semantics (the definition's reference, float32 after upcasting the bf16 inputs): per pair,
// g = exp(-exp(A_log) * softplus(a + dt_bias)), beta = sigmoid(b); the q/k head of v-head h is
// h / (num_v_heads / num_q_heads) (repeat_interleave). State row j (k-last: S^T[j, :], 128
// contiguous floats) depends only on itself, q, k, v[j], g and beta:
//   old = g*s;  u = k.old;  new_v = beta*v[j] + (1-beta)*u;  s' = (old - k*u) + k*new_v
//   o[j] = scale * q.s' = scale * (q.old + (q.k) * (new_v - u))
// The elementwise steps round as the reference does (no FMA contraction); the second form of
// o[j] lets a warp reduce k.old and q.old of all its rows, and q.k, in one butterfly.
//
// Work split: a warp works on consecutive rows of one pair; lane l holds elements 4l..4l+3 of
// each row as a float4. Two memory pipelines (kforge_tune.h, chosen per call on the host):
// - direct (small batches, or no state): a warp loads its ROWS_PER_WARP rows straight into
//   registers, every load issued before any math;
// - staged (from STAGED_MIN_BATCH sequences): a persistent grid streams tiles of TILE_ROWS rows
//   (TILE_ROWS * 512 contiguous bytes) through shared memory with TMA bulk copies, STAGES in
//   flight per CTA, so that the bytes in flight no longer depend on registers; from
//   BULK_STORE_MIN_BATCH sequences the new rows leave by bulk copies too.
// Measurements behind the choices: docs/benchmarks/gdn.md and gdn-decode-sweeps.md.
//
// ABI (include/kforge/solution_abi.h): inputs q, k, v, state, A_log, a, dt_bias, b, scale;
// outputs output, new_state. An absent optional state is a null `data` pointer (zeros, as in the
// reference). new_state may be the state buffer itself (in-place update): each element is read
// before it is written, by the thread that writes it or by the bulk copy of its own tile. Returns
// 0, -1 for arguments it does not accept, or the CUDA error of the launch.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "kforge/solution_abi.h"
#include "kforge_tune.h"

namespace {

constexpr int kHeadSize = 128;             // 32 lanes x 4 floats
constexpr int kVecPerRow = kHeadSize / 4;  // float4s per state row
constexpr int kRows = ROWS_PER_WARP;       // rows per warp
constexpr int kWarps = WARPS_PER_BLOCK;    // warps per block
constexpr int kThreads = 32 * kWarps;
constexpr int kRowsPerBlock = kRows * kWarps;
constexpr unsigned kFullMask = 0xFFFFFFFFu;

static_assert(kRows >= 1 && kRows <= 32 && kHeadSize % kRows == 0,
              "a warp's rows lie in one (sequence, v-head) pair and their outputs in distinct lanes");
static_assert(kWarps >= 1 && kThreads <= 1024, "WARPS_PER_BLOCK out of range");
static_assert(LOAD_HINT >= 0 && LOAD_HINT <= 3, "LOAD_HINT is 0, 1, 2 or 3");
static_assert(STORE_HINT >= 0 && STORE_HINT <= 2, "STORE_HINT is 0, 1 or 2");
static_assert(TILE_LOAD_HINT >= 0 && TILE_LOAD_HINT <= 1, "TILE_LOAD_HINT is 0 or 1");
static_assert(BULK_STORE_MIN_BATCH >= 0, "BULK_STORE_MIN_BATCH is a batch size");

// x / d for 0 <= x < 2^31 by a multiply-high and a shift, so that no integer division delays the
// first loads (Granlund-Montgomery: mul = ceil(2^(31+s) / d) with s = ceil(log2 d) fits 32 bits,
// and floor(x * mul / 2^(31+s)) = floor(x / d) for x < 2^31). d == 1 is mul == 0.
struct FastDiv {
  unsigned mul = 0, shift = 0;

  static FastDiv of(unsigned d) {
    FastDiv f;
    if (d <= 1) return f;
    unsigned s = 0;
    while ((1ull << s) < d) ++s;
    f.mul = static_cast<unsigned>(((1ull << (31 + s)) + d - 1) / d);
    f.shift = s - 1;
    return f;
  }
  __device__ __forceinline__ unsigned operator()(unsigned x) const { return mul ? __umulhi(x, mul) >> shift : x; }
};

struct Params {
  const uint2* q;          // bf16 [batch, num_q_heads, 128] as groups of 4
  const uint2* k;          // bf16 [batch, num_k_heads, 128] as groups of 4
  const std::uint16_t* v;  // bf16 [batch, num_v_heads, 128]
  const float4* state;     // [batch, num_v_heads, 128, 128] as groups of 4, or null (zeros)
  const float* a_log;      // [num_v_heads]
  const std::uint16_t* a;  // bf16 [batch, num_v_heads]
  const float* dt_bias;    // [num_v_heads]
  const std::uint16_t* b;  // bf16 [batch, num_v_heads]
  __nv_bfloat16* out;      // [batch, num_v_heads, 128]
  float4* new_state;       // [batch, num_v_heads, 128, 128]
  float scale;
  unsigned num_q_heads, num_k_heads, num_v_heads;
  FastDiv by_v_heads;  // pair -> sequence
  FastDiv by_q_group;  // v-head -> q head (num_v_heads / num_q_heads v-heads per q head)
  FastDiv by_k_group;  // v-head -> k head
  long long num_rows;  // batch * num_v_heads * 128
};

__device__ __forceinline__ float bf16_bits_to_float(std::uint32_t bits) { return __uint_as_float(bits << 16); }

// Four consecutive bf16 values (element 0 in the low half of x).
__device__ __forceinline__ float4 bf16x4_to_float4(uint2 w) {
  return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xFFFF0000u), __uint_as_float(w.y << 16),
                     __uint_as_float(w.y & 0xFFFF0000u));
}

// An L2 cache policy for `.L2::cache_hint` accesses: the lines they touch are evicted first
// (kEvictFirst) or last. A template, so that a configuration using neither compiles neither.
template <bool kEvictFirst>
__device__ __forceinline__ std::uint64_t l2_policy() {
  std::uint64_t policy;
  if constexpr (kEvictFirst) {
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  } else {
    asm("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
  }
  return policy;
}

__device__ __forceinline__ float4 load_state(const float4* p) {
#if LOAD_HINT == 1
  return __ldcs(p);
#elif LOAD_HINT == 2
  float4 r;
  asm("ld.global.nc.L1::no_allocate.L2::256B.v4.f32 {%0, %1, %2, %3}, [%4];"
      : "=f"(r.x), "=f"(r.y), "=f"(r.z), "=f"(r.w)
      : "l"(p));
  return r;
#elif LOAD_HINT == 3
  float4 r;
  asm("ld.global.nc.L1::no_allocate.L2::cache_hint.L2::256B.v4.f32 {%0, %1, %2, %3}, [%4], %5;"
      : "=f"(r.x), "=f"(r.y), "=f"(r.z), "=f"(r.w)
      : "l"(p), "l"(l2_policy<true>()));
  return r;
#else
  return __ldg(p);
#endif
}

__device__ __forceinline__ void store_state(float4* p, float4 v) {
#if STORE_HINT == 1
  __stcs(p, v);
#elif STORE_HINT == 2
  asm volatile("st.global.L2::cache_hint.v4.f32 [%0], {%1, %2, %3, %4}, %5;" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z),
               "f"(v.w), "l"(l2_policy<false>())
               : "memory");
#else
  *p = v;
#endif
}

__device__ __forceinline__ float dot4(float4 x, float4 y) {
  return fmaf(x.w, y.w, fmaf(x.z, y.z, fmaf(x.y, y.y, x.x * y.x)));
}

__device__ __forceinline__ float4 scaled(float g, float4 s) {
  return make_float4(__fmul_rn(g, s.x), __fmul_rn(g, s.y), __fmul_rn(g, s.z), __fmul_rn(g, s.w));
}

// (old - k*u) + k*new_v, each product and sum rounded as the reference's tensor ops.
__device__ __forceinline__ float update(float old, float k, float u, float new_v) {
  return __fadd_rn(__fsub_rn(old, __fmul_rn(k, u)), __fmul_rn(k, new_v));
}

// torch.nn.functional.softplus (beta 1, threshold 20).
__device__ __forceinline__ float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

// The small per-pair inputs of a warp's rows (all but the state).
template <int R>
struct PairInputs {
  uint2 q_bits, k_bits;     // this lane's 4 elements of q and k
  std::uint32_t v_bits[R];  // v of the warp's rows
  std::uint32_t a_bits, b_bits;
  float a_log, dt_bias;
};

// Issues the loads of PairInputs for the R rows from row `first_row` on (one pair).
template <int R>
__device__ __forceinline__ PairInputs<R> load_pair_inputs(const Params& p, unsigned pair, unsigned j0, int lane) {
  const unsigned n = p.by_v_heads(pair);
  const unsigned h = pair - n * p.num_v_heads;
  PairInputs<R> in;
  in.q_bits = __ldg(p.q + (static_cast<long long>(n) * p.num_q_heads + p.by_q_group(h)) * kVecPerRow + lane);
  in.k_bits = __ldg(p.k + (static_cast<long long>(n) * p.num_k_heads + p.by_k_group(h)) * kVecPerRow + lane);
#pragma unroll
  for (int r = 0; r < R; ++r) in.v_bits[r] = __ldg(p.v + static_cast<long long>(pair) * kHeadSize + j0 + r);
  in.a_bits = __ldg(p.a + pair);
  in.b_bits = __ldg(p.b + pair);
  in.a_log = __ldg(p.a_log + h);
  in.dt_bias = __ldg(p.dt_bias + h);
  return in;
}

// One delta-rule step on R consecutive state rows j0.. of one pair held by a warp (lane l holds
// elements 4l..4l+3 of each row): hands this lane's part of new row r to store_row(r, value) and
// writes the rows' outputs.
template <int R, typename StoreRow>
__device__ __forceinline__ void step_rows(const Params& p, const float4 (&s)[R], const PairInputs<R>& in,
                                          unsigned pair, unsigned j0, int lane, StoreRow store_row) {
  // Gates, in float32 as the reference (every lane computes the same values).
  const float g = expf(-expf(in.a_log) * softplus(bf16_bits_to_float(in.a_bits) + in.dt_bias));
  const float beta = 1.0f / (1.0f + expf(-bf16_bits_to_float(in.b_bits)));
  const float4 q = bf16x4_to_float4(in.q_bits);
  const float4 k = bf16x4_to_float4(in.k_bits);

  // sums[2r] = k.old_r, sums[2r+1] = q.old_r, sums[2R] = q.k: one butterfly for all.
  float sums[2 * R + 1];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float4 old = scaled(g, s[r]);
    sums[2 * r] = dot4(k, old);
    sums[2 * r + 1] = dot4(q, old);
  }
  sums[2 * R] = dot4(q, k);
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
#pragma unroll
    for (int i = 0; i < 2 * R + 1; ++i) sums[i] += __shfl_xor_sync(kFullMask, sums[i], offset);
  }

  const float qk = sums[2 * R];
  const float keep = 1.0f - beta;
  float mine = 0.0f;  // lane r < R stores row r's output
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float u = sums[2 * r];
    const float new_v = __fadd_rn(__fmul_rn(beta, bf16_bits_to_float(in.v_bits[r])), __fmul_rn(keep, u));
    const float4 old = scaled(g, s[r]);
    store_row(r, make_float4(update(old.x, k.x, u, new_v), update(old.y, k.y, u, new_v),
                             update(old.z, k.z, u, new_v), update(old.w, k.w, u, new_v)));
    const float o = p.scale * (sums[2 * r + 1] + qk * (new_v - u));
    if (lane == r) mine = o;
  }
  if (lane < R) p.out[static_cast<long long>(pair) * kHeadSize + j0 + lane] = __float2bfloat16_rn(mine);
}

// Direct pipeline: every warp loads its rows straight into registers, issuing all its loads before
// any math; blocks retire and refill as the state streams. Any batch, a null state included.
__global__ void __launch_bounds__(kThreads) gdn_decode_kernel(const Params p) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const long long first_row =
      (static_cast<long long>(blockIdx.x) * kWarps + static_cast<int>(threadIdx.x >> 5)) * kRows;
  if (first_row >= p.num_rows) return;  // whole warps only: num_rows is a multiple of kRows
  const long long vec0 = first_row * kVecPerRow + lane;

  // The state rows first: the only loads that go to DRAM in bulk.
  float4 s[kRows];
  if (p.state != nullptr) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) s[r] = load_state(p.state + vec0 + r * kVecPerRow);
  } else {
#pragma unroll
    for (int r = 0; r < kRows; ++r) s[r] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }
  // Then every other input, all before the first use: each is a DRAM round trip under a cold L2.
  const auto pair = static_cast<unsigned>(first_row / kHeadSize);  // n * num_v_heads + h (< 2^31, host-checked)
  const auto j0 = static_cast<unsigned>(first_row % kHeadSize);
  const PairInputs<kRows> in = load_pair_inputs<kRows>(p, pair, j0, lane);
  step_rows<kRows>(p, s, in, pair, j0, lane,
                   [&](int r, float4 v) { store_state(p.new_state + vec0 + r * kVecPerRow, v); });
}

// Staged pipeline: a persistent grid; each CTA walks tiles of TILE_ROWS consecutive rows (one
// pair, TILE_ROWS * 512 contiguous bytes) with STAGES bulk copies (TMA, cp.async.bulk) in flight
// into shared memory, so that bytes in flight no longer depend on registers and warps, and the
// small inputs of the next tile load into registers while this one computes.
constexpr int kTileRows = TILE_ROWS;
constexpr int kStages = STAGES;
constexpr int kStagedWarps = STAGED_WARPS;
constexpr int kStagedThreads = 32 * kStagedWarps;
constexpr int kTileRowsPerWarp = kTileRows / kStagedWarps;
constexpr unsigned kTileBytes = kTileRows * kVecPerRow * sizeof(float4);
constexpr int kStagedSmemBytes = kStages * static_cast<int>(kTileBytes);
static_assert(kHeadSize % kTileRows == 0, "a tile lies in one (sequence, v-head) pair");
static_assert(kTileRows % kStagedWarps == 0 && kTileRowsPerWarp >= 1 && kTileRowsPerWarp <= 32,
              "TILE_ROWS splits evenly over STAGED_WARPS warps, at most 32 rows each");
static_assert(kStages >= 1 && kStagedSmemBytes <= 227 * 1024, "STAGES * TILE_ROWS * 512 bytes fits shared memory");
static_assert(CTAS_PER_SM >= 1, "CTAS_PER_SM is positive");

__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// Arms `bar` for kTileBytes and starts the bulk copy of one tile from `src` into `dst`.
__device__ __forceinline__ void start_tile_copy(float4* dst, const float4* src, std::uint64_t* bar) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(kTileBytes)
               : "memory");
#if TILE_LOAD_HINT == 1
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;" ::"r"(
          smem_addr(dst)),
      "l"(src), "r"(kTileBytes), "r"(smem_addr(bar)), "l"(l2_policy<true>())
      : "memory");
#else
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(smem_addr(dst)),
      "l"(src), "r"(kTileBytes), "r"(smem_addr(bar))
      : "memory");
#endif
}

__device__ __forceinline__ void wait_phase(std::uint64_t* bar, unsigned parity) {
  unsigned done = 0;
  do {
    asm volatile(
        "{ .reg .pred ready; mbarrier.try_wait.parity.shared::cta.b64 ready, [%1], %2; selp.u32 %0, 1, 0, ready; }"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(parity)
        : "memory");
  } while (!done);
}

// kBulkStore: the new rows go back into the tile's stage and out with one bulk copy per tile
// (fewer, larger writes: faster at large batches), else straight from registers.
template <bool kBulkStore>
__global__ void __launch_bounds__(kStagedThreads) gdn_decode_staged_kernel(const Params p, long long num_tiles) {
  extern __shared__ __align__(128) float4 tiles[];  // [kStages][kTileRows][kVecPerRow]
  __shared__ __align__(8) std::uint64_t full[kStages];
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x) & 31;
  const long long stride = gridDim.x;
  long long tile = blockIdx.x;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(&full[s])) : "memory");
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    for (int s = 0; s < kStages; ++s) {
      const long long t = tile + s * stride;
      if (t < num_tiles) start_tile_copy(tiles + s * kTileRows * kVecPerRow, p.state + t * kTileRows * kVecPerRow, &full[s]);
    }
  }
  __syncthreads();

  // Row numbers of this warp's part of a tile.
  auto first_row_of = [&](long long t) { return t * kTileRows + warp * kTileRowsPerWarp; };
  long long first_row = first_row_of(tile);
  PairInputs<kTileRowsPerWarp> in = load_pair_inputs<kTileRowsPerWarp>(
      p, static_cast<unsigned>(first_row / kHeadSize), static_cast<unsigned>(first_row % kHeadSize), lane);
  for (int i = 0; tile < num_tiles; ++i, tile += stride) {
    const int stage = i % kStages;
    const long long next_row = first_row_of(tile + stride);
    PairInputs<kTileRowsPerWarp> next_in = in;
    if (tile + stride < num_tiles) {
      next_in = load_pair_inputs<kTileRowsPerWarp>(p, static_cast<unsigned>(next_row / kHeadSize),
                                                   static_cast<unsigned>(next_row % kHeadSize), lane);
    }
    wait_phase(&full[stage], static_cast<unsigned>(i / kStages) & 1u);
    float4* const stage_tile = tiles + stage * kTileRows * kVecPerRow;
    float4* const rows = stage_tile + warp * kTileRowsPerWarp * kVecPerRow + lane;
    float4 s[kTileRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kTileRowsPerWarp; ++r) s[r] = rows[r * kVecPerRow];
    const auto pair = static_cast<unsigned>(first_row / kHeadSize);
    const auto j0 = static_cast<unsigned>(first_row % kHeadSize);
    const long long refill = tile + kStages * stride;
    if constexpr (kBulkStore) {
      // New rows back into the stage (each thread overwrites what it read), then one bulk copy of
      // the tile to new_state; the stage is refilled once that copy has read it.
      step_rows<kTileRowsPerWarp>(p, s, in, pair, j0, lane, [&](int r, float4 v) { rows[r * kVecPerRow] = v; });
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");  // generic writes -> bulk copy
      __syncthreads();
      if (threadIdx.x == 0) {
        asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;" ::"l"(
                         p.new_state + tile * kTileRows * kVecPerRow),
                     "r"(smem_addr(stage_tile)), "r"(kTileBytes)
                     : "memory");
        asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
        if (refill < num_tiles) start_tile_copy(stage_tile, p.state + refill * kTileRows * kVecPerRow, &full[stage]);
      }
    } else {
      __syncthreads();  // the whole stage is in registers: refill it
      if (threadIdx.x == 0 && refill < num_tiles) {
        start_tile_copy(stage_tile, p.state + refill * kTileRows * kVecPerRow, &full[stage]);
      }
      const long long vec0 = first_row * kVecPerRow + lane;
      step_rows<kTileRowsPerWarp>(p, s, in, pair, j0, lane,
                                  [&](int r, float4 v) { store_state(p.new_state + vec0 + r * kVecPerRow, v); });
    }
    in = next_in;
    first_row = next_row;
  }
  // The last bulk stores complete (their global writes too) before the CTA and its shared memory go.
  if (kBulkStore && threadIdx.x == 0) asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
}

// ---------------------------------------------------------------- host side

enum Input { kQ, kK, kV, kState, kALog, kA, kDtBias, kB, kScale, kNumInputs };
enum Output { kOut, kNewState, kNumOutputs };

// A row-major contiguous tensor of this dtype and shape whose data is aligned to `align` bytes
// (any pointer when it has no elements).
bool is_tensor(const kforge_arg& t, int32_t dtype, std::initializer_list<int64_t> shape, uintptr_t align) {
  if (t.kind != KFORGE_TENSOR || t.dtype != dtype || t.rank != static_cast<int32_t>(shape.size())) return false;
  int64_t numel = 1;
  int i = 0;
  for (const int64_t extent : shape) {
    if (t.shape[i++] != extent) return false;
    numel *= extent;
  }
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    if (t.shape[d] > 1 && t.strides[d] != stride) return false;
    stride *= t.shape[d];
  }
  return numel == 0 || (t.data != nullptr && reinterpret_cast<uintptr_t>(t.data) % align == 0);
}

// A persistent grid of CTAS_PER_SM CTAs per SM (fewer when there are fewer tiles); bulk stores
// from BULK_STORE_MIN_BATCH sequences on.
int32_t launch_staged(const Params& p, int64_t batch, cudaStream_t stream) {
  static const cudaError_t allowed = [] {
    const cudaError_t e = cudaFuncSetAttribute(gdn_decode_staged_kernel<false>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, kStagedSmemBytes);
    return e != cudaSuccess ? e
                            : cudaFuncSetAttribute(gdn_decode_staged_kernel<true>,
                                                   cudaFuncAttributeMaxDynamicSharedMemorySize, kStagedSmemBytes);
  }();
  if (allowed != cudaSuccess) return static_cast<int32_t>(allowed);
  int device = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return static_cast<int32_t>(err);
  const long long num_tiles = p.num_rows / kTileRows;
  const long long grid = num_tiles < static_cast<long long>(sms) * CTAS_PER_SM ? num_tiles
                                                                                : static_cast<long long>(sms) * CTAS_PER_SM;
  if (batch >= BULK_STORE_MIN_BATCH) {
    gdn_decode_staged_kernel<true><<<static_cast<unsigned>(grid), kStagedThreads, kStagedSmemBytes, stream>>>(p, num_tiles);
  } else {
    gdn_decode_staged_kernel<false><<<static_cast<unsigned>(grid), kStagedThreads, kStagedSmemBytes, stream>>>(p, num_tiles);
  }
  return static_cast<int32_t>(cudaGetLastError());
}

}  // namespace

extern "C" int32_t gdn_decode_hopper(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out,
                                     int32_t num_outputs, void* /*workspace*/, uint64_t /*workspace_bytes*/,
                                     void* stream) {
  if (num_inputs != kNumInputs || num_outputs != kNumOutputs) return -1;
  const kforge_arg &q = in[kQ], &k = in[kK], &v = in[kV], &state = in[kState];
  if (q.kind != KFORGE_TENSOR || q.rank != 4 || k.kind != KFORGE_TENSOR || k.rank != 4 || v.kind != KFORGE_TENSOR ||
      v.rank != 4) {
    return -1;
  }
  const int64_t batch = q.shape[0], hq = q.shape[2], hk = k.shape[2], hv = v.shape[2];
  // Heads must map by repeat_interleave; a pair index must fit an int and a grid a launch.
  if (batch < 0 || hq <= 0 || hk <= 0 || hv <= 0 || hv % hq != 0 || hv % hk != 0 ||
      batch > ((int64_t{1} << 31) - 1) / hv) {
    return -1;
  }
  const bool has_state = state.data != nullptr;
  const bool ok =
      is_tensor(q, KFORGE_BFLOAT16, {batch, 1, hq, kHeadSize}, 8) &&
      is_tensor(k, KFORGE_BFLOAT16, {batch, 1, hk, kHeadSize}, 8) &&
      is_tensor(v, KFORGE_BFLOAT16, {batch, 1, hv, kHeadSize}, 2) &&
      (!has_state || is_tensor(state, KFORGE_FLOAT32, {batch, hv, kHeadSize, kHeadSize}, 16)) &&
      is_tensor(in[kALog], KFORGE_FLOAT32, {hv}, 4) && is_tensor(in[kA], KFORGE_BFLOAT16, {batch, 1, hv}, 2) &&
      is_tensor(in[kDtBias], KFORGE_FLOAT32, {hv}, 4) && is_tensor(in[kB], KFORGE_BFLOAT16, {batch, 1, hv}, 2) &&
      in[kScale].kind == KFORGE_SCALAR && is_tensor(out[kOut], KFORGE_BFLOAT16, {batch, 1, hv, kHeadSize}, 2) &&
      is_tensor(out[kNewState], KFORGE_FLOAT32, {batch, hv, kHeadSize, kHeadSize}, 16);
  if (!ok) return -1;
  if (batch == 0) return 0;

  Params p;
  p.q = static_cast<const uint2*>(q.data);
  p.k = static_cast<const uint2*>(k.data);
  p.v = static_cast<const std::uint16_t*>(v.data);
  p.state = static_cast<const float4*>(state.data);
  p.a_log = static_cast<const float*>(in[kALog].data);
  p.a = static_cast<const std::uint16_t*>(in[kA].data);
  p.dt_bias = static_cast<const float*>(in[kDtBias].data);
  p.b = static_cast<const std::uint16_t*>(in[kB].data);
  p.out = static_cast<__nv_bfloat16*>(out[kOut].data);
  p.new_state = static_cast<float4*>(out[kNewState].data);
  // The reference's scale is a Python float that multiplies a float32 tensor: rounded to float.
  const double scale = in[kScale].scalar.f64;
  p.scale = static_cast<float>(scale == 0.0 ? 1.0 / std::sqrt(static_cast<double>(kHeadSize)) : scale);
  p.num_q_heads = static_cast<unsigned>(hq);
  p.num_k_heads = static_cast<unsigned>(hk);
  p.num_v_heads = static_cast<unsigned>(hv);
  p.by_v_heads = FastDiv::of(p.num_v_heads);
  p.by_q_group = FastDiv::of(static_cast<unsigned>(hv / hq));
  p.by_k_group = FastDiv::of(static_cast<unsigned>(hv / hk));
  p.num_rows = batch * hv * kHeadSize;
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  if (PIPELINE == 1 && has_state && batch >= STAGED_MIN_BATCH) return launch_staged(p, batch, cuda_stream);
  const long long blocks = (p.num_rows + kRowsPerBlock - 1) / kRowsPerBlock;
  if (blocks > 0x7FFFFFFFLL) return -1;
  gdn_decode_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, cuda_stream>>>(p);
  return static_cast<int32_t>(cudaGetLastError());
}
