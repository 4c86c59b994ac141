// Gated Delta Net prefill (gdn_prefill_qk4_v8_d128_k_last) for Hopper: the chunked WY / UT
// transform formulation on tensor cores (mma.sync m16n8k16, bf16 operands, float32
// accumulation), variable-length sequences from cu_seqlens, k-last float32 state. The chunk math
// is derived and proven against the oracle in tests/unit/gdn_chunked_math_test.cpp; this file
// mirrors it step for step and uses its names (G, gamma, decay, A, T, P, Y, X, D, O, H).
//
// Per call, on the caller's stream, either the chunked path (two kernels) or, for tiny calls, the
// plain recurrence (one kernel):
//  - chunk_prep: one CTA per (chunk slot, q/k head), every chunk of every sequence at once. The
//    gates and the log-space cumulative decay G of the chunk, K K^T and Q K^T on tensor cores for
//    the q/k head, then for each of its two v-heads A, T = (I + A)^{-1} (float32, blocked
//    substitution) and P. T, P (bf16), gamma, decay and beta go to a workspace record per
//    (chunk, v-head). Chunk c of sequence n has slot cu[n]/64 + n + c: distinct for distinct
//    chunks and below total/64 + num_seqs, so no scan over the sequences is needed. One extra
//    CTA orders many sequences by length for chain.
//  - chain: one CTA per (sequence, v-head, block of 16 W state rows), W warps, launched as a
//    programmatic dependent of chunk_prep: with few sequences it ranks them itself and loads its
//    initial state while chunk_prep still runs. Each warp holds 16 rows of the k-last state H in
//    its mma accumulators for the whole sequence and walks the chunks in order:
//      Y = H K^T, X = beta (V - gamma Y), D = X T^T, O = scale (gamma H Q^T + D P^T),
//      H = gamma_C H + (decay D) K
//    (232 mma per warp and chunk: the only serial part), while the next chunk's K, Q, V, T, P and
//    gates arrive through cp.async in the other half of a double buffer (or, for many short
//    sequences, single-buffered with two CTAs per SM). The state's rows are independent, so a
//    v-head spreads over 128 / (16 W) CTAs: with few sequences W = 2 and a single sequence
//    occupies 8 x 4 = 32 SMs, its chain one chunk step per 64 tokens. CTAs take the sequences
//    longest first (most chunks), so the longest chains start first.
//  - recurrent (total <= RECURRENT_MAX_TOKENS): the token-by-token recurrence in one launch, one
//    CTA per (sequence, v-head, 16 state rows), 8 lanes per row.
// Rows of `output` that no segment covers are zeroed by the first CTA of the call's first kernel
// (by one memset when there is no sequence at all).
//
// ABI (include/kforge/solution_abi.h): inputs q, k, v, state, A_log, a, dt_bias, b, cu_seqlens,
// scale; outputs output, new_state; a workspace of gdn_prefill_hopper_workspace_size bytes. An
// absent optional state is a null `data` pointer (zeros, as in the reference). new_state may be
// the state buffer itself (each CTA reads its rows before it writes them). cu_seqlens must be
// non-decreasing within [0, total_seq_len], as the reference requires; other values give wrong
// numbers but no out-of-bounds access. Returns 0, -1 for arguments it does not accept, or the
// CUDA error of a launch.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "kforge/solution_abi.h"
#include "kforge_tune.h"

namespace {

constexpr int kDim = 128;                   // head_size: both extents of a state matrix
constexpr int kQkHeads = 4;
constexpr int kVHeads = 8;
constexpr int kGroup = kVHeads / kQkHeads;  // v-heads per q/k head (repeat_interleave)
constexpr int kChunk = 64;                  // tokens per chunk
constexpr int kSub = 16;                    // diagonal block of the blocked inverse
constexpr int kSubs = kChunk / kSub;
constexpr int kLdQK = kDim + 8;             // bf16 row stride of K and Q tiles (272 B: ldmatrix conflict-free)
constexpr int kLdT = kChunk + 8;            // bf16 row stride of T and P tiles (144 B)
constexpr unsigned kFullMask = 0xFFFFFFFFu;

static_assert(RECURRENT_MAX_TOKENS >= 0 && RECURRENT_MAX_TOKENS <= 64, "RECURRENT_MAX_TOKENS is 0..64");
static_assert(SHORT_CHAIN_TOKENS >= 0, "SHORT_CHAIN_TOKENS is a token count");

struct Params {
  const __nv_bfloat16* q;   // [total, 4, 128]
  const __nv_bfloat16* k;   // [total, 4, 128]
  const __nv_bfloat16* v;   // [total, 8, 128]
  const float* state;       // [num_seqs, 8, 128, 128] k-last, or null (zeros)
  const float* a_log;       // [8]
  const __nv_bfloat16* a;   // [total, 8]
  const float* dt_bias;     // [8]
  const __nv_bfloat16* b;   // [total, 8]
  const int64_t* cu;        // [num_seqs + 1]
  __nv_bfloat16* out;       // [total, 8, 128]
  float* new_state;         // [num_seqs, 8, 128, 128]
  int32_t* order;           // workspace: sequences longest first (chunk_prep writes, chain reads)
  float scale;
  int64_t total;
  int num_seqs;
};

// What chunk_prep leaves for chain, per (chunk slot, v-head). Of T and P only the 16 x 16 blocks
// on and below the block diagonal are written and read.
struct ChunkRecord {
  __nv_bfloat16 t[kChunk * kChunk];  // T = (I + A)^{-1}, row-major [i][j]
  __nv_bfloat16 p[kChunk * kChunk];  // P_ij = e^{G_i - G_j} q_i.k_j for j <= i, row-major
  float gamma[kChunk];               // e^{G_i}
  float decay[kChunk];               // e^{G_{C-1} - G_i}
  float beta[kChunk];
};
static_assert(sizeof(ChunkRecord) % 16 == 0, "records stay 16-byte aligned for cp.async");

__host__ __device__ inline int64_t num_slots(int64_t total, int num_seqs) { return total / kChunk + num_seqs; }

// The workspace: the records, [slot][v-head], then the sequences in chain's order (int32).
uint64_t records_bytes(int64_t total, int num_seqs) {
  return static_cast<uint64_t>(num_slots(total, num_seqs)) * kVHeads * sizeof(ChunkRecord);
}
uint64_t workspace_bytes(int64_t total, int num_seqs) {
  if (total <= RECURRENT_MAX_TOKENS) return 0;
  return records_bytes(total, num_seqs) + (static_cast<uint64_t>(num_seqs) * sizeof(int32_t) + 15) / 16 * 16;
}

// ---------------------------------------------------------------- device helpers

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared through L2 only; zero-filled (src not read) when !valid.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Programmatic dependent launch: the primary lets the dependent grid start early; the dependent
// waits for the primary grid's completion and memory before it reads what the primary wrote.
__device__ __forceinline__ void pdl_launch_dependents() {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const __nv_bfloat16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const __nv_bfloat16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// d += a b: mma.m16n8k16, bf16 operands, float32 accumulators. Fragment layouts (lane = 4 g + t):
//   A 16x16: a0 = (g, 2t..2t+1), a1 = (g+8, 2t..), a2 = (g, 2t+8..), a3 = (g+8, 2t+8..)
//   B 16x8 (k x n): b0 = (2t..2t+1, g), b1 = (2t+8..2t+9, g)
//   C 16x8: c0, c1 = (g, 2t..2t+1), c2, c3 = (g+8, 2t..2t+1)
// so the accumulators of n-tiles 2s and 2s+1 are, packed to bf16, the A fragment of k-step s of
// a product that continues over the same index (a_from_acc).
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as bf16x2, round to nearest even; `lo` in the low half (the smaller index).
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return (static_cast<uint32_t>(__bfloat16_as_ushort(v.y)) << 16) | __bfloat16_as_ushort(v.x);
}

// A fragment of k-step s from accumulators over k: n-tiles 2s and 2s+1, each element times the
// scale of its column (kScaled), or as is.
template <bool kScaled>
__device__ __forceinline__ void a_from_acc(uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4],
                                           const float* col_scale, int col0) {
  float s0 = 1.0f, s1 = 1.0f, s2 = 1.0f, s3 = 1.0f;
  if (kScaled) {
    s0 = col_scale[col0];
    s1 = col_scale[col0 + 1];
    s2 = col_scale[col0 + 8];
    s3 = col_scale[col0 + 9];
  }
  a[0] = pack_bf16(lo[0] * s0, lo[1] * s1);
  a[1] = pack_bf16(lo[2] * s0, lo[3] * s1);
  a[2] = pack_bf16(hi[0] * s2, hi[1] * s3);
  a[3] = pack_bf16(hi[2] * s2, hi[3] * s3);
}

// ldmatrix.x4 source address of this lane for a row-major bf16 tile with row stride ld:
//  - A operand (16 x 16 at rows r0.., cols c0..), and B operand with .trans from [k][n] storage
//    (k rows r0..r0+15, n cols c0..c0+15; registers: b0, b1 of n-tile c0, then of n-tile c0+8);
__device__ __forceinline__ const __nv_bfloat16* frag_rows_src(const __nv_bfloat16* tile, int ld, int r0, int c0,
                                                              int lane) {
  return tile + (r0 + ((lane >> 3) & 1) * 8 + (lane & 7)) * ld + c0 + (lane >> 4) * 8;
}
//  - B operand from [n][k] storage (n rows r0..r0+15, k cols c0..c0+15; registers: b0, b1 of
//    n-tile r0, then of n-tile r0+8).
__device__ __forceinline__ const __nv_bfloat16* frag_nk_src(const __nv_bfloat16* tile, int ld, int r0, int c0,
                                                            int lane) {
  return tile + (r0 + (lane >> 4) * 8 + (lane & 7)) * ld + c0 + ((lane >> 3) & 1) * 8;
}

// log g = -exp(A_log) softplus(a + dt_bias) (softplus with torch's threshold 20), in float32 as
// the reference computes g = exp(log g).
__device__ __forceinline__ float log_decay(float a, float a_log, float dt_bias) {
  const float x = a + dt_bias;
  return -expf(a_log) * (x > 20.0f ? x : log1pf(expf(x)));
}
__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ int64_t clamp_token(const Params& p, int64_t x) {
  return x < 0 ? 0 : (x > p.total ? p.total : x);
}

// Tokens [begin, end) of sequence n, clamped into [0, total] and never of negative length.
__device__ __forceinline__ void segment(const Params& p, int n, int64_t& begin, int64_t& end) {
  begin = clamp_token(p, p.cu[n]);
  const int64_t e = clamp_token(p, p.cu[n + 1]);
  end = e < begin ? begin : e;
}

// Rows before cu[0] and from cu[num_seqs] on: no segment writes them; the reference's zeros.
__device__ void zero_uncovered_rows(const Params& p) {
  constexpr int kVecs = kVHeads * kDim / 8;  // 16-byte vectors per token row
  const int64_t first = clamp_token(p, p.cu[0]);
  const int64_t last = clamp_token(p, p.cu[p.num_seqs]) < first ? first : clamp_token(p, p.cu[p.num_seqs]);
  uint4* const out = reinterpret_cast<uint4*>(p.out);
  const uint4 zero = make_uint4(0, 0, 0, 0);
  for (int64_t i = threadIdx.x; i < first * kVecs; i += blockDim.x) out[i] = zero;
  for (int64_t i = last * kVecs + threadIdx.x; i < p.total * kVecs; i += blockDim.x) out[i] = zero;
}

// ---------------------------------------------------------------- chunk_prep

constexpr int kPrepThreads = 128;  // warp w owns rows 16w.. of K K^T; thread (hh, i) the gates
constexpr int kLdA = kChunk + 4;   // float row stride of A and T

static_assert(kPrepThreads == 32 * kSubs && kPrepThreads == kGroup * kChunk, "chunk_prep's thread mapping");

struct PrepSmem {
  __nv_bfloat16 k[kChunk * kLdQK];
  __nv_bfloat16 q[kChunk * kLdQK];
  float a[kChunk * kLdA];                     // A, strictly lower part
  float t[kChunk * kLdA];                     // T, blocks on and below the block diagonal
  float r[(kSubs - 1) * kSub * (kSub + 1)];   // one level's R blocks
  float g[kGroup][kChunk];                    // G per v-head of the group
  float beta[kGroup][kChunk];
  float warp_total[kPrepThreads / 32];
};

// T = (I + A)^{-1} of the strictly lower A in sm.a, into sm.t, in float32, as unit_lower_inverse
// of the chunked-math test: each 16 x 16 diagonal block by column substitution (a thread per
// column; right-looking, so the dependent chain is one FMA per row), then level by level
// (level = I - J): R = sum_{K=J}^{I-1} A_IK T_KJ, T_IJ = -T_II R, every loop of fixed length so
// that a thread's elements proceed in parallel. T_II is zero above its diagonal, so R's product
// with it may run over the whole block. Starts after and ends with a barrier.
__device__ void invert_unit_lower(PrepSmem& sm) {
  const int tid = static_cast<int>(threadIdx.x);
  if (tid < kSubs * kSub) {
    const int o = (tid / kSub) * kSub, c = tid % kSub;
    float x[kSub], s[kSub];
#pragma unroll
    for (int i = 0; i < kSub; ++i) s[i] = 0.0f;
#pragma unroll
    for (int k = 0; k < kSub; ++k) {
      x[k] = k == c ? 1.0f : (k < c ? 0.0f : -s[k]);
#pragma unroll
      for (int i = k + 1; i < kSub; ++i) s[i] += sm.a[(o + i) * kLdA + o + k] * x[k];
    }
#pragma unroll
    for (int i = 0; i < kSub; ++i) sm.t[(o + i) * kLdA + o + c] = x[i];
  }
  __syncthreads();
#pragma unroll
  for (int level = 1; level < kSubs; ++level) {
    constexpr int kBlock = kSub * kSub;
    const int per_thread = (kSubs - level) * kBlock / kPrepThreads;  // 6, 4, 2
#pragma unroll
    for (int u = 0; u < per_thread; ++u) {
      const int e = tid + u * kPrepThreads, bj = e / kBlock, m = (e / kSub) % kSub, c = e % kSub;
      const int oi = (bj + level) * kSub, oj = bj * kSub;
      float r = 0.0f;
#pragma unroll
      for (int k = 0; k < level * kSub; ++k) r += sm.a[(oi + m) * kLdA + oj + k] * sm.t[(oj + k) * kLdA + oj + c];
      sm.r[(bj * kSub + m) * (kSub + 1) + c] = r;
    }
    __syncthreads();
#pragma unroll
    for (int u = 0; u < per_thread; ++u) {
      const int e = tid + u * kPrepThreads, bj = e / kBlock, m = (e / kSub) % kSub, c = e % kSub;
      const int oi = (bj + level) * kSub, oj = bj * kSub;
      float t = 0.0f;
#pragma unroll
      for (int k = 0; k < kSub; ++k) t += sm.t[(oi + m) * kLdA + oi + k] * sm.r[(bj * kSub + k) * (kSub + 1) + c];
      sm.t[(oi + m) * kLdA + oj + c] = -t;
    }
    __syncthreads();
  }
}

// Chain CTAs are dispatched in blockIdx order and take the sequences longest first (most chunks),
// so that the longest chains start first. With at most kLocalRankSeqs sequences each CTA ranks
// them itself (and loads its state while chunk_prep runs); with more, chunk_prep's last CTA
// writes the order once (rank_sequences).
constexpr int kLocalRankSeqs = 64;
constexpr int kRankBins = kPrepThreads;  // chunk counts from 127 on share the top bin

__device__ __forceinline__ int chunks_of(const Params& p, int n) {
  int64_t b, e;
  segment(p, n, b, e);
  return static_cast<int>((e - b + kChunk - 1) / kChunk);
}

// The sequence of rank `rank` in descending chunk count (ties by index). `scratch`:
// kLocalRankSeqs + 1 ints of shared memory, free again on return.
__device__ int sequence_of_rank(const Params& p, int rank, int* scratch) {
  const int count = p.num_seqs;
  for (int m = static_cast<int>(threadIdx.x); m < count; m += static_cast<int>(blockDim.x)) {
    scratch[m] = chunks_of(p, m);
  }
  __syncthreads();
  for (int m = static_cast<int>(threadIdx.x); m < count; m += static_cast<int>(blockDim.x)) {
    const int cm = scratch[m];
    int r = 0;
    for (int j = 0; j < count; ++j) r += (scratch[j] > cm || (scratch[j] == cm && j < m)) ? 1 : 0;
    if (r == rank) scratch[kLocalRankSeqs] = m;
  }
  __syncthreads();
  const int n = scratch[kLocalRankSeqs];
  __syncthreads();  // every thread has read it: the scratch may be overwritten
  return n;
}

// p.order: every sequence once, by descending chunk count (a counting sort over kRankBins bins;
// the order within a bin is immaterial). One CTA of kPrepThreads threads; `bins`: kRankBins ints
// of shared memory.
__device__ void rank_sequences(const Params& p, int* bins) {
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  bins[tid] = 0;
  __syncthreads();
  for (int n = tid; n < p.num_seqs; n += kPrepThreads) {
    const int c = chunks_of(p, n);
    atomicAdd(&bins[c < kRankBins ? c : kRankBins - 1], 1);
  }
  __syncthreads();
  // First position of each bin: the sequences in longer bins come before. Thread t owns bin
  // kRankBins - 1 - t, so this is an exclusive prefix sum over the threads.
  const int count = bins[kRankBins - 1 - tid];
  int incl = count;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int y = __shfl_up_sync(kFullMask, incl, o);
    if (lane >= o) incl += y;
  }
  __shared__ int warp_sums[kPrepThreads / 32];
  if (lane == 31) warp_sums[warp] = incl;
  __syncthreads();
  int before = 0;
  for (int w = 0; w < warp; ++w) before += warp_sums[w];
  bins[kRankBins - 1 - tid] = before + incl - count;
  __syncthreads();
  for (int n = tid; n < p.num_seqs; n += kPrepThreads) {
    const int c = chunks_of(p, n);
    p.order[atomicAdd(&bins[c < kRankBins ? c : kRankBins - 1], 1)] = n;
  }
}

__global__ void __launch_bounds__(kPrepThreads) chunk_prep_kernel(const Params p, ChunkRecord* __restrict__ ws) {
  pdl_launch_dependents();  // chain may start: it reads nothing of ours before griddepcontrol.wait
  extern __shared__ __align__(16) unsigned char smem_raw[];
  PrepSmem& sm = *reinterpret_cast<PrepSmem*>(smem_raw);
  const int tid = static_cast<int>(threadIdx.x), warp = tid >> 5, lane = tid & 31;
  if (blockIdx.x == 0 && blockIdx.y == 0) zero_uncovered_rows(p);
  const int64_t slot = blockIdx.x;
  if (slot == num_slots(p.total, p.num_seqs)) {  // the extra CTA
    if (blockIdx.y == 0 && p.num_seqs > kLocalRankSeqs) rank_sequences(p, reinterpret_cast<int*>(smem_raw));
    return;
  }

  // This slot's chunk: sequence n is the last with cu[n]/64 + n <= slot.
  int n = -1;
  for (int lo = 0, hi = p.num_seqs - 1; lo <= hi;) {
    const int mid = (lo + hi) / 2;
    int64_t b, e;
    segment(p, mid, b, e);
    if (b / kChunk + mid <= slot) {
      n = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (n < 0) return;
  int64_t begin, end;
  segment(p, n, begin, end);
  const int64_t start = begin + (slot - (begin / kChunk + n)) * kChunk;
  if (start >= end) return;  // a slot no chunk maps to
  const int len = static_cast<int>(end - start < kChunk ? end - start : kChunk);
  const int kh = static_cast<int>(blockIdx.y);

  // K and Q rows of the q/k head; rows past the sequence are zeros.
  for (int e = tid; e < kChunk * (kDim / 8); e += kPrepThreads) {
    const int i = e / (kDim / 8), c8 = e % (kDim / 8);
    const bool valid = i < len;
    const int64_t row = valid ? (start + i) * kQkHeads + kh : 0;
    cp_async_16(&sm.k[i * kLdQK + 8 * c8], p.k + row * kDim + 8 * c8, valid);
    cp_async_16(&sm.q[i * kLdQK + 8 * c8], p.q + row * kDim + 8 * c8, valid);
  }
  cp_async_commit();

  // Gates of token i for v-head kh * 2 + hh (padding: log g = 0, beta = 0), and G, their inclusive
  // prefix sum over the chunk: a v-head's 64 tokens are two warps.
  {
    const int hh = tid / kChunk, i = tid % kChunk, h = kh * kGroup + hh;
    float lg = 0.0f, beta = 0.0f;
    if (i < len) {
      const int64_t at = (start + i) * kVHeads + h;
      lg = log_decay(__bfloat162float(p.a[at]), p.a_log[h], p.dt_bias[h]);
      beta = sigmoid(__bfloat162float(p.b[at]));
    }
    float cum = lg;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const float y = __shfl_up_sync(kFullMask, cum, o);
      if (lane >= o) cum += y;
    }
    if (lane == 31) sm.warp_total[warp] = cum;
    __syncthreads();
    if (warp & 1) cum += sm.warp_total[warp - 1];
    sm.g[hh][i] = cum;
    sm.beta[hh][i] = beta;
    cp_async_wait_all();
    __syncthreads();  // G complete; K and Q landed
    ChunkRecord& rec = ws[slot * kVHeads + h];
    rec.gamma[i] = expf(cum);
    rec.decay[i] = expf(sm.g[hh][kChunk - 1] - cum);
    rec.beta[i] = beta;
  }

  // K K^T and Q K^T: warp w computes rows 16w..16w+15 and the column blocks np <= w (the rest
  // lies above the diagonal).
  float kk[kSubs][2][4] = {}, qk[kSubs][2][4] = {};
#pragma unroll
  for (int ks = 0; ks < kDim / 16; ++ks) {
    uint32_t ak[4], aq[4];
    ldsm_x4(ak, frag_rows_src(sm.k, kLdQK, 16 * warp, 16 * ks, lane));
    ldsm_x4(aq, frag_rows_src(sm.q, kLdQK, 16 * warp, 16 * ks, lane));
#pragma unroll
    for (int np = 0; np < kSubs; ++np) {
      if (np > warp) continue;
      uint32_t bk[4];
      ldsm_x4(bk, frag_nk_src(sm.k, kLdQK, 16 * np, 16 * ks, lane));
      mma_bf16(kk[np][0], ak, bk[0], bk[1]);
      mma_bf16(kk[np][1], ak, bk[2], bk[3]);
      mma_bf16(qk[np][0], aq, bk[0], bk[1]);
      mma_bf16(qk[np][1], aq, bk[2], bk[3]);
    }
  }

  // Per v-head of the group: A (to shared memory) and P (bf16, to the record) from the
  // accumulators, then T.
  const int gq = lane >> 2, tq = lane & 3;
#pragma unroll 1
  for (int hh = 0; hh < kGroup; ++hh) {
    ChunkRecord& rec = ws[slot * kVHeads + kh * kGroup + hh];
#pragma unroll
    for (int np = 0; np < kSubs; ++np) {
      if (np > warp) continue;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
#pragma unroll
        for (int rs = 0; rs < 2; ++rs) {
          const int i = 16 * warp + gq + 8 * rs, j0 = 16 * np + 8 * half + 2 * tq;
          float pv[2];
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int j = j0 + e;
            float av = 0.0f, pe = 0.0f;
            if (j <= i) {  // e^{G_i - G_j} <= 1 there; never evaluated above the diagonal
              const float ex = expf(sm.g[hh][i] - sm.g[hh][j]);
              pe = ex * qk[np][half][2 * rs + e];
              if (j < i) av = sm.beta[hh][i] * ex * kk[np][half][2 * rs + e];
            }
            sm.a[i * kLdA + j] = av;
            pv[e] = pe;
          }
          *reinterpret_cast<uint32_t*>(&rec.p[i * kChunk + j0]) = pack_bf16(pv[0], pv[1]);
        }
      }
    }
    __syncthreads();
    invert_unit_lower(sm);
    for (int e = tid; e < kChunk * (kChunk / 8); e += kPrepThreads) {
      const int i = e / (kChunk / 8), c8 = e % (kChunk / 8);
      if (c8 / 2 > i / kSub) continue;  // above the block diagonal: never read
      const float* src = &sm.t[i * kLdA + 8 * c8];
      uint4 w;
      w.x = pack_bf16(src[0], src[1]);
      w.y = pack_bf16(src[2], src[3]);
      w.z = pack_bf16(src[4], src[5]);
      w.w = pack_bf16(src[6], src[7]);
      *reinterpret_cast<uint4*>(&rec.t[i * kChunk + 8 * c8]) = w;
    }
    __syncthreads();  // sm.a and sm.t are the next v-head's
  }
}

// ---------------------------------------------------------------- chain

// One half of chain's double buffer: chunk c's inputs for a CTA of kRows state rows.
template <int kRows>
struct ChainStage {
  static constexpr int kLdV = kRows + 8;  // bf16 row stride of the V slice (16-byte multiple)
  __nv_bfloat16 k[kChunk * kLdQK];
  __nv_bfloat16 q[kChunk * kLdQK];
  __nv_bfloat16 t[kChunk * kLdT];
  __nv_bfloat16 p[kChunk * kLdT];
  float gamma[kChunk];  // gamma, decay, beta: one copy of the record's three arrays
  float decay[kChunk];
  float beta[kChunk];
  __nv_bfloat16 v[kChunk * kLdV];  // V[token][state row]; then the warps' bf16 outputs
};
static_assert(offsetof(ChunkRecord, beta) - offsetof(ChunkRecord, gamma) == 2 * kChunk * sizeof(float) &&
                  offsetof(ChainStage<16>, beta) - offsetof(ChainStage<16>, gamma) == 2 * kChunk * sizeof(float),
              "gamma, decay and beta are copied as one block");

// K, Q (q/k head kh) and the V slice (v-head h, state rows v0..) of the chunk at `start`; rows
// past the sequence are zeros. Inputs only: may run before chunk_prep completes.
template <int kRows>
__device__ __forceinline__ void load_chunk_inputs(ChainStage<kRows>& st, const Params& p, int64_t start, int len,
                                                  int kh, int h, int v0) {
  constexpr int kThreads = 2 * kRows;  // 32 per 16 rows
  constexpr int kVVecs = kRows / 8;
  const int tid = static_cast<int>(threadIdx.x);
  for (int e = tid; e < kChunk * (kDim / 8); e += kThreads) {
    const int i = e / (kDim / 8), c8 = e % (kDim / 8);
    const bool valid = i < len;
    const int64_t row = valid ? (start + i) * kQkHeads + kh : 0;
    cp_async_16(&st.k[i * kLdQK + 8 * c8], p.k + row * kDim + 8 * c8, valid);
    cp_async_16(&st.q[i * kLdQK + 8 * c8], p.q + row * kDim + 8 * c8, valid);
  }
  for (int e = tid; e < kChunk * kVVecs; e += kThreads) {
    const int i = e / kVVecs, c8 = e % kVVecs;
    const bool valid = i < len;
    const int64_t row = valid ? (start + i) * kVHeads + h : 0;
    cp_async_16(&st.v[i * ChainStage<kRows>::kLdV + 8 * c8], p.v + row * kDim + v0 + 8 * c8, valid);
  }
}

// T and P (the blocks that are read) and the gates of a chunk: chunk_prep's output.
template <int kRows>
__device__ __forceinline__ void load_chunk_record(ChainStage<kRows>& st, const ChunkRecord& rec) {
  constexpr int kThreads = 2 * kRows;
  constexpr int kGateVecs = 3 * kChunk / 4;
  const int tid = static_cast<int>(threadIdx.x);
  for (int e = tid; e < kChunk * (kChunk / 8); e += kThreads) {
    const int i = e / (kChunk / 8), c8 = e % (kChunk / 8);
    if (c8 / 2 > i / kSub) continue;
    cp_async_16(&st.t[i * kLdT + 8 * c8], &rec.t[i * kChunk + 8 * c8], true);
    cp_async_16(&st.p[i * kLdT + 8 * c8], &rec.p[i * kChunk + 8 * c8], true);
  }
  for (int e = tid; e < kGateVecs; e += kThreads) cp_async_16(&st.gamma[4 * e], &rec.gamma[4 * e], true);
}

// One chunk for one warp: its 16 state rows (v0 + 16 warp + 0..15) in `hs` advance by the
// chunk, and their outputs for the chunk's `len` tokens are stored.
template <int kRows>
__device__ __forceinline__ void chain_step(ChainStage<kRows>& st, float (&hs)[kDim / 8][4], const Params& p,
                                           int64_t start, int len, int h, int v0) {
  constexpr int kLdV = ChainStage<kRows>::kLdV;
  const int lane = static_cast<int>(threadIdx.x) & 31, gq = lane >> 2, tq = lane & 3;
  const int vc = 16 * (static_cast<int>(threadIdx.x) >> 5);  // the warp's first column of st.v

  // H as bf16 A fragments over the state columns.
  uint32_t ha[kDim / 16][4];
#pragma unroll
  for (int s = 0; s < kDim / 16; ++s) a_from_acc<false>(ha[s], hs[2 * s], hs[2 * s + 1], nullptr, 0);

  // Y = H K^T and H Q^T: [16 rows][64 tokens].
  float y[kChunk / 8][4] = {}, o[kChunk / 8][4] = {};
#pragma unroll
  for (int ks = 0; ks < kDim / 16; ++ks) {
#pragma unroll
    for (int np = 0; np < kChunk / 16; ++np) {
      uint32_t bk[4], bq[4];
      ldsm_x4(bk, frag_nk_src(st.k, kLdQK, 16 * np, 16 * ks, lane));
      ldsm_x4(bq, frag_nk_src(st.q, kLdQK, 16 * np, 16 * ks, lane));
      mma_bf16(y[2 * np], ha[ks], bk[0], bk[1]);
      mma_bf16(y[2 * np + 1], ha[ks], bk[2], bk[3]);
      mma_bf16(o[2 * np], ha[ks], bq[0], bq[1]);
      mma_bf16(o[2 * np + 1], ha[ks], bq[2], bq[3]);
    }
  }

  // X = beta (V - gamma Y), element (row, token i), as bf16 A fragments over the tokens.
#pragma unroll
  for (int nt = 0; nt < kChunk / 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int i = 8 * nt + 2 * tq + (e & 1), r = vc + gq + 8 * (e >> 1);
      y[nt][e] = st.beta[i] * (__bfloat162float(st.v[i * kLdV + r]) - st.gamma[i] * y[nt][e]);
    }
  }
  uint32_t xa[kChunk / 16][4];
#pragma unroll
  for (int s = 0; s < kChunk / 16; ++s) a_from_acc<false>(xa[s], y[2 * s], y[2 * s + 1], nullptr, 0);

  // D = X T^T. T is lower triangular: output tokens 16np.. need source blocks ks <= np.
  float dl[kChunk / 8][4] = {};
#pragma unroll
  for (int np = 0; np < kChunk / 16; ++np) {
#pragma unroll
    for (int ks = 0; ks <= np; ++ks) {
      uint32_t bt[4];
      ldsm_x4(bt, frag_nk_src(st.t, kLdT, 16 * np, 16 * ks, lane));
      mma_bf16(dl[2 * np], xa[ks], bt[0], bt[1]);
      mma_bf16(dl[2 * np + 1], xa[ks], bt[2], bt[3]);
    }
  }

  // O = scale (gamma H Q^T + D P^T).
  uint32_t da[kChunk / 16][4], ea[kChunk / 16][4];  // D and decay * D as A fragments
#pragma unroll
  for (int s = 0; s < kChunk / 16; ++s) {
    a_from_acc<false>(da[s], dl[2 * s], dl[2 * s + 1], nullptr, 0);
    a_from_acc<true>(ea[s], dl[2 * s], dl[2 * s + 1], st.decay, 16 * s + 2 * tq);
  }
#pragma unroll
  for (int nt = 0; nt < kChunk / 8; ++nt) {
    const float g0 = st.gamma[8 * nt + 2 * tq], g1 = st.gamma[8 * nt + 2 * tq + 1];
    o[nt][0] *= g0;
    o[nt][1] *= g1;
    o[nt][2] *= g0;
    o[nt][3] *= g1;
  }
#pragma unroll
  for (int np = 0; np < kChunk / 16; ++np) {
#pragma unroll
    for (int ks = 0; ks <= np; ++ks) {
      uint32_t bp[4];
      ldsm_x4(bp, frag_nk_src(st.p, kLdT, 16 * np, 16 * ks, lane));
      mma_bf16(o[2 * np], da[ks], bp[0], bp[1]);
      mma_bf16(o[2 * np + 1], da[ks], bp[2], bp[3]);
    }
  }

  // Outputs: staged as bf16 over the warp's own columns of V (only this warp read them, above),
  // then stored 32 contiguous bytes per token row.
  __syncwarp();
#pragma unroll
  for (int nt = 0; nt < kChunk / 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int i = 8 * nt + 2 * tq + (e & 1), r = vc + gq + 8 * (e >> 1);
      st.v[i * kLdV + r] = __float2bfloat16_rn(p.scale * o[nt][e]);
    }
  }
  __syncwarp();
#pragma unroll
  for (int c = lane; c < 2 * kChunk; c += 32) {
    const int i = c >> 1, half = c & 1;
    if (i < len) {
      *reinterpret_cast<uint4*>(p.out + ((start + i) * kVHeads + h) * kDim + v0 + vc + 8 * half) =
          *reinterpret_cast<const uint4*>(&st.v[i * kLdV + vc + 8 * half]);
    }
  }

  // H = gamma_C H + (decay D) K.
  const float gc = st.gamma[kChunk - 1];
#pragma unroll
  for (int nt = 0; nt < kDim / 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) hs[nt][e] *= gc;
  }
#pragma unroll
  for (int ks = 0; ks < kChunk / 16; ++ks) {
#pragma unroll
    for (int np = 0; np < kDim / 16; ++np) {
      uint32_t bk[4];
      ldsm_x4_trans(bk, frag_rows_src(st.k, kLdQK, 16 * ks, 16 * np, lane));
      mma_bf16(hs[2 * np], ea[ks], bk[0], bk[1]);
      mma_bf16(hs[2 * np + 1], ea[ks], bk[2], bk[3]);
    }
  }
}

// kStages 2: chunk c + 1 loads while chunk c computes (long chains; one CTA per SM). kStages 1:
// the load waits for the compute, and another CTA on the SM fills the gap (many short chains,
// two CTAs per SM, whose state loads and stores then overlap too).
template <int kWarps, int kStages>
__global__ void __launch_bounds__(32 * kWarps, 1) chain_kernel(const Params p, const ChunkRecord* __restrict__ ws) {
  constexpr int kRows = 16 * kWarps, kSplit = kDim / kRows;
  static_assert(kStages == 1 || kStages == 2, "one or two stages");
  using Stage = ChainStage<kRows>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Stage* const stages = reinterpret_cast<Stage*>(smem_raw);
  const int lane = static_cast<int>(threadIdx.x) & 31, gq = lane >> 2, tq = lane & 3;
  const int h = static_cast<int>(blockIdx.x) / kSplit, kh = h / kGroup;
  const int v0 = (static_cast<int>(blockIdx.x) % kSplit) * kRows;
  const int row0 = v0 + 16 * (static_cast<int>(threadIdx.x) >> 5);  // the warp's first state row
  int n;
  if (p.num_seqs <= kLocalRankSeqs) {
    n = sequence_of_rank(p, static_cast<int>(blockIdx.y), reinterpret_cast<int*>(smem_raw));
  } else {
    pdl_wait();  // chunk_prep's order
    n = p.order[blockIdx.y];
  }
  int64_t begin, end;
  segment(p, n, begin, end);
  const int64_t chunks = (end - begin + kChunk - 1) / kChunk;
  const int64_t slot0 = begin / kChunk + n;
  const int64_t matrix = (static_cast<int64_t>(n) * kVHeads + h) * kDim * kDim;
  const auto chunk_len = [&](int64_t start) { return static_cast<int>(end - start < kChunk ? end - start : kChunk); };

  // H: state rows row0 + gq (+8), columns 8 nt + 2 tq (+1), as mma accumulators. An empty
  // sequence's new_state is zero whatever the input state (the reference skips it).
  float hs[kDim / 8][4];
  if (p.state != nullptr && chunks > 0) {
    const float* s = p.state + matrix + static_cast<int64_t>(row0 + gq) * kDim + 2 * tq;
#pragma unroll
    for (int nt = 0; nt < kDim / 8; ++nt) {
      const float2 lo = *reinterpret_cast<const float2*>(s + 8 * nt);
      const float2 hi = *reinterpret_cast<const float2*>(s + 8 * kDim + 8 * nt);
      hs[nt][0] = lo.x;
      hs[nt][1] = lo.y;
      hs[nt][2] = hi.x;
      hs[nt][3] = hi.y;
    }
  } else {
#pragma unroll
    for (int nt = 0; nt < kDim / 8; ++nt) hs[nt][0] = hs[nt][1] = hs[nt][2] = hs[nt][3] = 0.0f;
  }

  if (chunks > 0) {
    load_chunk_inputs(stages[0], p, begin, chunk_len(begin), kh, h, v0);
    pdl_wait();  // chunk_prep's records are complete and visible from here on
    load_chunk_record(stages[0], ws[slot0 * kVHeads + h]);
    cp_async_commit();
  }
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t start = begin + c * kChunk, next = start + kChunk;
    cp_async_wait_all();
    __syncthreads();  // chunk c landed for every thread; with two stages, chunk c - 1's is free
    if (kStages == 2 && c + 1 < chunks) {
      Stage& st = stages[(c + 1) & 1];
      load_chunk_inputs(st, p, next, chunk_len(next), kh, h, v0);
      load_chunk_record(st, ws[(slot0 + c + 1) * kVHeads + h]);
      cp_async_commit();
    }
    chain_step(stages[kStages == 2 ? (c & 1) : 0], hs, p, start, chunk_len(start), h, v0);
    if (kStages == 1 && c + 1 < chunks) {
      __syncthreads();  // every warp is done with the stage
      load_chunk_inputs(stages[0], p, next, chunk_len(next), kh, h, v0);
      load_chunk_record(stages[0], ws[(slot0 + c + 1) * kVHeads + h]);
      cp_async_commit();
    }
  }

  float* const s = p.new_state + matrix + static_cast<int64_t>(row0 + gq) * kDim + 2 * tq;
#pragma unroll
  for (int nt = 0; nt < kDim / 8; ++nt) {
    *reinterpret_cast<float2*>(s + 8 * nt) = make_float2(hs[nt][0], hs[nt][1]);
    *reinterpret_cast<float2*>(s + 8 * kDim + 8 * nt) = make_float2(hs[nt][2], hs[nt][3]);
  }
}

// ---------------------------------------------------------------- recurrent (tiny calls)

constexpr int kRecRows = 16;   // state rows per CTA
constexpr int kRecLanes = 8;   // lanes per row; lane j holds columns 8j + 64x + e (x < 2, e < 8)
constexpr int kRecThreads = kRecRows * kRecLanes;
constexpr int kRecTokens = RECURRENT_MAX_TOKENS > 0 ? RECURRENT_MAX_TOKENS : 1;

// Per token, as the reference: u = k.(g S), delta = beta (v - u), S' = g S + k delta, and
// o = q.S' = g (q.S) + (q.k) delta, so k.S, q.S and q.k reduce in one butterfly.
__global__ void __launch_bounds__(kRecThreads) recurrent_kernel(const Params p) {
  __shared__ __align__(16) __nv_bfloat16 ks[kRecTokens][kDim];
  __shared__ __align__(16) __nv_bfloat16 qs[kRecTokens][kDim];
  __shared__ float vs[kRecTokens][kRecRows];
  __shared__ float gs[kRecTokens];
  __shared__ float bs[kRecTokens];
  const int tid = static_cast<int>(threadIdx.x);
  if (blockIdx.x == 0 && blockIdx.y == 0) zero_uncovered_rows(p);
  const int h = static_cast<int>(blockIdx.x) / (kDim / kRecRows), kh = h / kGroup;
  const int v0 = (static_cast<int>(blockIdx.x) % (kDim / kRecRows)) * kRecRows;
  const int n = static_cast<int>(blockIdx.y);
  int64_t begin, end;
  segment(p, n, begin, end);
  const int len = static_cast<int>(end - begin);  // <= total <= kRecTokens (host-checked)

  for (int e = tid; e < len * (kDim / 8); e += kRecThreads) {
    const int i = e / (kDim / 8), c8 = e % (kDim / 8);
    const int64_t row = (begin + i) * kQkHeads + kh;
    *reinterpret_cast<uint4*>(&ks[i][8 * c8]) = *reinterpret_cast<const uint4*>(p.k + row * kDim + 8 * c8);
    *reinterpret_cast<uint4*>(&qs[i][8 * c8]) = *reinterpret_cast<const uint4*>(p.q + row * kDim + 8 * c8);
  }
  for (int e = tid; e < len * kRecRows; e += kRecThreads) {
    const int i = e / kRecRows, r = e % kRecRows;
    vs[i][r] = __bfloat162float(p.v[((begin + i) * kVHeads + h) * kDim + v0 + r]);
  }
  for (int i = tid; i < len; i += kRecThreads) {
    const int64_t at = (begin + i) * kVHeads + h;
    gs[i] = expf(log_decay(__bfloat162float(p.a[at]), p.a_log[h], p.dt_bias[h]));
    bs[i] = sigmoid(__bfloat162float(p.b[at]));
  }

  const int r = tid / kRecLanes, j = tid % kRecLanes;
  const int64_t row_at = ((static_cast<int64_t>(n) * kVHeads + h) * kDim + v0 + r) * kDim;
  float s[16];
  if (p.state != nullptr && len > 0) {
#pragma unroll
    for (int x = 0; x < 2; ++x) {
      const float4 lo = *reinterpret_cast<const float4*>(p.state + row_at + 8 * j + 64 * x);
      const float4 hi = *reinterpret_cast<const float4*>(p.state + row_at + 8 * j + 64 * x + 4);
      s[8 * x + 0] = lo.x;
      s[8 * x + 1] = lo.y;
      s[8 * x + 2] = lo.z;
      s[8 * x + 3] = lo.w;
      s[8 * x + 4] = hi.x;
      s[8 * x + 5] = hi.y;
      s[8 * x + 6] = hi.z;
      s[8 * x + 7] = hi.w;
    }
  } else {
#pragma unroll
    for (int e = 0; e < 16; ++e) s[e] = 0.0f;
  }
  __syncthreads();

  for (int i = 0; i < len; ++i) {
    float kv[16], qv[16];
#pragma unroll
    for (int x = 0; x < 2; ++x) {
      const uint4 kw = *reinterpret_cast<const uint4*>(&ks[i][8 * j + 64 * x]);
      const uint4 qw = *reinterpret_cast<const uint4*>(&qs[i][8 * j + 64 * x]);
      const uint32_t kwords[4] = {kw.x, kw.y, kw.z, kw.w}, qwords[4] = {qw.x, qw.y, qw.z, qw.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        kv[8 * x + 2 * w] = __uint_as_float(kwords[w] << 16);
        kv[8 * x + 2 * w + 1] = __uint_as_float(kwords[w] & 0xFFFF0000u);
        qv[8 * x + 2 * w] = __uint_as_float(qwords[w] << 16);
        qv[8 * x + 2 * w + 1] = __uint_as_float(qwords[w] & 0xFFFF0000u);
      }
    }
    float kdot = 0.0f, qdot = 0.0f, qk = 0.0f;
#pragma unroll
    for (int e = 0; e < 16; ++e) {
      kdot = fmaf(kv[e], s[e], kdot);
      qdot = fmaf(qv[e], s[e], qdot);
      qk = fmaf(qv[e], kv[e], qk);
    }
#pragma unroll
    for (int o = 1; o < kRecLanes; o <<= 1) {
      kdot += __shfl_xor_sync(kFullMask, kdot, o);
      qdot += __shfl_xor_sync(kFullMask, qdot, o);
      qk += __shfl_xor_sync(kFullMask, qk, o);
    }
    const float g = gs[i], u = g * kdot;
    const float delta = bs[i] * (vs[i][r] - u);
#pragma unroll
    for (int e = 0; e < 16; ++e) s[e] = fmaf(kv[e], delta, g * s[e]);
    if (j == 0) {
      p.out[((begin + i) * kVHeads + h) * kDim + v0 + r] = __float2bfloat16_rn(p.scale * (g * qdot + qk * delta));
    }
  }

  float* const dst = p.new_state + row_at + 8 * j;
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    *reinterpret_cast<float4*>(dst + 64 * x) = make_float4(s[8 * x], s[8 * x + 1], s[8 * x + 2], s[8 * x + 3]);
    *reinterpret_cast<float4*>(dst + 64 * x + 4) = make_float4(s[8 * x + 4], s[8 * x + 5], s[8 * x + 6], s[8 * x + 7]);
  }
}

// ---------------------------------------------------------------- host side

enum Input { kInQ, kInK, kInV, kInState, kInALog, kInA, kInDtBias, kInB, kInCu, kInScale, kNumInputs };
enum Output { kOutO, kOutState, kNumOutputs };

// A row-major contiguous tensor of this dtype and shape (its data not looked at).
bool is_tensor(const kforge_arg& t, int32_t dtype, std::initializer_list<int64_t> shape) {
  if (t.kind != KFORGE_TENSOR || t.dtype != dtype || t.rank != static_cast<int32_t>(shape.size())) return false;
  int i = 0;
  for (const int64_t extent : shape) {
    if (t.shape[i++] != extent) return false;
  }
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    if (t.shape[d] > 1 && t.strides[d] != stride) return false;
    stride *= t.shape[d];
  }
  return true;
}

// The sizes of a call whose tensors have the definition's dtypes and shapes (their data pointers
// not looked at); false otherwise.
bool read_sizes(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out, int32_t num_outputs, int64_t& total,
                int& num_seqs) {
  if (num_inputs != kNumInputs || num_outputs != kNumOutputs) return false;
  const kforge_arg &q = in[kInQ], &cu = in[kInCu], &state = in[kInState];
  if (q.kind != KFORGE_TENSOR || q.rank != 3 || cu.kind != KFORGE_TENSOR || cu.rank != 1) return false;
  total = q.shape[0];
  const int64_t seqs = cu.shape[0] - 1;
  if (total < 0 || total > (int64_t{1} << 40) || seqs < 0 || seqs > 65535) return false;  // seqs: grid.y
  num_seqs = static_cast<int>(seqs);
  return is_tensor(q, KFORGE_BFLOAT16, {total, kQkHeads, kDim}) &&
         is_tensor(in[kInK], KFORGE_BFLOAT16, {total, kQkHeads, kDim}) &&
         is_tensor(in[kInV], KFORGE_BFLOAT16, {total, kVHeads, kDim}) &&
         (state.data == nullptr || is_tensor(state, KFORGE_FLOAT32, {seqs, kVHeads, kDim, kDim})) &&
         is_tensor(in[kInALog], KFORGE_FLOAT32, {kVHeads}) && is_tensor(in[kInA], KFORGE_BFLOAT16, {total, kVHeads}) &&
         is_tensor(in[kInDtBias], KFORGE_FLOAT32, {kVHeads}) &&
         is_tensor(in[kInB], KFORGE_BFLOAT16, {total, kVHeads}) && is_tensor(cu, KFORGE_INT64, {seqs + 1}) &&
         in[kInScale].kind == KFORGE_SCALAR && is_tensor(out[kOutO], KFORGE_BFLOAT16, {total, kVHeads, kDim}) &&
         is_tensor(out[kOutState], KFORGE_FLOAT32, {seqs, kVHeads, kDim, kDim});
}

// The call's arguments: read_sizes, and data aligned as the kernels access it (16-byte vectors
// of q, k, v, state, output and new_state); false otherwise.
bool read_params(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out, int32_t num_outputs, Params& p) {
  int64_t total = 0;
  int seqs = 0;
  if (!read_sizes(in, num_inputs, out, num_outputs, total, seqs)) return false;
  const auto aligned = [](const kforge_arg& t, uintptr_t align) {
    int64_t numel = 1;
    for (int32_t d = 0; d < t.rank; ++d) numel *= t.shape[d];
    return numel == 0 || (t.data != nullptr && reinterpret_cast<uintptr_t>(t.data) % align == 0);
  };
  const kforge_arg& state = in[kInState];
  if (!aligned(in[kInQ], 16) || !aligned(in[kInK], 16) || !aligned(in[kInV], 16) ||
      (state.data != nullptr && !aligned(state, 16)) || !aligned(in[kInALog], 4) || !aligned(in[kInA], 2) ||
      !aligned(in[kInDtBias], 4) || !aligned(in[kInB], 2) || !aligned(in[kInCu], 8) || !aligned(out[kOutO], 16) ||
      !aligned(out[kOutState], 16)) {
    return false;
  }
  p.q = static_cast<const __nv_bfloat16*>(in[kInQ].data);
  p.k = static_cast<const __nv_bfloat16*>(in[kInK].data);
  p.v = static_cast<const __nv_bfloat16*>(in[kInV].data);
  p.state = static_cast<const float*>(state.data);
  p.a_log = static_cast<const float*>(in[kInALog].data);
  p.a = static_cast<const __nv_bfloat16*>(in[kInA].data);
  p.dt_bias = static_cast<const float*>(in[kInDtBias].data);
  p.b = static_cast<const __nv_bfloat16*>(in[kInB].data);
  p.cu = static_cast<const int64_t*>(in[kInCu].data);
  p.out = static_cast<__nv_bfloat16*>(out[kOutO].data);
  p.new_state = static_cast<float*>(out[kOutState].data);
  // The reference's scale is a Python float that multiplies a float32 tensor: rounded to float.
  const double scale = in[kInScale].scalar.f64;
  p.scale = static_cast<float>(scale == 0.0 ? 1.0 / std::sqrt(static_cast<double>(kDim)) : scale);
  p.total = total;
  p.num_seqs = seqs;
  return true;
}

template <int kWarps, int kStages>
cudaError_t launch_chain(const Params& p, const ChunkRecord* ws, cudaStream_t stream) {
  constexpr int kBytes = kStages * static_cast<int>(sizeof(ChainStage<16 * kWarps>));
  static const cudaError_t allowed =
      cudaFuncSetAttribute(chain_kernel<kWarps, kStages>, cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes);
  if (allowed != cudaSuccess) return allowed;
  cudaLaunchAttribute dependent[1];
  dependent[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  dependent[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(kVHeads * (kDim / (16 * kWarps)), static_cast<unsigned>(p.num_seqs));
  config.blockDim = dim3(32 * kWarps);
  config.dynamicSmemBytes = kBytes;
  config.stream = stream;
  config.attrs = dependent;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, chain_kernel<kWarps, kStages>, p, ws);
}

cudaError_t launch_chunked(const Params& p, ChunkRecord* ws, cudaStream_t stream) {
  static const cudaError_t allowed = cudaFuncSetAttribute(
      chunk_prep_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(sizeof(PrepSmem)));
  if (allowed != cudaSuccess) return allowed;
  int device = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(num_slots(p.total, p.num_seqs) + 1), kQkHeads);  // + rank_sequences
  chunk_prep_kernel<<<grid, kPrepThreads, sizeof(PrepSmem), stream>>>(p, ws);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  // Few sequences: 2-warp CTAs, so that every v-head spreads over 4 SMs. Many sequences: 4-warp
  // CTAs; double-buffered (one CTA per SM) when the average sequence is long, so that the longest
  // chains run at full speed, else single-buffered (two per SM).
  if (static_cast<int64_t>(p.num_seqs) * kVHeads * (kDim / 32) <= sms) return launch_chain<2, 2>(p, ws, stream);
  if (p.total >= static_cast<int64_t>(SHORT_CHAIN_TOKENS) * p.num_seqs) return launch_chain<4, 2>(p, ws, stream);
  return launch_chain<4, 1>(p, ws, stream);
}

}  // namespace

extern "C" uint64_t gdn_prefill_hopper_workspace_size(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out,
                                                      int32_t num_outputs) {
  int64_t total = 0;
  int num_seqs = 0;
  if (!read_sizes(in, num_inputs, out, num_outputs, total, num_seqs)) return 0;
  return workspace_bytes(total, num_seqs);
}

extern "C" int32_t gdn_prefill_hopper(const kforge_arg* in, int32_t num_inputs, const kforge_arg* out,
                                      int32_t num_outputs, void* workspace, uint64_t workspace_bytes_given,
                                      void* stream) {
  Params p{};
  if (!read_params(in, num_inputs, out, num_outputs, p)) return -1;
  const auto s = static_cast<cudaStream_t>(stream);
  if (p.num_seqs == 0) {  // no segment: every output row is uncovered, and new_state is empty
    if (p.total == 0) return 0;
    return static_cast<int32_t>(
        cudaMemsetAsync(p.out, 0, static_cast<size_t>(p.total) * kVHeads * kDim * sizeof(__nv_bfloat16), s));
  }
  if (p.total <= RECURRENT_MAX_TOKENS) {
    recurrent_kernel<<<dim3(kVHeads * (kDim / kRecRows), static_cast<unsigned>(p.num_seqs)), kRecThreads, 0, s>>>(p);
    return static_cast<int32_t>(cudaGetLastError());
  }
  if (workspace == nullptr || workspace_bytes_given < workspace_bytes(p.total, p.num_seqs) ||
      reinterpret_cast<uintptr_t>(workspace) % 16 != 0) {
    return -1;
  }
  p.order = reinterpret_cast<int32_t*>(static_cast<unsigned char*>(workspace) + records_bytes(p.total, p.num_seqs));
  return static_cast<int32_t>(launch_chunked(p, static_cast<ChunkRecord*>(workspace), s));
}
