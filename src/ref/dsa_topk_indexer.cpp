// @brief DSA top-k indexer oracle: fp8 paged scores sum_h relu(q_h . k_t) * w_h, top-k token ids.
// torch.topk leaves the order of equal scores unspecified; here it is fixed: higher score first,
// equal scores by lower logical token position (see ranks_before).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

// The reference reinterprets the cache's scale bytes with .view(float32), i.e. in host order;
// every machine that runs the contest is little-endian, and so is the layout assumed here.
static_assert(std::endian::native == std::endian::little, "k cache scales are little-endian float32");

constexpr std::int64_t kScaleBytes = 4;
// Tokens per parallel chunk: one token costs num_heads * head_dim multiply-adds (8K at full size).
constexpr std::int64_t kTokenGrain = 128;
// Heads whose dot products one pass over a token's key accumulates together.
constexpr std::int64_t kHeadBlock = 8;

std::int64_t axis(const Axes& axes, const std::string& name) {
  auto it = axes.find(name);
  if (it == axes.end()) throw Error("dsa_topk_indexer: axis '" + name + "' missing");
  return it->second;
}

const Tensor& input(const TensorMap& inputs, const std::string& name, DType dtype, const Shape& shape) {
  auto it = inputs.find(name);
  if (it == inputs.end()) throw Error("dsa_topk_indexer: input '" + name + "' missing");
  const Tensor& t = it->second;
  if (t.dtype() != dtype || t.shape() != shape) {
    throw Error("dsa_topk_indexer: input '" + name + "' is " + std::string(dtype_name(t.dtype())) + " " +
                    shape_to_string(t.shape()),
                std::string(dtype_name(dtype)) + " " + shape_to_string(shape));
  }
  return t;
}

// The inputs, checked against the axes, as flat row-major views.
struct IndexerInputs {
  std::int64_t batch_size = 0;
  std::int64_t num_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t page_size = 0;
  std::int64_t max_num_pages = 0;
  std::int64_t num_pages = 0;
  std::span<const Fp8E4M3> q;                 // [batch_size, num_heads, head_dim]
  std::span<const std::byte> k_cache;         // per page: page_size*head_dim fp8, page_size f32 scales
  std::span<const float> weights;             // [batch_size, num_heads]
  std::span<const std::int32_t> seq_lens;     // [batch_size]
  std::span<const std::int32_t> block_table;  // [batch_size, max_num_pages]
};

IndexerInputs view_inputs(const Axes& axes, const TensorMap& inputs) {
  IndexerInputs in;
  in.batch_size = axis(axes, "batch_size");
  in.num_heads = axis(axes, "num_index_heads");
  in.head_dim = axis(axes, "index_head_dim");
  in.page_size = axis(axes, "page_size");
  in.max_num_pages = axis(axes, "max_num_pages");
  in.num_pages = axis(axes, "num_pages");
  const std::int64_t kv_heads = axis(axes, "kv_cache_num_heads");
  const std::int64_t row_width = axis(axes, "head_dim_with_scale");
  // The deep_gemm packing only exists for one kv head with a 4-byte scale per token.
  require(kv_heads == 1, "dsa_topk_indexer: kv_cache_num_heads = " + std::to_string(kv_heads), "1");
  require(row_width == in.head_dim + kScaleBytes,
          "dsa_topk_indexer: head_dim_with_scale = " + std::to_string(row_width),
          "index_head_dim + 4 = " + std::to_string(in.head_dim + kScaleBytes));
  require(in.page_size > 0, "dsa_topk_indexer: page_size = " + std::to_string(in.page_size), "> 0");
  // Output ids are int32 page * page_size + offset.
  require(in.num_pages * in.page_size <= std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1,
          "dsa_topk_indexer: num_pages * page_size = " + std::to_string(in.num_pages * in.page_size),
          "at most 2^31 token slots");

  in.q = input(inputs, "q_index_fp8", DType::kFloat8E4M3FN, {in.batch_size, in.num_heads, in.head_dim})
             .data<Fp8E4M3>();
  in.k_cache =
      input(inputs, "k_index_cache_fp8", DType::kInt8, {in.num_pages, in.page_size, 1, row_width}).bytes();
  in.weights = input(inputs, "weights", DType::kFloat32, {in.batch_size, in.num_heads}).data<float>();
  in.seq_lens = input(inputs, "seq_lens", DType::kInt32, {in.batch_size}).data<std::int32_t>();
  in.block_table =
      input(inputs, "block_table", DType::kInt32, {in.batch_size, in.max_num_pages}).data<std::int32_t>();
  return in;
}

// seq_lens[row], after checking it and every block_table entry it uses (entries past
// ceil(seq_len / page_size) are never read, so they may hold anything).
std::int64_t checked_seq_len(const IndexerInputs& in, std::int64_t row) {
  const std::int64_t seq_len = in.seq_lens[static_cast<std::size_t>(row)];
  const std::int64_t capacity = in.max_num_pages * in.page_size;
  if (seq_len < 0 || seq_len > capacity) {
    throw Error("dsa_topk_indexer: seq_lens[" + std::to_string(row) + "] = " + std::to_string(seq_len) +
                    " is out of range",
                "0 <= seq_len <= max_num_pages * page_size = " + std::to_string(capacity));
  }
  const std::int64_t used_pages = (seq_len + in.page_size - 1) / in.page_size;
  for (std::int64_t p = 0; p < used_pages; ++p) {
    const std::int32_t page = in.block_table[static_cast<std::size_t>(row * in.max_num_pages + p)];
    if (page < 0 || page >= in.num_pages) {
      throw Error("dsa_topk_indexer: block_table[" + std::to_string(row) + ", " + std::to_string(p) +
                      "] = " + std::to_string(page) + " is not a page of the cache",
                  "0 <= page < num_pages = " + std::to_string(in.num_pages));
    }
  }
  return seq_len;
}

// Ranking of torch.topk(sorted=True) made total: NaN first (torch orders NaN above every number),
// then higher score, then, for equal scores, the lower logical token position.
bool ranks_before(const std::vector<double>& scores, std::int32_t a, std::int32_t b) {
  const double sa = scores[static_cast<std::size_t>(a)];
  const double sb = scores[static_cast<std::size_t>(b)];
  const bool nan_a = std::isnan(sa), nan_b = std::isnan(sb);
  if (nan_a != nan_b) return nan_a;
  if (!nan_a && sa != sb) return sa > sb;
  return a < b;
}

}  // namespace

std::vector<double> dsa_indexer_token_scores(const Axes& axes, const TensorMap& inputs, std::int64_t row) {
  const IndexerInputs in = view_inputs(axes, inputs);
  require(row >= 0 && row < in.batch_size, "dsa_topk_indexer: score row " + std::to_string(row),
          "0 <= row < batch_size = " + std::to_string(in.batch_size));
  const std::int64_t seq_len = checked_seq_len(in, row);
  const std::int64_t heads = in.num_heads, dim = in.head_dim, page_size = in.page_size;

  // q transposed to [dim][padded heads], zero-padded to whole blocks, so the token loop runs a
  // block of heads innermost with its dot products in registers (independent chains) and needs
  // no tail. fp8 * float products are exact in double.
  const std::int64_t padded = (heads + kHeadBlock - 1) / kHeadBlock * kHeadBlock;
  std::vector<double> q_t(static_cast<std::size_t>(dim * padded), 0.0);
  for (std::int64_t h = 0; h < heads; ++h) {
    for (std::int64_t d = 0; d < dim; ++d) {
      q_t[static_cast<std::size_t>(d * padded + h)] =
          fp8e4m3_to_float(in.q[static_cast<std::size_t>((row * heads + h) * dim + d)]);
    }
  }
  const auto w = in.weights.subspan(static_cast<std::size_t>(row * heads), static_cast<std::size_t>(heads));
  const auto pages = in.block_table.subspan(static_cast<std::size_t>(row * in.max_num_pages));
  const std::int64_t page_bytes = page_size * (dim + kScaleBytes);

  std::vector<double> scores(static_cast<std::size_t>(seq_len));
  parallel_for(seq_len, kTokenGrain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> k(static_cast<std::size_t>(dim));
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t slot = t % page_size;
      const std::byte* page = in.k_cache.data() + pages[static_cast<std::size_t>(t / page_size)] * page_bytes;
      const std::byte* fp8 = page + slot * dim;
      float scale;
      std::memcpy(&scale, page + page_size * dim + slot * kScaleBytes, sizeof scale);
      for (std::int64_t d = 0; d < dim; ++d) {
        // Dequantised in float32, one rounding, as the reference's fp8_float * scale.
        const float v = fp8e4m3_to_float(Fp8E4M3{std::to_integer<std::uint8_t>(fp8[d])}) * scale;
        k[static_cast<std::size_t>(d)] = v;
      }
      double score = 0.0;
      for (std::int64_t h0 = 0; h0 < heads; h0 += kHeadBlock) {
        std::array<double, kHeadBlock> dots{};
        for (std::int64_t d = 0; d < dim; ++d) {
          const double kd = k[static_cast<std::size_t>(d)];
          const double* qd = q_t.data() + d * padded + h0;
          for (std::size_t i = 0; i < dots.size(); ++i) dots[i] += qd[i] * kd;
        }
        for (std::int64_t h = h0; h < std::min(heads, h0 + kHeadBlock); ++h) {
          const double dot = dots[static_cast<std::size_t>(h - h0)];
          // relu that keeps NaN, like torch.relu.
          score += (dot < 0.0 ? 0.0 : dot) * static_cast<double>(w[static_cast<std::size_t>(h)]);
        }
      }
      scores[static_cast<std::size_t>(t)] = score;
    }
  });
  return scores;
}

TensorMap dsa_topk_indexer(const Axes& axes, const TensorMap& inputs) {
  const IndexerInputs in = view_inputs(axes, inputs);
  const std::int64_t topk = axis(axes, "topk");
  Tensor out(DType::kInt32, {in.batch_size, topk});
  const auto ids = out.data<std::int32_t>();
  std::fill(ids.begin(), ids.end(), -1);

  // Rows run one after another; dsa_indexer_token_scores is parallel over a row's tokens.
  for (std::int64_t row = 0; row < in.batch_size; ++row) {
    const std::vector<double> scores = dsa_indexer_token_scores(axes, inputs, row);
    const auto seq_len = static_cast<std::int64_t>(scores.size());
    const std::int64_t k = std::min(topk, seq_len);
    std::vector<std::int32_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](std::int32_t a, std::int32_t b) { return ranks_before(scores, a, b); });
    const auto pages = in.block_table.subspan(static_cast<std::size_t>(row * in.max_num_pages));
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t t = order[static_cast<std::size_t>(i)];
      const std::int64_t page = pages[static_cast<std::size_t>(t / in.page_size)];
      ids[static_cast<std::size_t>(row * topk + i)] =
          static_cast<std::int32_t>(page * in.page_size + t % in.page_size);
    }
  }
  TensorMap result;
  result.emplace("topk_indices", std::move(out));
  return result;
}

}  // namespace kforge::ref
