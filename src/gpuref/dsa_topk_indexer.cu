// DSA top-k indexer: per batch row, scores sum_h relu(q_h . k_t) * w_h of the row's logical
// tokens t < seq_len over the deep_gemm-packed fp8 key cache, then the top min(topk, seq_len)
// tokens as global ids page * page_size + offset, padded with -1. Semantics of
// ref/dsa_topk_indexer.cpp, including its total order: NaN first, then higher score, then lower
// logical position.
//
// Two kernels: scores (one warp per token) into a [batch, capacity] workspace, then one block per
// row sorts (score, position) keys with a bitonic network in a global workspace and writes ids.
//
// Not validated on the device (the oracle throws instead): seq_lens are clamped into
// [0, max_num_pages * page_size] and block_table entries into [0, num_pages), so bad tables give
// wrong ids but no out-of-bounds read.
#include <bit>
#include <cstdint>

#include "gpuref/device_math.cuh"
#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

constexpr int kScoreThreads = 256;
constexpr int kTokensPerScoreBlock = 64;  // amortizes loading q into shared memory
constexpr int kSortThreads = 512;
constexpr std::int64_t kScaleBytes = 4;

struct IndexerArgs {
  const Fp8E4M3* q;                 // [batch, heads, dim]
  const std::uint8_t* k_cache;      // per page: page_size * dim fp8 bytes, then page_size float32 scales
  const float* weights;             // [batch, heads]
  const std::int32_t* seq_lens;     // [batch]
  const std::int32_t* block_table;  // [batch, max_pages]
  int heads, dim, page_size, max_pages, num_pages, topk;
  std::int64_t capacity;            // max_pages * page_size: tokens a row can address
};

__device__ std::int64_t row_length(const IndexerArgs& p, std::int64_t row) {
  if (p.num_pages == 0) return 0;  // no page to read a token from
  const std::int64_t len = p.seq_lens[row];
  return len < 0 ? 0 : (len > p.capacity ? p.capacity : len);
}

__device__ std::int64_t page_of(const IndexerArgs& p, std::int64_t row, std::int64_t t) {
  const std::int32_t page = p.block_table[row * p.max_pages + t / p.page_size];
  return page < 0 ? 0 : (page >= p.num_pages ? p.num_pages - 1 : page);
}

// Block (chunk, row) = (blockIdx.x, blockIdx.y) scores the row's tokens
// [chunk * kTokensPerScoreBlock, (chunk + 1) * kTokensPerScoreBlock). Dynamic shared memory: q as float [heads][dim + 1] (the pad
// keeps lanes reading different heads on different banks), weights [heads], and one
// dequantized key [dim] per warp.
__global__ void __launch_bounds__(kScoreThreads) indexer_scores_kernel(IndexerArgs p, float* scores) {
  extern __shared__ float smem[];
  const auto row = static_cast<std::int64_t>(blockIdx.y);
  const std::int64_t len = row_length(p, row);
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * kTokensPerScoreBlock;
  if (first >= len) return;
  const int stride = p.dim + 1;
  float* q = smem;
  float* w = q + static_cast<std::int64_t>(p.heads) * stride;
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32, warp = tid / 32;
  float* key = w + p.heads + warp * p.dim;

  for (int i = tid; i < p.heads * p.dim; i += kScoreThreads) {
    q[(i / p.dim) * stride + i % p.dim] = to_float(p.q[row * p.heads * p.dim + i]);
  }
  for (int h = tid; h < p.heads; h += kScoreThreads) w[h] = p.weights[row * p.heads + h];
  __syncthreads();

  const std::int64_t page_bytes = static_cast<std::int64_t>(p.page_size) * (p.dim + kScaleBytes);
  const std::int64_t last = min(len, first + kTokensPerScoreBlock);
  for (std::int64_t t = first + warp; t < last; t += kScoreThreads / 32) {
    const std::uint8_t* page = p.k_cache + page_of(p, row, t) * page_bytes;
    const std::int64_t offset = t % p.page_size;
    // The scale's four bytes, little-endian as the reference's .view(float32) on the host.
    const std::uint8_t* sb = page + static_cast<std::int64_t>(p.page_size) * p.dim + offset * kScaleBytes;
    const float scale = __uint_as_float(std::uint32_t{sb[0]} | std::uint32_t{sb[1]} << 8 |
                                        std::uint32_t{sb[2]} << 16 | std::uint32_t{sb[3]} << 24);
    const std::uint8_t* fp8 = page + offset * p.dim;
    // Dequantized in float32, one rounding, as fp8_float * scale in the reference.
    for (int c = lane; c < p.dim; c += 32) key[c] = to_float(Fp8E4M3{fp8[c]}) * scale;
    __syncwarp();
    float partial = 0.0f;
    for (int h = lane; h < p.heads; h += 32) {
      const float* qh = q + h * stride;
      float dot = 0.0f;
      for (int c = 0; c < p.dim; ++c) dot += qh[c] * key[c];
      partial += (dot < 0.0f ? 0.0f : dot) * w[h];  // relu keeping NaN, as torch.relu
    }
    const float score = warp_sum(partial);
    if (lane == 0) scores[row * p.capacity + t] = score;
    __syncwarp();  // key[] is rewritten for the next token
  }
}

// Ascending order of keys = the oracle's ranking: the high word orders scores descending with
// every NaN first (0) and -0 equal to +0; the low word is the logical position.
__device__ std::uint64_t rank_key(float score, std::int64_t position) {
  std::uint32_t high = 0;
  if (!isnan(score)) {
    const std::uint32_t bits = __float_as_uint(score == 0.0f ? 0.0f : score);
    const std::uint32_t ascending = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;  // monotone in score
    high = ~ascending;  // >= 0x007FFFFF (at +inf), so above NaN's 0
  }
  return std::uint64_t{high} << 32 | static_cast<std::uint32_t>(position);
}

// One block per row: keys of its len tokens padded with ~0 to a power of two n, sorted in place
// in keys[row * key_stride, + n) by a bitonic network (global memory: no size limit; a
// __syncthreads between stages makes a block's global writes visible to the block), then the
// first min(topk, len) become global ids and the rest of the output row -1.
__global__ void __launch_bounds__(kSortThreads) indexer_topk_kernel(IndexerArgs p, const float* scores,
                                                                     std::uint64_t* keys, std::int64_t key_stride,
                                                                     std::int32_t* out) {
  const auto row = static_cast<std::int64_t>(blockIdx.x);
  const std::int64_t len = row_length(p, row);
  std::int64_t n = 1;
  while (n < len) n <<= 1;
  std::uint64_t* key = keys + row * key_stride;
  for (std::int64_t i = threadIdx.x; i < n; i += kSortThreads) {
    key[i] = i < len ? rank_key(scores[row * p.capacity + i], i) : ~std::uint64_t{0};
  }
  __syncthreads();
  for (std::int64_t size = 2; size <= n; size <<= 1) {
    for (std::int64_t stride = size / 2; stride > 0; stride >>= 1) {
      for (std::int64_t i = threadIdx.x; i < n / 2; i += kSortThreads) {
        const std::int64_t lo = 2 * stride * (i / stride) + i % stride, hi = lo + stride;
        const bool ascending = (lo & size) == 0;
        const std::uint64_t a = key[lo], b = key[hi];
        if ((a > b) == ascending) {
          key[lo] = b;
          key[hi] = a;
        }
      }
      __syncthreads();
    }
  }
  const std::int64_t selected = min(len, static_cast<std::int64_t>(p.topk));
  for (std::int64_t i = threadIdx.x; i < p.topk; i += kSortThreads) {
    std::int32_t id = -1;
    if (i < selected) {
      const auto t = static_cast<std::int64_t>(key[i] & 0xFFFFFFFFu);
      id = static_cast<std::int32_t>(page_of(p, row, t) * p.page_size + t % p.page_size);
    }
    out[row * p.topk + i] = id;
  }
}

}  // namespace

void dsa_topk_indexer(const Axes& axes, const DeviceTensorMap& in, const TensorMap&, DeviceTensorMap& out,
                      cudaStream_t s) {
  constexpr std::string_view kOp = "dsa_topk_indexer";
  const std::int64_t batch = axis(axes, kOp, "batch_size"), heads = axis(axes, kOp, "num_index_heads");
  const std::int64_t dim = axis(axes, kOp, "index_head_dim"), page_size = axis(axes, kOp, "page_size");
  const std::int64_t topk = axis(axes, kOp, "topk"), max_pages = axis(axes, kOp, "max_num_pages");
  const std::int64_t num_pages = axis(axes, kOp, "num_pages"), kv_heads = axis(axes, kOp, "kv_cache_num_heads");
  const std::int64_t row_width = axis(axes, kOp, "head_dim_with_scale");
  // As the oracle: the deep_gemm packing has one kv head and a 4-byte scale per token.
  require(kv_heads == 1, "dsa_topk_indexer: kv_cache_num_heads = " + std::to_string(kv_heads), "1");
  require(row_width == dim + kScaleBytes, "dsa_topk_indexer: head_dim_with_scale = " + std::to_string(row_width),
          "index_head_dim + 4 = " + std::to_string(dim + kScaleBytes));
  require(page_size > 0, "dsa_topk_indexer: page_size = " + std::to_string(page_size), "> 0");
  const std::int64_t capacity = max_pages * page_size;
  // Ids are int32 page * page_size + offset; positions fit the key's low 32 bits.
  require(num_pages * page_size <= std::int64_t{1} << 31 && capacity <= std::int64_t{1} << 31,
          "dsa_topk_indexer: num_pages * page_size = " + std::to_string(num_pages * page_size) +
              ", max_num_pages * page_size = " + std::to_string(capacity),
          "at most 2^31 token slots");

  IndexerArgs p{};
  p.q = input<Fp8E4M3>(in, kOp, "q_index_fp8", DType::kFloat8E4M3FN, {batch, heads, dim});
  p.k_cache = input<std::uint8_t>(in, kOp, "k_index_cache_fp8", DType::kInt8, {num_pages, page_size, 1, row_width});
  p.weights = input<float>(in, kOp, "weights", DType::kFloat32, {batch, heads});
  p.seq_lens = input<std::int32_t>(in, kOp, "seq_lens", DType::kInt32, {batch});
  p.block_table = input<std::int32_t>(in, kOp, "block_table", DType::kInt32, {batch, max_pages});
  p.heads = static_cast<int>(heads);
  p.dim = static_cast<int>(dim);
  p.page_size = static_cast<int>(page_size);
  p.max_pages = static_cast<int>(max_pages);
  p.num_pages = static_cast<int>(num_pages);
  p.topk = static_cast<int>(topk);
  p.capacity = capacity;
  auto* ids = output<std::int32_t>(out, kOp, "topk_indices");

  if (batch == 0) return;
  require(batch <= 65535, "dsa_topk_indexer: batch_size is " + std::to_string(batch), "at most 65535");
  const auto key_stride = static_cast<std::int64_t>(std::bit_ceil(static_cast<std::uint64_t>(capacity)));
  const StreamBuffer scores(static_cast<std::size_t>(batch * capacity) * sizeof(float), s);
  const StreamBuffer keys(static_cast<std::size_t>(batch * key_stride) * sizeof(std::uint64_t), s);

  if (capacity > 0) {
    const std::size_t smem =
        static_cast<std::size_t>(heads * (dim + 1) + heads + (kScoreThreads / 32) * dim) * sizeof(float);
    allow_dynamic_smem(indexer_scores_kernel, smem, kOp);
    const auto chunks = static_cast<unsigned>((capacity + kTokensPerScoreBlock - 1) / kTokensPerScoreBlock);
    indexer_scores_kernel<<<dim3(chunks, static_cast<unsigned>(batch)), kScoreThreads, smem, s>>>(
        p, scores.as<float>());
    KFORGE_CUDA_CHECK_LAUNCH();
  }
  indexer_topk_kernel<<<static_cast<unsigned>(batch), kSortThreads, 0, s>>>(
      p, scores.as<float>(), keys.as<std::uint64_t>(), key_stride, ids);
  KFORGE_CUDA_CHECK_LAUNCH();
}

}  // namespace kforge::gpuref
