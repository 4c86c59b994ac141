// DSA oracles (sparse MLA attention, fp8 top-k indexer) on small shapes: hand-derived values,
// the deep_gemm cache packing byte by byte, properties on random inputs, and input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

constexpr double kLn2 = std::numbers::ln2;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Writes `values` into t as row `row` of width values.size() (flat row-major).
void set_row(Tensor& t, std::int64_t row, const std::vector<double>& values) {
  const auto width = static_cast<std::int64_t>(values.size());
  for (std::int64_t i = 0; i < width; ++i) t.set(row * width + i, values[static_cast<std::size_t>(i)]);
}

void fill(Tensor& t, double v) {
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, v);
}

// The message of the Error that fn throws ("" if none).
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------- sparse attention

struct AttentionCase {
  Axes axes;
  TensorMap inputs;
  Tensor& operator[](const std::string& name) { return inputs.at(name); }
  TensorMap run() const { return dsa_sparse_attention(axes, inputs); }
};

// Zero q and caches, every index -1.
AttentionCase attention_case(std::int64_t tokens, std::int64_t heads, std::int64_t ckv, std::int64_t kpe,
                             std::int64_t page_size, std::int64_t topk, std::int64_t pages, float sm_scale) {
  AttentionCase c;
  c.axes = {{"num_tokens", tokens},   {"num_qo_heads", heads}, {"head_dim_ckv", ckv}, {"head_dim_kpe", kpe},
            {"page_size", page_size}, {"topk", topk},          {"num_pages", pages}};
  c.inputs.emplace("q_nope", Tensor(DType::kBFloat16, {tokens, heads, ckv}));
  c.inputs.emplace("q_pe", Tensor(DType::kBFloat16, {tokens, heads, kpe}));
  c.inputs.emplace("ckv_cache", Tensor(DType::kBFloat16, {pages, page_size, ckv}));
  c.inputs.emplace("kpe_cache", Tensor(DType::kBFloat16, {pages, page_size, kpe}));
  Tensor indices(DType::kInt32, {tokens, topk});
  fill(indices, -1);
  c.inputs.emplace("sparse_indices", std::move(indices));
  c.inputs.emplace("sm_scale", Tensor::scalar(sm_scale));
  return c;
}

// 2 heads, ckv dim 4, kpe dim 2, pages of 2 slots, 3 pages (flat slots 0..5), topk 4. Every
// cache entry starts at 7 (kpe 3), so a slot wrongly included would dominate the softmax.
AttentionCase small_attention(std::int64_t tokens, float sm_scale) {
  AttentionCase c = attention_case(tokens, 2, 4, 2, 2, 4, 3, sm_scale);
  fill(c["ckv_cache"], 7.0);
  fill(c["kpe_cache"], 3.0);
  return c;
}

TEST(DsaSparseAttention, OneValidIndexCopiesItsRow) {
  AttentionCase c = small_attention(1, 0.5f);
  set_row(c["sparse_indices"], 0, {-1, 5, -1, -1});  // slot 5 = page 2, offset 1
  set_row(c["ckv_cache"], 5, {1, -2, 0.5, 3});
  set_row(c["kpe_cache"], 5, {1, 1});
  // Head 0: q_nope . ckv = 1 - 2 + 0.5 + 3 = 2.5, q_pe . kpe = 0.5 + 0.5 = 1, logit 3.5 -> 1.75.
  set_row(c["q_nope"], 0, {1, 1, 1, 1});
  set_row(c["q_pe"], 0, {0.5, 0.5});
  // Head 1: 2 * 3 = 6, -1 * 1 = -1, logit 5 -> 2.5.
  set_row(c["q_nope"], 1, {0, 0, 0, 2});
  set_row(c["q_pe"], 1, {-1, 0});
  const TensorMap out = c.run();
  // One key: softmax weight 1, output = that ckv row, lse = scaled logit / ln 2.
  for (std::int64_t h = 0; h < 2; ++h) {
    const std::vector<double> row = {1, -2, 0.5, 3};
    for (std::int64_t i = 0; i < 4; ++i) {
      EXPECT_EQ(out.at("output").get(h * 4 + i), row[static_cast<std::size_t>(i)]);
    }
  }
  EXPECT_EQ(out.at("lse").get(0), static_cast<float>(1.75 / kLn2));
  EXPECT_EQ(out.at("lse").get(1), static_cast<float>(2.5 / kLn2));
}

TEST(DsaSparseAttention, EqualLogitsAverageTheRows) {
  AttentionCase c = small_attention(1, 0.25f);
  set_row(c["sparse_indices"], 0, {0, -1, 3, -1});
  set_row(c["ckv_cache"], 0, {1, 2, 3, 4});
  set_row(c["ckv_cache"], 3, {3, -2, 0, 8});
  set_row(c["kpe_cache"], 0, {2, 5});
  set_row(c["kpe_cache"], 3, {2, -7});
  // q_nope = 0 and q_pe = (1, 0): both logits are 2 -> 0.5; weights 1/2 each.
  set_row(c["q_pe"], 0, {1, 0});
  set_row(c["q_pe"], 1, {1, 0});
  const TensorMap out = c.run();
  const std::vector<double> mean = {2, 0, 1.5, 6};
  for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(out.at("output").get(i), mean[static_cast<std::size_t>(i)]);
  // log2(e^0.5 + e^0.5) = 0.5 / ln 2 + 1.
  EXPECT_FLOAT_EQ(static_cast<float>(out.at("lse").get(0)), static_cast<float>(0.5 / kLn2 + 1.0));
}

TEST(DsaSparseAttention, TwoKeysWithKnownLogits) {
  AttentionCase c = small_attention(1, 1.0f);
  set_row(c["sparse_indices"], 0, {2, 4, -1, -1});
  set_row(c["ckv_cache"], 2, {1, 0, 0, 0});
  set_row(c["ckv_cache"], 4, {0, 1, 0, 0});
  set_row(c["kpe_cache"], 2, {0, 0});
  set_row(c["kpe_cache"], 4, {0, 0});
  // Head 0: q_nope = (0, 1, 0, 0): logits 0 (slot 2) and 1 (slot 4). Weights 1/(1+e), e/(1+e),
  // so the output is (0.268941, 0.731059, 0, 0) rounded to bf16;
  // lse = ln(1 + e) / ln 2 = 1.313262 / 0.693147 = 1.894636.
  set_row(c["q_nope"], 0, {0, 1, 0, 0});
  const TensorMap out = c.run();
  const double p1 = std::exp(1.0) / (1.0 + std::exp(1.0));
  EXPECT_EQ(out.at("output").get(0), bf16_to_float(float_to_bf16(static_cast<float>(1.0 - p1))));
  EXPECT_EQ(out.at("output").get(1), bf16_to_float(float_to_bf16(static_cast<float>(p1))));
  EXPECT_NEAR(out.at("output").get(0), 0.268941, 2e-3);  // bf16 keeps 8 bits
  EXPECT_NEAR(out.at("output").get(1), 0.731059, 3e-3);
  EXPECT_EQ(out.at("output").get(2), 0.0);
  EXPECT_FLOAT_EQ(static_cast<float>(out.at("lse").get(0)),
                  static_cast<float>(std::log1p(std::exp(1.0)) / kLn2));
  EXPECT_NEAR(out.at("lse").get(0), 1.894636, 1e-6);
  // Head 1: q = 0, logits 0 and 0: output (0.5, 0.5, 0, 0), lse = log2(2) = 1.
  EXPECT_EQ(out.at("output").get(4), 0.5);
  EXPECT_EQ(out.at("output").get(5), 0.5);
  EXPECT_EQ(out.at("lse").get(1), 1.0);
}

TEST(DsaSparseAttention, AllPaddingTokenGivesZerosAndNegativeInfinity) {
  AttentionCase c = small_attention(2, 1.0f);
  // Token 0 keeps all -1; token 1 sees slot 1 only.
  set_row(c["sparse_indices"], 1, {-1, -1, -1, 1});
  fill(c["q_nope"], 1.0);
  set_row(c["ckv_cache"], 1, {4, 3, 2, 1});
  set_row(c["kpe_cache"], 1, {0, 0});
  const TensorMap out = c.run();
  for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(out.at("output").get(i), 0.0) << i;
  EXPECT_EQ(out.at("lse").get(0), kNegInf);
  EXPECT_EQ(out.at("lse").get(1), kNegInf);
  // Token 1, both heads: logit 4 + 3 + 2 + 1 = 10, output = slot 1's row.
  EXPECT_EQ(out.at("output").get(8), 4.0);
  EXPECT_EQ(out.at("output").get(15), 1.0);
  EXPECT_EQ(out.at("lse").get(2), static_cast<float>(10.0 / kLn2));
  EXPECT_EQ(out.at("lse").get(3), static_cast<float>(10.0 / kLn2));
}

TEST(DsaSparseAttention, RepeatedIndexCountsTwice) {
  // As torch's gather: [5, 5] is two keys with the same logit, so the output is unchanged and
  // the lse gains log2(2) = 1.
  AttentionCase once = small_attention(1, 0.5f);
  set_row(once["sparse_indices"], 0, {5, -1, -1, -1});
  set_row(once["ckv_cache"], 5, {1, 2, -3, 0.25});
  set_row(once["q_nope"], 0, {1, 0, 0, 0});
  AttentionCase twice = once;
  set_row(twice["sparse_indices"], 0, {5, -1, 5, -1});
  const TensorMap a = once.run(), b = twice.run();
  EXPECT_TRUE(a.at("output").equals(b.at("output")));
  EXPECT_EQ(a.at("output").get(3), 0.25);
  // Head 0: q_nope . ckv = 1 (q_pe = 0), scaled 0.5. Head 1: q = 0, logit 0.
  EXPECT_EQ(a.at("lse").get(0), static_cast<float>(0.5 / kLn2));
  EXPECT_FLOAT_EQ(static_cast<float>(b.at("lse").get(0)), static_cast<float>(0.5 / kLn2 + 1.0));
  EXPECT_EQ(a.at("lse").get(1), 0.0);
  EXPECT_EQ(b.at("lse").get(1), 1.0);
}

// Random non-zero attention inputs: 3 tokens, 4 heads, ckv 8, kpe 4, 5 pages of 4 slots, topk 8.
AttentionCase random_attention(float sm_scale) {
  AttentionCase c = attention_case(3, 4, 8, 4, 4, 8, 5, sm_scale);
  const CounterRng rng(0xD5A);
  for (const char* name : {"q_nope", "q_pe", "ckv_cache", "kpe_cache"}) {
    Tensor& t = c[name];
    const CounterRng stream = rng.derive(name);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, stream.normal(static_cast<std::uint64_t>(i)));
  }
  // Token 0: 8 distinct slots; token 1: 5 slots among padding; token 2: 1 slot.
  set_row(c["sparse_indices"], 0, {19, 0, 7, 3, 12, 8, 4, 15});
  set_row(c["sparse_indices"], 1, {-1, 2, 17, -1, 9, 10, -1, 1});
  set_row(c["sparse_indices"], 2, {-1, -1, -1, -1, -1, -1, 6, -1});
  return c;
}

TEST(DsaSparseAttention, RandomInputsMatchDirectFormula) {
  AttentionCase c = random_attention(0.35f);
  const TensorMap out = c.run();
  const Tensor &qn = c["q_nope"], &qp = c["q_pe"], &ckv = c["ckv_cache"], &kpe = c["kpe_cache"];
  for (std::int64_t t = 0; t < 3; ++t) {
    std::vector<std::int64_t> slots;
    for (std::int64_t j = 0; j < 8; ++j) {
      const auto s = static_cast<std::int64_t>(c["sparse_indices"].get(t * 8 + j));
      if (s >= 0) slots.push_back(s);
    }
    for (std::int64_t h = 0; h < 4; ++h) {
      const std::int64_t th = t * 4 + h;
      // softmax(l) . V with l = 0.35 * (q_nope . ckv + q_pe . kpe), straight from the formula.
      std::vector<double> l;
      for (std::int64_t s : slots) {
        double dot = 0.0;
        for (std::int64_t i = 0; i < 8; ++i) dot += qn.get(th * 8 + i) * ckv.get(s * 8 + i);
        for (std::int64_t i = 0; i < 4; ++i) dot += qp.get(th * 4 + i) * kpe.get(s * 4 + i);
        l.push_back(dot * static_cast<double>(0.35f));
      }
      double z = 0.0;
      for (double v : l) z += std::exp(v);
      EXPECT_NEAR(out.at("lse").get(th), std::log(z) / kLn2, 1e-5 * (1.0 + std::abs(std::log(z))));
      for (std::int64_t i = 0; i < 8; ++i) {
        double o = 0.0;
        for (std::size_t j = 0; j < slots.size(); ++j) o += std::exp(l[j]) / z * ckv.get(slots[j] * 8 + i);
        // bf16 rounding: relative 2^-8, plus slack for values near zero.
        EXPECT_NEAR(out.at("output").get(th * 8 + i), o, std::abs(o) * 0x1p-8 + 1e-6)
            << t << " " << h << " " << i;
      }
    }
  }
}

TEST(DsaSparseAttention, ZeroScaleGivesTheMeanAndLog2OfTheCount) {
  // sm_scale 0: every logit is 0, weights are 1/n, lse = log2(n) whatever q is.
  AttentionCase c = random_attention(0.0f);
  const TensorMap out = c.run();
  const std::vector<std::vector<std::int64_t>> slots = {{19, 0, 7, 3, 12, 8, 4, 15}, {2, 17, 9, 10, 1}, {6}};
  for (std::int64_t t = 0; t < 3; ++t) {
    const auto& s = slots[static_cast<std::size_t>(t)];
    for (std::int64_t h = 0; h < 4; ++h) {
      EXPECT_FLOAT_EQ(static_cast<float>(out.at("lse").get(t * 4 + h)),
                      static_cast<float>(std::log2(static_cast<double>(s.size()))));
      for (std::int64_t i = 0; i < 8; ++i) {
        double mean = 0.0;
        for (std::int64_t slot : s) mean += c["ckv_cache"].get(slot * 8 + i);
        mean /= static_cast<double>(s.size());
        EXPECT_NEAR(out.at("output").get((t * 4 + h) * 8 + i), mean, std::abs(mean) * 0x1p-8 + 1e-6);
      }
    }
  }
}

TEST(DsaSparseAttention, PaddingPlacementAndOrderDoNotMatter) {
  AttentionCase c = random_attention(0.35f);
  AttentionCase moved = c;
  // Token 1's slots {2, 17, 9, 10, 1} reversed with the padding first.
  set_row(moved["sparse_indices"], 1, {-1, -1, -1, 1, 10, 9, 17, 2});
  const TensorMap a = c.run(), b = moved.run();
  for (std::int64_t i = 0; i < a.at("output").numel(); ++i) {
    const double x = a.at("output").get(i);
    EXPECT_NEAR(b.at("output").get(i), x, std::abs(x) * 0x1p-7 + 1e-6);  // one bf16 ulp at most
  }
  for (std::int64_t i = 0; i < 12; ++i) {
    EXPECT_FLOAT_EQ(static_cast<float>(b.at("lse").get(i)), static_cast<float>(a.at("lse").get(i)));
  }
}

TEST(DsaSparseAttention, RejectsIndicesOutsideTheCache) {
  AttentionCase c = small_attention(1, 1.0f);
  set_row(c["sparse_indices"], 0, {0, 6, -1, -1});  // 3 pages of 2 slots: 6 is one past the end
  EXPECT_NE(error_of([&] { c.run(); }).find("sparse_indices[0, 1] = 6"), std::string::npos);
  set_row(c["sparse_indices"], 0, {0, -1, -2, -1});
  EXPECT_NE(error_of([&] { c.run(); }).find("sparse_indices[0, 2] = -2"), std::string::npos);
  set_row(c["sparse_indices"], 0, {0, -1, 5, -1});
  EXPECT_EQ(error_of([&] { c.run(); }), "");
}

TEST(DsaSparseAttention, RejectsAMisshapenInput) {
  AttentionCase c = small_attention(1, 1.0f);
  c.inputs.at("q_pe") = Tensor(DType::kBFloat16, {1, 2, 3});
  EXPECT_NE(error_of([&] { c.run(); }).find("'q_pe'"), std::string::npos);
}

// ---------------------------------------------------------------- top-k indexer

struct IndexerCase {
  Axes axes;
  TensorMap inputs;
  Tensor& operator[](const std::string& name) { return inputs.at(name); }
  TensorMap run() const { return dsa_topk_indexer(axes, inputs); }
  std::vector<double> scores(std::int64_t row) const { return dsa_indexer_token_scores(axes, inputs, row); }
  std::vector<std::int32_t> ids(std::int64_t row) const {
    const TensorMap out = run();
    const Tensor& t = out.at("topk_indices");
    const std::int64_t topk = t.dim(1);
    std::vector<std::int32_t> v;
    for (std::int64_t i = 0; i < topk; ++i) v.push_back(static_cast<std::int32_t>(t.get(row * topk + i)));
    return v;
  }
};

// Zero inputs, seq_lens 0, block_table 0.
IndexerCase indexer_case(std::int64_t batch, std::int64_t heads, std::int64_t dim, std::int64_t page_size,
                         std::int64_t topk, std::int64_t max_pages, std::int64_t pages) {
  IndexerCase c;
  c.axes = {{"batch_size", batch},
            {"num_index_heads", heads},
            {"index_head_dim", dim},
            {"page_size", page_size},
            {"topk", topk},
            {"max_num_pages", max_pages},
            {"num_pages", pages},
            {"kv_cache_num_heads", 1},
            {"head_dim_with_scale", dim + 4}};
  c.inputs.emplace("q_index_fp8", Tensor(DType::kFloat8E4M3FN, {batch, heads, dim}));
  c.inputs.emplace("k_index_cache_fp8", Tensor(DType::kInt8, {pages, page_size, 1, dim + 4}));
  c.inputs.emplace("weights", Tensor(DType::kFloat32, {batch, heads}));
  c.inputs.emplace("seq_lens", Tensor(DType::kInt32, {batch}));
  c.inputs.emplace("block_table", Tensor(DType::kInt32, {batch, max_pages}));
  return c;
}

// Stores one token's key in the deep_gemm page layout: its fp8 values at slot * dim within the
// page's value block, its float32 scale at slot * 4 within the scale block that follows.
void put_key(IndexerCase& c, std::int64_t page, std::int64_t slot, const std::vector<float>& values,
             float scale) {
  const std::int64_t page_size = c.axes.at("page_size"), dim = c.axes.at("index_head_dim");
  auto bytes = c["k_index_cache_fp8"].bytes();
  std::byte* base = bytes.data() + page * page_size * (dim + 4);
  for (std::int64_t d = 0; d < dim; ++d) {
    const float v = d < static_cast<std::int64_t>(values.size()) ? values[static_cast<std::size_t>(d)] : 0.0f;
    base[slot * dim + d] = std::byte{float_to_fp8e4m3(v).bits};
  }
  std::memcpy(base + page_size * dim + slot * 4, &scale, 4);
}

// The hand case: 2 heads of dim 4, pages of 4 slots, 4 pages, one row of 6 tokens stored on
// block_table [3, 1] (logical 0..3 -> page 3 slots 0..3 = ids 12..15; 4, 5 -> page 1 = ids 4, 5).
// q head 0 reads k[0], head 1 reads k[1]; weights (1, 0.5). Keys (k[0], k[1]) and scores:
//   t0 (2, 0) -> 2      t1 (1, 4) -> 1 + 2 = 3      t2 (-4, 2) -> relu(-4) + 1 = 1
//   t3 (0.5, 0) -> 0.5  t4 (3, 1) -> 3 + 0.5 = 3.5  t5 (0, 0) -> 0
// Pages 0 and 2 hold decoys with big keys that no row references.
IndexerCase hand_indexer(std::int64_t topk) {
  IndexerCase c = indexer_case(1, 2, 4, 4, topk, 2, 4);
  set_row(c["q_index_fp8"], 0, {1, 0, 0, 0, 0, 1, 0, 0});
  set_row(c["weights"], 0, {1, 0.5});
  set_row(c["seq_lens"], 0, {6});
  set_row(c["block_table"], 0, {3, 1});
  const std::vector<std::vector<float>> keys = {{2, 0}, {1, 4}, {-4, 2}, {0.5f, 0}, {3, 1}, {0, 0}};
  for (std::int64_t t = 0; t < 6; ++t) {
    put_key(c, t < 4 ? 3 : 1, t % 4, keys[static_cast<std::size_t>(t)], 1.0f);
  }
  for (std::int64_t slot = 0; slot < 4; ++slot) {
    put_key(c, 0, slot, {8, 8}, 100.0f);
    put_key(c, 2, slot, {8, 8}, 100.0f);
  }
  put_key(c, 1, 2, {8, 8}, 100.0f);  // slot after the row's last token on its last page
  return c;
}

TEST(DsaTopkIndexer, HandCaseScores) {
  const IndexerCase c = hand_indexer(8);
  EXPECT_EQ(c.scores(0), (std::vector<double>{2, 3, 1, 0.5, 3.5, 0}));
}

TEST(DsaTopkIndexer, HandCaseOrderThroughPermutedBlockTable) {
  // Order t4, t1, t0, t2, t3, t5 as global ids; topk 8 > 6 tokens pads with -1. Without the
  // relu t2 would score -3 and come last.
  EXPECT_EQ(hand_indexer(8).ids(0), (std::vector<std::int32_t>{4, 13, 12, 14, 15, 5, -1, -1}));
}

TEST(DsaTopkIndexer, TopkShorterThanSequenceKeepsTheBest) {
  EXPECT_EQ(hand_indexer(3).ids(0), (std::vector<std::int32_t>{4, 13, 12}));
}

TEST(DsaTopkIndexer, NegativeWeightFlipsTheOrderAndTiesGoToTheLowerPosition) {
  IndexerCase c = hand_indexer(8);
  set_row(c["weights"], 0, {-1, 0.5});
  // Scores: t0 -2, t1 -1 + 2 = 1, t2 0 + 1 = 1, t3 -0.5, t4 -3 + 0.5 = -2.5, t5 0.
  EXPECT_EQ(c.scores(0), (std::vector<double>{-2, 1, 1, -0.5, -2.5, 0}));
  // t1 and t2 tie at 1: the lower logical position (t1) first. Then t5, t3, t0, t4.
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{13, 14, 5, 15, 12, 4, -1, -1}));
}

TEST(DsaTopkIndexer, AllTiedScoresKeepLogicalOrder) {
  IndexerCase c = hand_indexer(8);
  fill(c["q_index_fp8"], 0.0);  // every score 0
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{12, 13, 14, 15, 4, 5, -1, -1}));
}

TEST(DsaTopkIndexer, NanScoreRanksFirstAsInTorchTopk) {
  // A NaN scale on t3 (page 3, slot 3) makes its dots and score NaN (relu keeps NaN, as
  // torch.relu); torch.topk orders NaN above every number.
  IndexerCase c = hand_indexer(8);
  put_key(c, 3, 3, {0.5f, 0}, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(c.scores(0)[3]));
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{15, 4, 13, 12, 14, 5, -1, -1}));
}

TEST(DsaTopkIndexer, EmptyRowIsAllPaddingAndRowsAreIndependent) {
  // Row 0 as the hand case; row 1 has seq_len 0, so its block_table (even 99, not a page) is
  // never read and its ids stay -1. Row 2: 2 tokens on page 1 with head 1 only.
  IndexerCase c = indexer_case(3, 2, 4, 4, 8, 2, 4);
  const IndexerCase hand = hand_indexer(8);
  c["k_index_cache_fp8"] = hand.inputs.at("k_index_cache_fp8");
  set_row(c["q_index_fp8"], 0, {1, 0, 0, 0, 0, 1, 0, 0});
  set_row(c["weights"], 0, {1, 0.5});
  set_row(c["seq_lens"], 0, {6, 0, 2});
  set_row(c["block_table"], 0, {3, 1, 99, 99, 1, 0});
  set_row(c["q_index_fp8"], 2, {0, 0, 0, 0, 0, 1, 0, 0});
  set_row(c["weights"], 2, {1, 1});
  // Row 2 reads page 1 slots 0, 1 (logical t4, t5 of the hand case): k[1] = 1 and 0.
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{4, 13, 12, 14, 15, 5, -1, -1}));
  EXPECT_EQ(c.ids(1), (std::vector<std::int32_t>(8, -1)));
  EXPECT_EQ(c.ids(2), (std::vector<std::int32_t>{4, 5, -1, -1, -1, -1, -1, -1}));
  EXPECT_TRUE(c.scores(1).empty());
  EXPECT_EQ(c.scores(2), (std::vector<double>{1, 0}));
}

TEST(DsaTopkIndexer, CachePackingByteByByte) {
  // 1 head of dim 4, pages of 2 slots: a page is 2 * (4 + 4) = 16 bytes = fp8 of slot 0 (bytes
  // 0-3), fp8 of slot 1 (4-7), scale of slot 0 (8-11), scale of slot 1 (12-15); the [.., 8]
  // rows of the tensor are not per-token. The row reads page 1 (bytes 16-31); page 0 is noise.
  IndexerCase c = indexer_case(1, 1, 4, 2, 2, 1, 2);
  auto bytes = c["k_index_cache_fp8"].bytes();
  for (std::size_t i = 0; i < 16; ++i) bytes[i] = std::byte{0x38};
  const unsigned char page1[16] = {
      0x38, 0x40, 0xB8, 0x30,  // slot 0 fp8: 1, 2, -1, 0.5
      0x3C, 0x00, 0x00, 0x44,  // slot 1 fp8: 1.5, 0, 0, 3
      0x00, 0x00, 0x80, 0x3E,  // slot 0 scale: 0.25f little-endian
      0x00, 0x00, 0x00, 0x40,  // slot 1 scale: 2.0f
  };
  for (std::size_t i = 0; i < 16; ++i) bytes[16 + i] = std::byte{page1[i]};
  const unsigned char q[4] = {0x38, 0x40, 0x48, 0x50};  // 1, 2, 4, 8
  auto q_bytes = c["q_index_fp8"].bytes();
  for (std::size_t i = 0; i < 4; ++i) q_bytes[i] = std::byte{q[i]};
  set_row(c["weights"], 0, {1});
  set_row(c["seq_lens"], 0, {2});
  set_row(c["block_table"], 0, {1});
  // Slot 0: K = 0.25 * (1, 2, -1, 0.5) = (0.25, 0.5, -0.25, 0.125); q . K = 0.25 + 1 - 1 + 1 = 1.25.
  // Slot 1: K = 2 * (1.5, 0, 0, 3) = (3, 0, 0, 6); q . K = 3 + 48 = 51.
  EXPECT_EQ(c.scores(0), (std::vector<double>{1.25, 51}));
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{3, 2}));  // page 1: ids 2 (slot 0) and 3 (slot 1)
}

TEST(DsaTopkIndexer, DequantisesInFloat32) {
  // fp8 1.125 (0x39) times scale 0.1f is rounded once to float32 before the dot product, as
  // torch's fp8_float * scale; the exact double product differs.
  IndexerCase c = indexer_case(1, 1, 4, 1, 1, 1, 1);
  put_key(c, 0, 0, {1.125f}, 0.1f);
  set_row(c["q_index_fp8"], 0, {1, 0, 0, 0});
  set_row(c["weights"], 0, {1});
  set_row(c["seq_lens"], 0, {1});
  const double rounded = 1.125f * 0.1f;
  ASSERT_NE(rounded, 1.125 * static_cast<double>(0.1f));
  EXPECT_EQ(c.scores(0), std::vector<double>{rounded});
}

// Random non-zero inputs: 3 rows, 4 heads of dim 8, pages of 4 slots, 6 pages, topk 8, rows of
// 13, 5 and 16 tokens on distinct pages in shuffled order.
IndexerCase random_indexer() {
  IndexerCase c = indexer_case(3, 4, 8, 4, 8, 4, 6);
  const CounterRng rng(0x1DE);
  const CounterRng q = rng.derive("q"), w = rng.derive("w"), k = rng.derive("k"), s = rng.derive("scale"),
                   pages = rng.derive("pages");
  for (std::int64_t i = 0; i < 3 * 4 * 8; ++i) {
    c["q_index_fp8"].set(i, std::clamp(q.normal(static_cast<std::uint64_t>(i)), -2.0, 2.0));
  }
  for (std::int64_t i = 0; i < 3 * 4; ++i) c["weights"].set(i, w.normal(static_cast<std::uint64_t>(i)));
  for (std::int64_t p = 0; p < 6; ++p) {
    for (std::int64_t slot = 0; slot < 4; ++slot) {
      std::vector<float> key(8);
      for (std::int64_t d = 0; d < 8; ++d) {
        key[static_cast<std::size_t>(d)] = static_cast<float>(
            std::clamp(k.normal(static_cast<std::uint64_t>((p * 4 + slot) * 8 + d)), -2.0, 2.0));
      }
      put_key(c, p, slot, key,
              static_cast<float>(s.uniform(static_cast<std::uint64_t>(p * 4 + slot)) + 0.01));
    }
  }
  set_row(c["seq_lens"], 0, {13, 5, 16});
  for (std::int64_t row = 0; row < 3; ++row) {
    std::vector<std::int32_t> perm = {0, 1, 2, 3, 4, 5};
    for (std::size_t i = perm.size() - 1; i > 0; --i) {
      const auto j =
          pages.integer(static_cast<std::uint64_t>(row * 8) + i, 0, static_cast<std::int64_t>(i) + 1);
      std::swap(perm[i], perm[static_cast<std::size_t>(j)]);
    }
    for (std::int64_t p = 0; p < 4; ++p) c["block_table"].set(row * 4 + p, perm[static_cast<std::size_t>(p)]);
  }
  return c;
}

TEST(DsaTopkIndexer, RandomScoresMatchDirectFormula) {
  IndexerCase c = random_indexer();
  const auto cache = c["k_index_cache_fp8"].bytes();
  for (std::int64_t row = 0; row < 3; ++row) {
    const auto seq_len = static_cast<std::int64_t>(c["seq_lens"].get(row));
    const std::vector<double> scores = c.scores(row);
    ASSERT_EQ(static_cast<std::int64_t>(scores.size()), seq_len);
    for (std::int64_t t = 0; t < seq_len; ++t) {
      const auto page = static_cast<std::int64_t>(c["block_table"].get(row * 4 + t / 4));
      const std::int64_t slot = t % 4;
      float scale;
      std::memcpy(&scale, cache.data() + page * 48 + 32 + slot * 4, 4);
      double expected = 0.0;
      for (std::int64_t h = 0; h < 4; ++h) {
        double dot = 0.0;
        for (std::int64_t d = 0; d < 8; ++d) {
          const Fp8E4M3 code{
              std::to_integer<std::uint8_t>(cache[static_cast<std::size_t>(page * 48 + slot * 8 + d)])};
          dot += c["q_index_fp8"].get((row * 4 + h) * 8 + d) *
                 static_cast<double>(fp8e4m3_to_float(code) * scale);
        }
        expected += std::max(dot, 0.0) * c["weights"].get(row * 4 + h);
      }
      EXPECT_NEAR(scores[static_cast<std::size_t>(t)], expected, 1e-12 * (1.0 + std::abs(expected)));
    }
  }
}

TEST(DsaTopkIndexer, RandomSelectionIsTheTopOfTheScores) {
  IndexerCase c = random_indexer();
  for (std::int64_t row = 0; row < 3; ++row) {
    const std::vector<double> scores = c.scores(row);
    const auto seq_len = static_cast<std::int64_t>(scores.size());
    const std::vector<std::int32_t> ids = c.ids(row);
    // Global id -> logical position through this row's pages.
    std::vector<std::int64_t> chosen;
    for (std::int32_t id : ids) {
      if (id == -1) continue;
      std::int64_t logical = -1;
      for (std::int64_t p = 0; p < 4; ++p) {
        if (static_cast<std::int64_t>(c["block_table"].get(row * 4 + p)) == id / 4) logical = p * 4 + id % 4;
      }
      ASSERT_GE(logical, 0) << "id " << id << " is not on a page of row " << row;
      ASSERT_LT(logical, seq_len);
      chosen.push_back(logical);
    }
    const std::int64_t k = std::min<std::int64_t>(8, seq_len);
    ASSERT_EQ(static_cast<std::int64_t>(chosen.size()), k);
    for (std::int64_t i = 0; i < k; ++i) EXPECT_NE(ids[static_cast<std::size_t>(i)], -1);  // valid ids first
    EXPECT_EQ(std::set<std::int64_t>(chosen.begin(), chosen.end()).size(), chosen.size());
    // Strictly by (score descending, position ascending): relu makes exact 0 ties likely.
    const auto before = [&](std::int64_t a, std::int64_t b) {
      const double sa = scores[static_cast<std::size_t>(a)], sb = scores[static_cast<std::size_t>(b)];
      return sa > sb || (sa == sb && a < b);
    };
    for (std::size_t i = 1; i < chosen.size(); ++i) EXPECT_TRUE(before(chosen[i - 1], chosen[i])) << i;
    // The last one chosen ranks before every token left out.
    for (std::int64_t t = 0; t < seq_len; ++t) {
      if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) {
        EXPECT_TRUE(before(chosen.back(), t)) << t;
      }
    }
  }
}

TEST(DsaTopkIndexer, RejectsSequenceLongerThanItsPages) {
  IndexerCase c = hand_indexer(8);
  set_row(c["seq_lens"], 0, {9});  // 2 pages of 4 slots
  EXPECT_NE(error_of([&] { c.run(); }).find("seq_lens[0] = 9"), std::string::npos);
  EXPECT_NE(error_of([&] { c.scores(0); }).find("seq_lens[0] = 9"), std::string::npos);
  set_row(c["seq_lens"], 0, {-1});
  EXPECT_NE(error_of([&] { c.run(); }).find("seq_lens[0] = -1"), std::string::npos);
  set_row(c["seq_lens"], 0, {8});
  EXPECT_EQ(error_of([&] { c.run(); }), "");
}

TEST(DsaTopkIndexer, RejectsAnUsedBlockTableEntryOutsideTheCache) {
  IndexerCase c = hand_indexer(8);
  set_row(c["block_table"], 0, {3, 4});  // 4 pages: 4 is one past the end
  EXPECT_NE(error_of([&] { c.run(); }).find("block_table[0, 1] = 4"), std::string::npos);
  set_row(c["block_table"], 0, {-1, 1});
  EXPECT_NE(error_of([&] { c.run(); }).find("block_table[0, 0] = -1"), std::string::npos);
  // With 4 tokens only the first entry is used, so the second may hold anything.
  set_row(c["seq_lens"], 0, {4});
  set_row(c["block_table"], 0, {3, -1});
  EXPECT_EQ(c.ids(0), (std::vector<std::int32_t>{13, 12, 14, 15, -1, -1, -1, -1}));
}

TEST(DsaTopkIndexer, RejectsScoreRowOutsideTheBatch) {
  const IndexerCase c = hand_indexer(8);
  EXPECT_NE(error_of([&] { c.scores(1); }).find("score row 1"), std::string::npos);
}

}  // namespace
}  // namespace kforge::ref
