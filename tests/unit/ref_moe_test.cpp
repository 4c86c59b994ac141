// Tests of the moe_fp8_block_scale oracle: DeepSeek-V3 routing by hand, a hand-computed tiny
// expert, layout and SwiGLU-order traps, local-expert windowing, and input validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ref/oracles.h"

namespace kforge {
namespace {

constexpr std::int64_t kTopK = ref::MoeRouting::kTopK;
constexpr char kName[] = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

struct Dims {
  std::int64_t tokens, experts, local_experts, hidden, inter, block;
};

Axes make_axes(const Dims& d) {
  return {{"seq_len", d.tokens},
          {"num_experts", d.experts},
          {"num_local_experts", d.local_experts},
          {"hidden_size", d.hidden},
          {"intermediate_size", d.inter},
          {"gemm1_out_size", 2 * d.inter},
          {"num_hidden_blocks", d.hidden / d.block},
          {"num_intermediate_blocks", d.inter / d.block},
          {"num_gemm1_out_blocks", 2 * d.inter / d.block}};
}

// Every input at its definition shape, zero-filled; the scalars as given.
TensorMap zero_inputs(const Axes& ax, std::int32_t offset, float scaling) {
  const std::int64_t T = ax.at("seq_len"), E = ax.at("num_experts"), L = ax.at("num_local_experts");
  const std::int64_t H = ax.at("hidden_size"), I = ax.at("intermediate_size"), N = ax.at("gemm1_out_size");
  const std::int64_t hb = ax.at("num_hidden_blocks"), ib = ax.at("num_intermediate_blocks");
  const std::int64_t nb = ax.at("num_gemm1_out_blocks");
  TensorMap in;
  in.emplace("routing_logits", Tensor(DType::kFloat32, {T, E}));
  in.emplace("routing_bias", Tensor(DType::kBFloat16, {E}));
  in.emplace("hidden_states", Tensor(DType::kFloat8E4M3FN, {T, H}));
  in.emplace("hidden_states_scale", Tensor(DType::kFloat32, {hb, T}));
  in.emplace("gemm1_weights", Tensor(DType::kFloat8E4M3FN, {L, N, H}));
  in.emplace("gemm1_weights_scale", Tensor(DType::kFloat32, {L, nb, hb}));
  in.emplace("gemm2_weights", Tensor(DType::kFloat8E4M3FN, {L, H, I}));
  in.emplace("gemm2_weights_scale", Tensor(DType::kFloat32, {L, hb, ib}));
  in.emplace("local_expert_offset", Tensor::scalar<std::int32_t>(offset));
  in.emplace("routed_scaling_factor", Tensor::scalar<float>(scaling));
  return in;
}

// Non-zero random data everywhere: N(0,1) fp8 values and logits, scales in [0.25, 2), a small
// bias. The stream for each tensor depends only on the key and the tensor's name.
void fill_random(TensorMap& in, std::uint64_t key) {
  const CounterRng root(key);
  const auto fill = [&](const std::string& name,
                        const std::function<double(const CounterRng&, std::uint64_t)>& f) {
    Tensor& t = in.at(name);
    const CounterRng rng = root.derive(name);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, f(rng, static_cast<std::uint64_t>(i)));
  };
  const auto normal = [](const CounterRng& r, std::uint64_t i) { return r.normal(i); };
  const auto scale = [](const CounterRng& r, std::uint64_t i) { return 0.25 + 1.75 * r.uniform(i); };
  fill("routing_logits", normal);
  fill("routing_bias", [](const CounterRng& r, std::uint64_t i) { return 0.1 * r.normal(i); });
  for (const char* name : {"hidden_states", "gemm1_weights", "gemm2_weights"}) fill(name, normal);
  for (const char* name : {"hidden_states_scale", "gemm1_weights_scale", "gemm2_weights_scale"})
    fill(name, scale);
}

void set_logits(TensorMap& in, std::int64_t token, const std::vector<float>& logits) {
  Tensor& t = in.at("routing_logits");
  for (std::size_t e = 0; e < logits.size(); ++e)
    t.set(token * t.dim(1) + static_cast<std::int64_t>(e), logits[e]);
}

std::vector<std::int32_t> ids_of(const ref::MoeRouting& r, std::int64_t token) {
  const auto first = r.topk_ids.begin() + token * kTopK;
  return {first, first + kTopK};
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The mistakes the layout and SwiGLU tests must be able to tell apart from the reference.
struct Variant {
  bool scale_token_major = false;  // reads hidden_states_scale as [T, blocks]
  bool gate_first = false;         // treats the first half of GEMM1 as the gate
};

// The reference transcribed element by element (through Tensor::get), rounding to float where
// the reference holds float32 tensors; routing comes from ref::moe_ds_routing (tested on its own).
// Returns the float32 accumulator before the final cast to bf16.
std::vector<float> model_output(const Axes& ax, const TensorMap& in, Variant v = {}) {
  const std::int64_t T = ax.at("seq_len"), E = ax.at("num_experts"), L = ax.at("num_local_experts");
  const std::int64_t H = ax.at("hidden_size"), I = ax.at("intermediate_size"), N = 2 * I;
  const std::int64_t hb = ax.at("num_hidden_blocks"), ib = ax.at("num_intermediate_blocks");
  const std::int64_t blk = H / hb;
  const Tensor &x = in.at("hidden_states"), &xs = in.at("hidden_states_scale");
  const Tensor &w1 = in.at("gemm1_weights"), &s1 = in.at("gemm1_weights_scale");
  const Tensor &w2 = in.at("gemm2_weights"), &s2 = in.at("gemm2_weights_scale");
  const auto offset = static_cast<std::int64_t>(in.at("local_expert_offset").get(0));
  const auto f = [](double d) { return static_cast<float>(d); };
  const ref::MoeRouting routing = ref::moe_ds_routing(ax, in);

  std::vector<float> out(static_cast<std::size_t>(T * H), 0.0f);
  for (std::int64_t le = 0; le < L; ++le) {
    const std::int64_t ge = offset + le;
    if (ge < 0 || ge >= E) continue;
    for (std::int64_t t = 0; t < T; ++t) {
      const std::vector<std::int32_t> ids = ids_of(routing, t);
      const auto hit = std::find(ids.begin(), ids.end(), ge);
      if (hit == ids.end()) continue;
      const float w = routing.topk_weights[static_cast<std::size_t>(t * kTopK + (hit - ids.begin()))];
      std::vector<float> a(static_cast<std::size_t>(H)), g1(static_cast<std::size_t>(N));
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t si = v.scale_token_major ? t * hb + h / blk : (h / blk) * T + t;
        a[static_cast<std::size_t>(h)] = f(x.get(t * H + h)) * f(xs.get(si));
      }
      for (std::int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (std::int64_t h = 0; h < H; ++h) {
          const float wv =
              f(w1.get((le * N + n) * H + h)) * f(s1.get((le * (N / blk) + n / blk) * hb + h / blk));
          acc += static_cast<double>(a[static_cast<std::size_t>(h)]) * wv;
        }
        g1[static_cast<std::size_t>(n)] = f(acc);
      }
      std::vector<float> c(static_cast<std::size_t>(I));
      for (std::int64_t i = 0; i < I; ++i) {
        float x1 = g1[static_cast<std::size_t>(i)], x2 = g1[static_cast<std::size_t>(I + i)];
        if (v.gate_first) std::swap(x1, x2);
        c[static_cast<std::size_t>(i)] = x2 / (1.0f + std::exp(-x2)) * x1;
      }
      for (std::int64_t h = 0; h < H; ++h) {
        double acc = 0;
        for (std::int64_t i = 0; i < I; ++i) {
          const float wv = f(w2.get((le * H + h) * I + i)) * f(s2.get((le * hb + h / blk) * ib + i / blk));
          acc += static_cast<double>(c[static_cast<std::size_t>(i)]) * wv;
        }
        out[static_cast<std::size_t>(t * H + h)] += f(acc) * w;
      }
    }
  }
  return out;
}

// Largest |oracle - model| over the elements, relative to bf16 rounding of the model value plus
// a floor of 1e-5 times the row's largest magnitude (so cancellation in a sum cannot fail it).
// Below 1 means the oracle equals the model up to bf16 output precision.
double worst_error(const Tensor& output, const std::vector<float>& model, std::int64_t hidden) {
  double worst = 0;
  for (std::size_t row = 0; row * static_cast<std::size_t>(hidden) < model.size(); ++row) {
    const auto first = model.begin() + static_cast<std::ptrdiff_t>(row) * hidden;
    double row_max = 0;
    for (auto it = first; it != first + hidden; ++it)
      row_max = std::max(row_max, std::abs(static_cast<double>(*it)));
    for (std::int64_t h = 0; h < hidden; ++h) {
      const std::int64_t i = static_cast<std::int64_t>(row) * hidden + h;
      const double m = model[static_cast<std::size_t>(i)];
      const double tolerance = std::abs(m) * 0x1p-8 + row_max * 1e-5 + 1e-30;
      worst = std::max(worst, std::abs(output.get(i) - m) / tolerance);
    }
  }
  return worst;
}

ref::MoeRouting route(const TensorMap& in, std::int64_t tokens, std::int64_t experts) {
  return ref::moe_ds_routing({{"seq_len", tokens}, {"num_experts", experts}}, in);
}

TensorMap routing_inputs(std::int64_t tokens, std::int64_t experts, float scaling, float logit) {
  TensorMap in;
  Tensor logits(DType::kFloat32, {tokens, experts});
  for (std::int64_t i = 0; i < logits.numel(); ++i) logits.set(i, logit);
  in.emplace("routing_logits", std::move(logits));
  in.emplace("routing_bias", Tensor(DType::kBFloat16, {experts}));
  in.emplace("routed_scaling_factor", Tensor::scalar<float>(scaling));
  return in;
}

const Tensor& run_output(const TensorMap& result) { return result.at("output"); }

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no Error thrown; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- routing ----

TEST(MoeRouting, GroupScoreIsTopTwoSumSoOneHighExpertLosesItsGroup) {
  // 64 experts, groups of 8. Group 0 holds the single best expert (s=0.98) but its group score
  // is 0.98 + 0.018; groups 1..4 each hold two s=0.62 experts (score 1.24), so they win and the
  // globally best expert 3 is never picked.
  TensorMap in = routing_inputs(1, 64, 2.5f, -4.0f);
  std::vector<float> logits(64, -4.0f);
  logits[3] = 4.0f;
  for (int g = 1; g <= 4; ++g)
    logits[static_cast<std::size_t>(8 * g + 1)] = logits[static_cast<std::size_t>(8 * g + 5)] = 0.5f;
  set_logits(in, 0, logits);
  const ref::MoeRouting r = route(in, 1, 64);
  EXPECT_EQ(ids_of(r, 0), (std::vector<std::int32_t>{9, 13, 17, 21, 25, 29, 33, 37}));
  // Eight equal scores: each weight is exactly 1/8 of the scaling factor.
  for (float w : r.topk_weights) EXPECT_EQ(w, 0.3125f);
}

TEST(MoeRouting, BiasSelectsGroupsAndExpertsButNotWeights) {
  // Token 0: all s = 0.5. Bias 0.25 on expert 56 and 1 on 57 lifts group 7 above the tied
  // groups, of which the lowest (0, 1, 2) are kept; 57, 56 rank first, then the lowest ids.
  // Token 1: expert 57's logit is -1 (s = 0.27), but the bias still ranks it first; its weight
  // uses s without the bias.
  TensorMap in = routing_inputs(2, 64, 2.5f, 0.0f);
  in.at("routing_bias").set(56, 0.25);
  in.at("routing_bias").set(57, 1.0);
  std::vector<float> logits(64, 0.0f);
  logits[57] = -1.0f;
  set_logits(in, 1, logits);
  const ref::MoeRouting r = route(in, 2, 64);
  EXPECT_EQ(ids_of(r, 0), (std::vector<std::int32_t>{57, 56, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ids_of(r, 1), (std::vector<std::int32_t>{57, 56, 0, 1, 2, 3, 4, 5}));
  for (int k = 0; k < 8; ++k) EXPECT_FLOAT_EQ(r.topk_weights[static_cast<std::size_t>(k)], 2.5f / 8);
  const float s57 = sigmoid(-1.0f), sum = s57 + 7 * 0.5f;
  EXPECT_FLOAT_EQ(r.topk_weights[8], s57 / sum * 2.5f);
  for (int k = 1; k < 8; ++k)
    EXPECT_FLOAT_EQ(r.topk_weights[static_cast<std::size_t>(8 + k)], 0.5f / sum * 2.5f);
  // Without the bias, all ties: groups 0..3, experts 0..7.
  TensorMap plain = routing_inputs(1, 64, 2.5f, 0.0f);
  EXPECT_EQ(ids_of(route(plain, 1, 64), 0), (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(MoeRouting, WeightsAreNormalizedSigmoidTimesScalingFactor) {
  // 16 experts, groups of 2: bias 1 on groups 1, 3, 5, 7 makes them the kept groups whatever
  // the logits (s < 1), and with 4 groups x 2 experts all 8 kept experts are picked, ordered
  // by s (logits rise with the id).
  const float scaling = 2.5f;
  TensorMap in = routing_inputs(1, 16, scaling, 0.0f);
  std::vector<float> logits(16);
  for (std::size_t e = 0; e < 16; ++e) logits[e] = 0.3f * static_cast<float>(e) - 2.0f;
  set_logits(in, 0, logits);
  const std::vector<std::int32_t> kept{15, 14, 11, 10, 7, 6, 3, 2};
  for (std::int32_t e : kept) in.at("routing_bias").set(e, 1.0);
  const ref::MoeRouting r = route(in, 1, 16);
  ASSERT_EQ(ids_of(r, 0), kept);
  double sum_s = 0;
  for (std::int32_t e : kept) sum_s += sigmoid(logits[static_cast<std::size_t>(e)]);
  double total = 0;
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const float s = sigmoid(logits[static_cast<std::size_t>(kept[k])]);
    EXPECT_FLOAT_EQ(r.topk_weights[k], s / static_cast<float>(sum_s) * scaling) << "slot " << k;
    total += r.topk_weights[k];
  }
  EXPECT_NEAR(total, scaling, 1e-6);
}

TEST(MoeRouting, NanScoreRanksFirstAsInTorchTopk) {
  TensorMap in = routing_inputs(1, 16, 1.0f, 0.0f);
  in.at("routing_logits").set(5, std::nan(""));
  const ref::MoeRouting r = route(in, 1, 16);
  EXPECT_EQ(ids_of(r, 0), (std::vector<std::int32_t>{5, 0, 1, 2, 3, 4, 6, 7}));
  EXPECT_TRUE(std::isnan(r.topk_weights[0]));
}

// ---- full computation ----

TEST(MoeOracle, HandComputedExpertWithSecondHalfAsGate) {
  // One token, one local expert (global 0), block 2. All logits 0: experts 0..7 picked, each
  // with weight scaling/8 = 1.
  const Axes ax = make_axes({1, 16, 1, 2, 2, 2});
  TensorMap in = zero_inputs(ax, 0, 8.0f);
  // A = [1, 2] * 0.5 = [0.5, 1].
  in.at("hidden_states").set(0, 1.0);
  in.at("hidden_states").set(1, 2.0);
  in.at("hidden_states_scale").set(0, 0.5);
  // W13 rows [1,0], [0,1] (scale 1) give X1 = [0.5, 1]; rows [1,0], [0,2] (scale 2) give X2 = [1, 4].
  const std::vector<double> w13{1, 0, 0, 1, 1, 0, 0, 2};
  for (std::size_t i = 0; i < w13.size(); ++i)
    in.at("gemm1_weights").set(static_cast<std::int64_t>(i), w13[i]);
  in.at("gemm1_weights_scale").set(0, 1.0);
  in.at("gemm1_weights_scale").set(1, 2.0);
  // W2 rows [1,0], [1,1]: O = [C0, C0 + C1].
  const std::vector<double> w2{1, 0, 1, 1};
  for (std::size_t i = 0; i < w2.size(); ++i) in.at("gemm2_weights").set(static_cast<std::int64_t>(i), w2[i]);
  in.at("gemm2_weights_scale").set(0, 1.0);

  const auto silu = [](float v) { return v / (1.0f + std::exp(-v)); };
  const float c0 = silu(1.0f) * 0.5f, c1 = silu(4.0f) * 1.0f;
  const float o0 = c0, o1 = static_cast<float>(static_cast<double>(c0) + c1);
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  ASSERT_EQ(out.shape(), (Shape{1, 2}));
  EXPECT_EQ(out.data<Bf16>()[0].bits, float_to_bf16(o0).bits);
  EXPECT_EQ(out.data<Bf16>()[1].bits, float_to_bf16(o1).bits);
  EXPECT_NEAR(out.get(1), 4.2936, 0.02);
  // Gate on the first half would give [silu(0.5)*1, silu(0.5)*1 + silu(1)*4] = [0.31, 3.23].
  const float swapped1 = silu(0.5f) + silu(1.0f) * 4.0f;
  EXPECT_GT(std::abs(out.get(1) - swapped1), 0.5);
}

TEST(MoeOracle, MatchesModelOnScaledShapes) {
  // 64 experts, 4 local (global 8..11 = group 1), hidden 256, intermediate 128, block 128.
  const Axes ax = make_axes({6, 64, 4, 256, 128, 128});
  TensorMap in = zero_inputs(ax, 8, 2.5f);
  fill_random(in, 1);
  // Tokens 0, 2, 4 favour the local experts (all four picked); 1, 3, 5 keep random routing.
  for (std::int64_t t = 0; t < 6; t += 2) {
    for (std::int64_t e = 8; e < 12; ++e) in.at("routing_logits").set(t * 64 + e, 6.0);
  }
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  ASSERT_EQ(out.shape(), (Shape{6, 256}));
  const std::vector<float> model = model_output(ax, in);
  EXPECT_LT(worst_error(out, model, 256), 1.0);
  const ref::MoeRouting routing = ref::moe_ds_routing(ax, in);
  for (std::int64_t t = 0; t < 6; t += 2) {
    const std::vector<std::int32_t> ids = ids_of(routing, t);
    for (std::int32_t e = 8; e < 12; ++e) EXPECT_NE(std::find(ids.begin(), ids.end(), e), ids.end()) << t;
  }
  EXPECT_GT(worst_error(out, model_output(ax, in, {.gate_first = true}), 256), 10.0);
}

TEST(MoeOracle, ManyTokensPerExpertMatchModel) {
  // Every token picks local experts 0 and 1, so each has 263 tokens: more than one chunk of
  // routed tokens (256), and tiles of every width the oracle uses (8, 4, 2, 1).
  const Axes ax = make_axes({263, 16, 2, 4, 2, 2});
  TensorMap in = zero_inputs(ax, 0, 2.5f);
  fill_random(in, 5);
  for (std::int64_t t = 0; t < 263; ++t) {
    in.at("routing_logits").set(t * 16, 5.0);
    in.at("routing_logits").set(t * 16 + 1, 5.0);
  }
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  EXPECT_LT(worst_error(out, model_output(ax, in), 4), 1.0);
  const ref::MoeRouting routing = ref::moe_ds_routing(ax, in);
  for (std::int64_t t = 0; t < 263; ++t) {
    const std::vector<std::int32_t> ids = ids_of(routing, t);
    ASSERT_NE(std::find(ids.begin(), ids.end(), 0), ids.end()) << t;
    ASSERT_NE(std::find(ids.begin(), ids.end(), 1), ids.end()) << t;
  }
}

TEST(MoeOracle, ActivationScaleIsBlockMajor) {
  // seq_len == num_hidden_blocks == 2, so a [T, blocks] reading would pass the shape check;
  // only the values tell the layouts apart.
  const Axes ax = make_axes({2, 16, 8, 4, 2, 2});
  TensorMap in = zero_inputs(ax, 0, 2.5f);
  fill_random(in, 2);
  const std::vector<double> scale{1.0, 2.0, 16.0, 0.25};  // [block][token]
  for (std::size_t i = 0; i < scale.size(); ++i)
    in.at("hidden_states_scale").set(static_cast<std::int64_t>(i), scale[i]);
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  EXPECT_LT(worst_error(out, model_output(ax, in), 4), 1.0);
  EXPECT_GT(worst_error(out, model_output(ax, in, {.scale_token_major = true}), 4), 10.0);
}

TEST(MoeOracle, SwigluGateIsSecondHalf) {
  const Axes ax = make_axes({3, 16, 8, 4, 4, 2});
  TensorMap in = zero_inputs(ax, 0, 2.5f);
  fill_random(in, 3);
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  EXPECT_LT(worst_error(out, model_output(ax, in), 4), 1.0);
  EXPECT_GT(worst_error(out, model_output(ax, in, {.gate_first = true}), 4), 10.0);
}

TEST(MoeOracle, LocalExpertOffsetWindow) {
  // 16 experts in groups of 2, no bias (tied groups go to the lower index); 4 local experts.
  // Token 0 picks 14, 15, 2..7; token 1 picks 0..7; token 2 picks 0..7 (0, 1 first).
  const Axes ax = make_axes({3, 16, 4, 4, 2, 2});
  TensorMap base = zero_inputs(ax, 0, 2.5f);
  fill_random(base, 4);
  base.at("routing_bias") = Tensor(DType::kBFloat16, {16});
  std::vector<float> prefer_top(16, 0.0f), avoid_top(16, 0.0f), prefer_low(16, 0.0f);
  prefer_top[14] = prefer_top[15] = 5.0f;
  prefer_top[0] = prefer_top[1] = -5.0f;
  avoid_top[14] = avoid_top[15] = -5.0f;
  prefer_low[0] = prefer_low[1] = 5.0f;
  set_logits(base, 0, prefer_top);
  set_logits(base, 1, avoid_top);
  set_logits(base, 2, prefer_low);
  const auto row_is_zero = [](const Tensor& out, std::int64_t t) {
    for (std::int64_t h = 0; h < 4; ++h) {
      if (out.get(t * 4 + h) != 0.0) return false;
    }
    return true;
  };
  const auto with_offset = [&](std::int32_t offset) {
    TensorMap in = base;
    in.at("local_expert_offset") = Tensor::scalar<std::int32_t>(offset);
    return in;
  };

  // Offset 14: local 0, 1 are experts 14, 15; local 2, 3 (16, 17) do not exist and must not count.
  TensorMap in = with_offset(14);
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, in));
  EXPECT_LT(worst_error(out, model_output(ax, in), 4), 1.0);
  EXPECT_FALSE(row_is_zero(out, 0));
  EXPECT_TRUE(row_is_zero(out, 1));  // routed to no local expert
  EXPECT_TRUE(row_is_zero(out, 2));
  Tensor& w1 = in.at("gemm1_weights");
  for (std::int64_t i = w1.numel() / 2; i < w1.numel(); ++i) w1.set(i, 448.0);
  EXPECT_TRUE(run_output(ref::moe_fp8_block_scale(ax, in)).equals(out));

  // Offset -2: local 0, 1 are experts -2, -1 (skipped); local 2, 3 are experts 0, 1.
  in = with_offset(-2);
  const Tensor low = run_output(ref::moe_fp8_block_scale(ax, in));
  EXPECT_LT(worst_error(low, model_output(ax, in), 4), 1.0);
  EXPECT_TRUE(row_is_zero(low, 0));
  EXPECT_FALSE(row_is_zero(low, 1));
  EXPECT_FALSE(row_is_zero(low, 2));
  // Only local 2 and 3 matter: moved to local 0 and 1 with offset 0 (local 2, 3 zeroed, so they
  // add exact zeros) they give the same bytes.
  TensorMap moved = with_offset(0);
  for (const char* name : {"gemm1_weights", "gemm1_weights_scale", "gemm2_weights", "gemm2_weights_scale"}) {
    Tensor& t = moved.at(name);
    const std::int64_t half = t.numel() / 2;
    for (std::int64_t i = 0; i < half; ++i) {
      t.set(i, in.at(name).get(i + half));
      t.set(i + half, 0.0);
    }
  }
  EXPECT_TRUE(run_output(ref::moe_fp8_block_scale(ax, moved)).equals(low));

  // Offset 16: no local expert exists, everything is zero.
  const Tensor none = run_output(ref::moe_fp8_block_scale(ax, with_offset(16)));
  for (std::int64_t t = 0; t < 3; ++t) EXPECT_TRUE(row_is_zero(none, t));
}

TEST(MoeOracle, EmptySequence) {
  const Axes ax = make_axes({0, 16, 2, 4, 2, 2});
  const Tensor out = run_output(ref::moe_fp8_block_scale(ax, zero_inputs(ax, 0, 2.5f)));
  EXPECT_EQ(out.shape(), (Shape{0, 4}));
}

TEST(MoeOracle, RegisteredForTheDefinition) {
  const OracleInfo* info = find_oracle(kName);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->run, &ref::moe_fp8_block_scale);
}

// ---- validation ----

TEST(MoeOracle, RejectsBadInputs) {
  const Axes ax = make_axes({3, 16, 2, 4, 2, 2});
  const TensorMap good = zero_inputs(ax, 0, 2.5f);
  const auto run_with = [&](const std::function<void(TensorMap&)>& edit) {
    return [&ax, &good, edit] {
      TensorMap in = good;
      edit(in);
      ref::moe_fp8_block_scale(ax, in);
    };
  };
  const auto replace = [&](const std::string& name, const Tensor& t) {
    return run_with([name, t](TensorMap& in) { in.at(name) = t; });
  };
  expect_error(run_with([](TensorMap& in) { in.erase("gemm2_weights"); }), "gemm2_weights");
  expect_error(replace("routing_bias", Tensor(DType::kFloat32, {16})), "routing_bias");
  // The activation scale given token-major [T, blocks] instead of [blocks, T].
  expect_error(replace("hidden_states_scale", Tensor(DType::kFloat32, {3, 2})), "hidden_states_scale");
  expect_error(replace("gemm1_weights_scale", Tensor(DType::kFloat32, {2, 1, 2})), "gemm1_weights_scale");
  expect_error(replace("local_expert_offset", Tensor(DType::kInt32, {1})), "local_expert_offset");
  expect_error(replace("routed_scaling_factor", Tensor::scalar<std::int32_t>(2)), "routed_scaling_factor");
}

TEST(MoeOracle, RejectsInconsistentAxes) {
  const auto run_axes = [](Axes ax) {
    return [ax] { ref::moe_fp8_block_scale(ax, zero_inputs(ax, 0, 1.0f)); };
  };
  Axes ax = make_axes({2, 16, 2, 8, 4, 2});
  ax["num_intermediate_blocks"] = 1;  // block 4 here, 2 for hidden
  expect_error(run_axes(ax), "intermediate_size");
  ax = make_axes({2, 16, 2, 8, 4, 2});
  ax["gemm1_out_size"] = 4;
  ax["num_gemm1_out_blocks"] = 2;  // same block size, but not 2 * intermediate_size
  expect_error(run_axes(ax), "gemm1_out_size");
  ax = make_axes({2, 16, 2, 8, 4, 2});
  ax["num_hidden_blocks"] = 3;  // 8 is not a multiple of 3
  expect_error(run_axes(ax), "num_hidden_blocks");
  expect_error(run_axes(make_axes({2, 20, 2, 8, 4, 2})), "num_experts");  // not a multiple of 8
  expect_error(run_axes(make_axes({2, 8, 2, 8, 4, 2})), "num_experts");   // one expert per group
  const TensorMap routing_only = routing_inputs(1, 16, 1.0f, 0.0f);
  expect_error([&] { ref::moe_ds_routing({{"seq_len", 1}}, routing_only); }, "num_experts");
}

}  // namespace
}  // namespace kforge
