// @brief Oracle of moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_*: DeepSeek-V3 no-aux routing,
// fp8 block-scale dequantization and per-expert GEMM1 -> SwiGLU -> GEMM2, summed by weight.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

// Fixed by the definition name (topk8_ng8_kg4); only the sizes come from the axes.
constexpr std::int64_t kTopK = MoeRouting::kTopK;
constexpr std::int64_t kNGroup = 8;
constexpr std::int64_t kTopKGroup = 4;

const std::string kWho = "moe_fp8_block_scale: ";

std::int64_t axis(const Axes& axes, const std::string& name) {
  auto it = axes.find(name);
  if (it == axes.end()) throw Error(kWho + "axis '" + name + "' missing", "every axis of the definition");
  if (it->second < 0) throw Error(kWho + "axis '" + name + "' is " + std::to_string(it->second), ">= 0");
  return it->second;
}

const Tensor& input(const TensorMap& inputs, const std::string& name, DType dtype, const Shape& shape) {
  auto it = inputs.find(name);
  if (it == inputs.end()) throw Error(kWho + "input '" + name + "' missing", "every input of the definition");
  const Tensor& t = it->second;
  if (t.dtype() != dtype) {
    throw Error(kWho + "input '" + name + "' has dtype " + std::string(dtype_name(t.dtype())),
                std::string(dtype_name(dtype)));
  }
  if (t.shape() != shape) {
    throw Error(kWho + "input '" + name + "' has shape " + shape_to_string(t.shape()),
                shape_to_string(shape));
  }
  return t;
}

std::int64_t group_size(std::int64_t experts) {
  // Each group contributes its top-2 scores, so a group needs at least two experts.
  if (experts % kNGroup != 0 || experts / kNGroup < 2) {
    throw Error(kWho + "num_experts is " + std::to_string(experts),
                "a multiple of n_group=" + std::to_string(kNGroup) + " with at least 2 experts per group");
  }
  return experts / kNGroup;
}

// torch.topk's order: larger first, NaN above every number. sorted=False leaves the order of
// equal values unspecified, so this picks ties to the lower index (and stays a strict weak order
// with NaN, as std::partial_sort requires).
bool ranks_before(float a, std::int64_t ia, float b, std::int64_t ib) {
  const bool a_nan = std::isnan(a), b_nan = std::isnan(b);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

// The first k indices of `order` become the top k of values[] in ranks_before order.
void top_k(const std::vector<float>& values, std::int64_t k, std::vector<std::int64_t>& order) {
  order.resize(values.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](std::int64_t i, std::int64_t j) {
    return ranks_before(values[static_cast<std::size_t>(i)], i, values[static_cast<std::size_t>(j)], j);
  });
}

struct Geometry {
  std::int64_t tokens, experts, local_experts, hidden, inter, gemm1_out;
  std::int64_t hidden_blocks, inter_blocks, gemm1_blocks, block;
};

Geometry geometry(const Axes& axes) {
  Geometry g{};
  g.tokens = axis(axes, "seq_len");
  g.experts = axis(axes, "num_experts");
  g.local_experts = axis(axes, "num_local_experts");
  g.hidden = axis(axes, "hidden_size");
  g.inter = axis(axes, "intermediate_size");
  g.gemm1_out = axis(axes, "gemm1_out_size");
  g.hidden_blocks = axis(axes, "num_hidden_blocks");
  g.inter_blocks = axis(axes, "num_intermediate_blocks");
  g.gemm1_blocks = axis(axes, "num_gemm1_out_blocks");
  group_size(g.experts);
  if (g.hidden_blocks == 0 || g.hidden % g.hidden_blocks != 0 || g.hidden == 0) {
    throw Error(kWho + "hidden_size " + std::to_string(g.hidden) + " with num_hidden_blocks " +
                    std::to_string(g.hidden_blocks),
                "a positive hidden_size that is a multiple of num_hidden_blocks");
  }
  g.block = g.hidden / g.hidden_blocks;
  const auto same_block = [&](std::int64_t size, std::int64_t blocks, const std::string& what) {
    if (size != blocks * g.block) {
      throw Error(kWho + what + " gives " + std::to_string(size) + " / " + std::to_string(blocks) +
                      " blocks, not the block size " + std::to_string(g.block) + " of hidden_size",
                  "one block size for every quantized dimension");
    }
  };
  same_block(g.inter, g.inter_blocks, "intermediate_size / num_intermediate_blocks");
  same_block(g.gemm1_out, g.gemm1_blocks, "gemm1_out_size / num_gemm1_out_blocks");
  if (g.inter == 0 || g.gemm1_out != 2 * g.inter) {
    throw Error(kWho + "gemm1_out_size " + std::to_string(g.gemm1_out) + " with intermediate_size " +
                    std::to_string(g.inter),
                "gemm1_out_size == 2 * intermediate_size > 0 (up and gate halves)");
  }
  return g;
}

// fp8 decoding through a table: the oracle decodes each weight of every active expert once.
const std::array<float, 256>& fp8_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = fp8e4m3_to_float(Fp8E4M3{static_cast<std::uint8_t>(i)});
    return t;
  }();
  return table;
}

// out[j] = fp8[j] * block_scales[j / block], rounded once to float32 as in the reference.
void dequantize_row(const Fp8E4M3* fp8, const float* block_scales, std::int64_t n, std::int64_t block,
                    double* out) {
  const auto& table = fp8_table();
  for (std::int64_t b = 0; b * block < n; ++b) {
    const float scale = block_scales[b];
    for (std::int64_t j = b * block; j < (b + 1) * block; ++j) out[j] = table[fp8[j].bits] * scale;
  }
}

// Routed tokens go through the GEMMs in tiles of up to kTile tokens stored token-minor
// ([i][width]): the sums of a tile are independent, so they vectorize without reassociating any
// sum, and each dequantized weight is loaded once per tile. Widths are powers of two (8, then
// 4, 2, 1 for the rest) so a lone token costs one dot, not eight. Chunks of kChunk tokens bound
// the buffers for long sequences; weight rows are decoded again per chunk, cheap next to the dots.
constexpr std::int64_t kTile = 8;
constexpr std::int64_t kChunk = 256;

struct Tile {
  std::int64_t first, width;  // tokens [first, first + width) of the chunk
};

std::vector<Tile> tiles_of(std::int64_t count) {
  std::vector<Tile> tiles;
  for (std::int64_t first = 0; first < count;) {
    std::int64_t width = kTile;
    while (width > count - first) width /= 2;
    tiles.push_back({first, width});
    first += width;
  }
  return tiles;
}

// sums[j] = sum over i < n of tile[i * W + j] * w[i], accumulated in double.
template <std::size_t W>
void tile_dot_fixed(const float* tile, const double* w, std::int64_t n, double* sums) {
  std::array<double, W> acc{};
  for (std::int64_t i = 0; i < n; ++i) {
    const float* v = tile + i * static_cast<std::int64_t>(W);
    // Fully unrolled so the sums stay in registers (GCC keeps them in memory otherwise).
#pragma GCC unroll 8
    for (std::size_t j = 0; j < W; ++j) acc[j] += static_cast<double>(v[j]) * w[i];
  }
  std::copy(acc.begin(), acc.end(), sums);
}

void tile_dot(const Tile& t, const float* tile, const double* w, std::int64_t n, double* sums) {
  switch (t.width) {
    case 8: return tile_dot_fixed<8>(tile, w, n, sums);
    case 4: return tile_dot_fixed<4>(tile, w, n, sums);
    case 2: return tile_dot_fixed<2>(tile, w, n, sums);
    default: return tile_dot_fixed<1>(tile, w, n, sums);
  }
}

// Rows processed per parallel chunk, each a dot per routed token: enough to amortize a thread.
constexpr std::int64_t kRowGrain = 16;

}  // namespace

MoeRouting moe_ds_routing(const Axes& axes, const TensorMap& inputs) {
  const std::int64_t tokens = axis(axes, "seq_len"), experts = axis(axes, "num_experts");
  const std::int64_t gsize = group_size(experts);
  const auto logits = input(inputs, "routing_logits", DType::kFloat32, {tokens, experts}).data<float>();
  const std::vector<float> bias = to_float_vector(input(inputs, "routing_bias", DType::kBFloat16, {experts}));
  const auto scaling = static_cast<float>(input(inputs, "routed_scaling_factor", DType::kFloat32, {}).get(0));

  MoeRouting r;
  r.topk_ids.resize(static_cast<std::size_t>(tokens * kTopK));
  r.topk_weights.resize(r.topk_ids.size());
  const auto ue = static_cast<std::size_t>(experts);
  std::vector<float> s(ue), s_bias(ue), pruned(ue), group_score(kNGroup);
  std::vector<std::int64_t> order, group_order;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::size_t e = 0; e < ue; ++e) {
      s[e] = 1.0f / (1.0f + std::exp(-logits[static_cast<std::size_t>(t) * ue + e]));
      s_bias[e] = s[e] + bias[e];
    }
    for (std::int64_t g = 0; g < kNGroup; ++g) {
      std::int64_t best = g * gsize, second = best + 1;
      const auto sb = [&](std::int64_t e) { return s_bias[static_cast<std::size_t>(e)]; };
      if (ranks_before(sb(second), second, sb(best), best)) std::swap(best, second);
      for (std::int64_t e = g * gsize + 2; e < (g + 1) * gsize; ++e) {
        if (ranks_before(sb(e), e, sb(best), best)) {
          second = best;
          best = e;
        } else if (ranks_before(sb(e), e, sb(second), second)) {
          second = e;
        }
      }
      group_score[static_cast<std::size_t>(g)] = sb(best) + sb(second);
    }
    top_k(group_score, kTopKGroup, group_order);
    // Experts of dropped groups get finfo(float32).min, not -inf, exactly as the reference.
    std::fill(pruned.begin(), pruned.end(), std::numeric_limits<float>::lowest());
    for (std::int64_t k = 0; k < kTopKGroup; ++k) {
      const std::int64_t g = group_order[static_cast<std::size_t>(k)];
      for (std::int64_t e = g * gsize; e < (g + 1) * gsize; ++e) {
        pruned[static_cast<std::size_t>(e)] = s_bias[static_cast<std::size_t>(e)];
      }
    }
    top_k(pruned, kTopK, order);
    // The weights use s without the bias; the sum is rounded once (torch sums in float).
    double sum = 0;
    for (std::int64_t k = 0; k < kTopK; ++k)
      sum += s[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
    const float denom = static_cast<float>(sum) + 1e-20f;
    for (std::int64_t k = 0; k < kTopK; ++k) {
      const auto e = static_cast<std::size_t>(order[static_cast<std::size_t>(k)]);
      const auto slot = static_cast<std::size_t>(t * kTopK + k);
      r.topk_ids[slot] = static_cast<std::int32_t>(e);
      r.topk_weights[slot] = s[e] / denom * scaling;
    }
  }
  return r;
}

TensorMap moe_fp8_block_scale(const Axes& axes, const TensorMap& inputs) {
  const Geometry g = geometry(axes);
  const std::int64_t T = g.tokens, H = g.hidden, I = g.inter, N = g.gemm1_out, blk = g.block;
  const auto x = input(inputs, "hidden_states", DType::kFloat8E4M3FN, {T, H}).data<Fp8E4M3>();
  // Activation scales are block-major [H/blk, T], the transpose of the activation layout.
  const auto x_scale =
      input(inputs, "hidden_states_scale", DType::kFloat32, {g.hidden_blocks, T}).data<float>();
  const auto w1 =
      input(inputs, "gemm1_weights", DType::kFloat8E4M3FN, {g.local_experts, N, H}).data<Fp8E4M3>();
  const auto w1_scale = input(inputs, "gemm1_weights_scale", DType::kFloat32,
                              {g.local_experts, g.gemm1_blocks, g.hidden_blocks})
                            .data<float>();
  const auto w2 =
      input(inputs, "gemm2_weights", DType::kFloat8E4M3FN, {g.local_experts, H, I}).data<Fp8E4M3>();
  const auto w2_scale = input(inputs, "gemm2_weights_scale", DType::kFloat32,
                              {g.local_experts, g.hidden_blocks, g.inter_blocks})
                            .data<float>();
  const auto offset =
      static_cast<std::int64_t>(input(inputs, "local_expert_offset", DType::kInt32, {}).get(0));
  const MoeRouting routing = moe_ds_routing(axes, inputs);

  // float32 accumulator, added to expert by expert in local order as the reference's index_add_.
  std::vector<float> out(static_cast<std::size_t>(T * H), 0.0f);
  std::vector<std::int64_t> tok;  // tokens routed to the current expert
  std::vector<float> tok_w;       // and their routing weights for it
  std::vector<float> a, g1, c;    // a and c tile-packed, g1 [token][N]
  const auto& table = fp8_table();
  for (std::int64_t le = 0; le < g.local_experts; ++le) {
    const std::int64_t ge = offset + le;
    if (ge < 0 || ge >= g.experts) continue;
    tok.clear();
    tok_w.clear();
    for (std::size_t slot = 0; slot < routing.topk_ids.size(); ++slot) {
      if (routing.topk_ids[slot] == ge) {
        tok.push_back(static_cast<std::int64_t>(slot) / kTopK);
        tok_w.push_back(routing.topk_weights[slot]);
      }
    }
    const Fp8E4M3* w1_e = w1.data() + le * N * H;
    const float* w1_scale_e = w1_scale.data() + le * g.gemm1_blocks * g.hidden_blocks;
    const Fp8E4M3* w2_e = w2.data() + le * H * I;
    const float* w2_scale_e = w2_scale.data() + le * g.hidden_blocks * g.inter_blocks;

    for (std::size_t first = 0; first < tok.size(); first += kChunk) {
      const auto count = static_cast<std::int64_t>(std::min<std::size_t>(kChunk, tok.size() - first));
      const std::vector<Tile> tiles = tiles_of(count);
      // Index of element i of chunk token first + j in a tile-packed buffer with rows of len.
      const auto at = [](const Tile& t, std::int64_t j, std::int64_t len, std::int64_t i) {
        return static_cast<std::size_t>(t.first * len + i * t.width + j);
      };

      a.resize(static_cast<std::size_t>(count * H));
      for (const Tile& t : tiles) {
        for (std::int64_t j = 0; j < t.width; ++j) {
          const std::int64_t token = tok[first + static_cast<std::size_t>(t.first + j)];
          for (std::int64_t h = 0; h < H; ++h) {
            a[at(t, j, H, h)] = table[x[static_cast<std::size_t>(token * H + h)].bits] *
                                x_scale[static_cast<std::size_t>((h / blk) * T + token)];
          }
        }
      }

      // GEMM1 by weight row: never the whole dequantized expert (1.4 GB of fp8 at full size).
      g1.resize(static_cast<std::size_t>(count * N));
      parallel_for(N, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
        std::vector<double> row(static_cast<std::size_t>(H));
        std::array<double, kTile> sums{};
        for (std::int64_t n = begin; n < end; ++n) {
          dequantize_row(w1_e + n * H, w1_scale_e + (n / blk) * g.hidden_blocks, H, blk, row.data());
          for (const Tile& t : tiles) {
            tile_dot(t, a.data() + t.first * H, row.data(), H, sums.data());
            for (std::int64_t j = 0; j < t.width; ++j) {
              g1[static_cast<std::size_t>((t.first + j) * N + n)] =
                  static_cast<float>(sums[static_cast<std::size_t>(j)]);
            }
          }
        }
      });

      // SwiGLU with the second half as the gate: C = silu(X2) * X1, in float as the reference.
      c.resize(static_cast<std::size_t>(count * I));
      for (const Tile& t : tiles) {
        for (std::int64_t j = 0; j < t.width; ++j) {
          const float* g1_k = g1.data() + (t.first + j) * N;
          for (std::int64_t i = 0; i < I; ++i) {
            const float x1 = g1_k[i], x2 = g1_k[I + i];
            c[at(t, j, I, i)] = x2 / (1.0f + std::exp(-x2)) * x1;
          }
        }
      }

      // GEMM2 by output column h; parallel chunks own disjoint columns, so they add to `out`
      // without races, and each element still sees the experts in local order.
      parallel_for(H, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
        std::vector<double> row(static_cast<std::size_t>(I));
        std::array<double, kTile> sums{};
        for (std::int64_t h = begin; h < end; ++h) {
          dequantize_row(w2_e + h * I, w2_scale_e + (h / blk) * g.inter_blocks, I, blk, row.data());
          for (const Tile& t : tiles) {
            tile_dot(t, c.data() + t.first * I, row.data(), I, sums.data());
            for (std::int64_t j = 0; j < t.width; ++j) {
              const auto slot = first + static_cast<std::size_t>(t.first + j);
              out[static_cast<std::size_t>(tok[slot] * H + h)] +=
                  static_cast<float>(sums[static_cast<std::size_t>(j)]) * tok_w[slot];
            }
          }
        }
      });
    }
  }

  Tensor output(DType::kBFloat16, {T, H});
  auto dst = output.data<Bf16>();
  for (std::size_t i = 0; i < out.size(); ++i) dst[i] = float_to_bf16(out[i]);
  TensorMap result;
  result.emplace("output", std::move(output));
  return result;
}

}  // namespace kforge::ref
