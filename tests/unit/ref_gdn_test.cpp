// Tests of the Gated Delta Net decode and prefill oracles on small shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "ref/gdn_common.h"
#include "ref/oracles.h"

namespace kforge::ref {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Heads {
  std::int64_t q = 1;
  std::int64_t k = 1;
  std::int64_t v = 1;
  std::int64_t size = 2;
};

Axes decode_axes(std::int64_t batch, const Heads& h) {
  return {{"batch_size", batch}, {"seq_len", 1},     {"num_q_heads", h.q},
          {"num_k_heads", h.k},  {"num_v_heads", h.v}, {"head_size", h.size}};
}

Axes prefill_axes(std::int64_t total, std::int64_t num_seqs, const Heads& h) {
  return {{"total_seq_len", total}, {"num_seqs", num_seqs}, {"len_cu_seqlens", num_seqs + 1},
          {"num_q_heads", h.q},     {"num_k_heads", h.k},   {"num_v_heads", h.v},
          {"head_size", h.size}};
}

Tensor filled(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(t.numel(), static_cast<std::int64_t>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) t.set(static_cast<std::int64_t>(i), values[i]);
  return t;
}

Tensor random_tensor(DType dtype, Shape shape, const CounterRng& rng, double stddev) {
  Tensor t(dtype, std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, stddev * rng.normal(static_cast<std::uint64_t>(i)));
  return t;
}

// Same bytes under another shape (e.g. a decode [B, 1, H, D] tensor as prefill's [B, H, D]).
Tensor reshaped(const Tensor& t, Shape shape) {
  Tensor r(t.dtype(), std::move(shape));
  EXPECT_EQ(r.nbytes(), t.nbytes());
  std::memcpy(r.bytes().data(), t.bytes().data(), t.nbytes());
  return r;
}

// Indices [begin, end) of dimension `dim`, all other dimensions whole.
Tensor slice(const Tensor& t, std::size_t dim, std::int64_t begin, std::int64_t end) {
  Shape shape = t.shape();
  std::int64_t outer = 1, inner = static_cast<std::int64_t>(dtype_size(t.dtype()));
  for (std::size_t i = 0; i < dim; ++i) outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  const std::int64_t full = shape[dim];
  shape[dim] = end - begin;
  Tensor r(t.dtype(), shape);
  for (std::int64_t o = 0; o < outer; ++o) {
    std::memcpy(r.bytes().data() + o * (end - begin) * inner, t.bytes().data() + (o * full + begin) * inner,
                static_cast<std::size_t>((end - begin) * inner));
  }
  return r;
}

// Random non-zero inputs; the state starts non-zero so that decay and delta terms both matter.
// k has unit expected norm, as the model's L2-normalized keys, to keep long recurrences bounded.
TensorMap random_common(std::int64_t rows, Shape row_prefix, const Heads& h, std::uint64_t seed) {
  const CounterRng rng(seed);
  const auto shape = [&](std::vector<std::int64_t> tail) {
    Shape s = row_prefix;
    s.insert(s.end(), tail.begin(), tail.end());
    return s;
  };
  TensorMap in;
  in["q"] = random_tensor(DType::kBFloat16, shape({h.q, h.size}), rng.derive("q"), 1.0);
  in["k"] = random_tensor(DType::kBFloat16, shape({h.k, h.size}), rng.derive("k"),
                          1.0 / std::sqrt(static_cast<double>(h.size)));
  in["v"] = random_tensor(DType::kBFloat16, shape({h.v, h.size}), rng.derive("v"), 1.0);
  in["a"] = random_tensor(DType::kBFloat16, shape({h.v}), rng.derive("a"), 1.0);
  in["b"] = random_tensor(DType::kBFloat16, shape({h.v}), rng.derive("b"), 1.0);
  in["A_log"] = random_tensor(DType::kFloat32, {h.v}, rng.derive("A_log"), 0.5);
  in["dt_bias"] = random_tensor(DType::kFloat32, {h.v}, rng.derive("dt_bias"), 1.0);
  in["state"] = random_tensor(DType::kFloat32, {rows, h.v, h.size, h.size}, rng.derive("state"), 0.3);
  in["scale"] = Tensor::scalar(0.0f);
  return in;
}

TensorMap random_decode_inputs(std::int64_t batch, const Heads& h, std::uint64_t seed) {
  return random_common(batch, {batch, 1}, h, seed);
}

TensorMap random_prefill_inputs(const std::vector<std::int64_t>& cu, std::int64_t total, const Heads& h,
                                std::uint64_t seed) {
  const auto num_seqs = static_cast<std::int64_t>(cu.size()) - 1;
  TensorMap in = random_common(num_seqs, {total}, h, seed);
  in["cu_seqlens"] = Tensor(DType::kInt64, {num_seqs + 1});
  for (std::size_t i = 0; i < cu.size(); ++i) in["cu_seqlens"].data<std::int64_t>()[i] = cu[i];
  return in;
}

std::vector<double> values(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.get(static_cast<std::int64_t>(i));
  return v;
}

bool all_zero(const Tensor& t) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (t.get(i) != 0.0) return false;
  }
  return true;
}

template <class Fn>
void expect_error(Fn&& fn, std::string_view needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an Error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- gates ----

TEST(GdnGates, SoftplusFollowsTorchThreshold) {
  // Above 20 softplus is the identity; only where exp overflows float (x > 88.7) does that
  // differ visibly from log1p(exp(x)), which would be inf.
  EXPECT_EQ(gdn::softplus(100.0f), 100.0f);
  EXPECT_EQ(gdn::softplus(20.5f), 20.5f);
  EXPECT_FLOAT_EQ(gdn::softplus(0.0f), 0.6931472f);  // log(2)
  EXPECT_FLOAT_EQ(gdn::softplus(1.5f), 1.7014133f);  // log1p(e^1.5)
  // Far below zero softplus(x) ~ e^x: small but not flushed to zero.
  EXPECT_NEAR(gdn::softplus(-30.0f) / std::exp(-30.0f), 1.0, 1e-6);
}

TEST(GdnGates, SigmoidAndDecayGate) {
  EXPECT_EQ(gdn::sigmoid(0.0f), 0.5f);
  EXPECT_EQ(gdn::sigmoid(kInf), 1.0f);
  EXPECT_EQ(gdn::sigmoid(-kInf), 0.0f);
  EXPECT_FLOAT_EQ(gdn::sigmoid(2.0f), 0.8807971f);
  // A_log = -inf: exp(A_log) = 0, so g = exp(-0) = 1 exactly.
  EXPECT_EQ(gdn::decay_gate(1.0f, -kInf, 3.0f), 1.0f);
  // A_log = 0, a + dt_bias = 25 > 20: g = exp(-25).
  EXPECT_EQ(gdn::decay_gate(5.0f, 0.0f, 20.0f), std::exp(-25.0f));
  // A_log = log 2: g = exp(-2 * softplus(0.5)).
  EXPECT_NEAR(gdn::decay_gate(0.25f, std::log(2.0f), 0.25f), std::exp(-2.0 * std::log1p(std::exp(0.5))), 1e-7);
}

// ---- decode, hand-checked ----

// head_size 2, one head, k-last state S[v][k] = [[1, 2], [3, 4]], i.e. the reference's
// M = S^T = [[1, 3], [2, 4]] ([K, V]). k = [1, 0], v = [5, 6], q = [1, 1], scale 1.
TensorMap hand_inputs(float a_log, float b) {
  const Heads h;
  TensorMap in;
  in["q"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {1, 1});
  in["k"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {1, 0});
  in["v"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {5, 6});
  in["state"] = filled(DType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4});
  in["A_log"] = filled(DType::kFloat32, {1}, {a_log});
  in["a"] = filled(DType::kBFloat16, {1, 1, 1}, {0.5});
  in["dt_bias"] = filled(DType::kFloat32, {1}, {0.25});
  in["b"] = filled(DType::kBFloat16, {1, 1, 1}, {b});
  in["scale"] = Tensor::scalar(1.0f);
  return in;
}

TEST(GdnDecode, FullWriteReplacesKeyRow) {
  // A_log = -inf gives g = 1; b = +inf gives beta = 1 exactly.
  // u = k M = row 0 of M = [1, 3]; new_v = v = [5, 6]; M' = M - k^T u + k^T new_v replaces
  // row 0 of M: M' = [[5, 6], [2, 4]], so S' = M'^T = [[5, 2], [6, 4]]; o = q M' = [7, 10].
  const TensorMap out = gdn_decode(decode_axes(1, Heads{}), hand_inputs(-kInf, kInf));
  EXPECT_EQ(values(out.at("new_state")), (std::vector<double>{5, 2, 6, 4}));
  EXPECT_EQ(values(out.at("output")), (std::vector<double>{7, 10}));
}

TEST(GdnDecode, ZeroBetaKeepsState) {
  // g = 1, beta = 0 (b = -inf): new_v = u, the delta term cancels and S is unchanged;
  // o = q M = [1 + 2, 3 + 4].
  const TensorMap out = gdn_decode(decode_axes(1, Heads{}), hand_inputs(-kInf, -kInf));
  EXPECT_EQ(values(out.at("new_state")), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(values(out.at("output")), (std::vector<double>{3, 7}));
}

TEST(GdnDecode, GatesAndDefaultScale) {
  // S = [[1, 2], [3, 4]], k = [1, 0.5], v = [2, -1], q = [1, -1]; a + dt_bias = 1.5 and
  // A_log = 0 give g = exp(-log1p(e^1.5)) ~ 0.18243; b = 0 gives beta = 0.5; scale 0 means
  // 1/sqrt(2). With S_new[v] = g S[v] + beta (v[v] - u[v]) k and u[v] = g (k . S[v]):
  //   u = [2g, 5g];  S_new = [[1, 0.5 + 1.5g], [0.5g - 0.5, 2.75g - 0.25]]
  //   o = (S_new[v][0] - S_new[v][1]) / sqrt(2) = [(0.5 - 1.5g), (-0.25 - 2.25g)] / sqrt(2)
  TensorMap in;
  in["q"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {1, -1});
  in["k"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {1, 0.5});
  in["v"] = filled(DType::kBFloat16, {1, 1, 1, 2}, {2, -1});
  in["state"] = filled(DType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4});
  in["A_log"] = filled(DType::kFloat32, {1}, {0});
  in["a"] = filled(DType::kBFloat16, {1, 1, 1}, {1.0});
  in["dt_bias"] = filled(DType::kFloat32, {1}, {0.5});
  in["b"] = filled(DType::kBFloat16, {1, 1, 1}, {0});
  in["scale"] = Tensor::scalar(0.0f);
  const TensorMap out = gdn_decode(decode_axes(1, Heads{}), in);

  const double g = std::exp(-std::log1p(std::exp(1.5)));
  const std::vector<double> want_state{1, 0.5 + 1.5 * g, 0.5 * g - 0.5, 2.75 * g - 0.25};
  const std::vector<double> want_out{(0.5 - 1.5 * g) / std::sqrt(2.0), (-0.25 - 2.25 * g) / std::sqrt(2.0)};
  const auto state = values(out.at("new_state"));
  const auto output = values(out.at("output"));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(state[i], want_state[i], 1e-6) << i;
  // bf16 keeps 8 significant bits: within half an ulp (2^-9 relative) of the exact value.
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(output[i], want_out[i], std::abs(want_out[i]) * 0x1p-9) << i;
}

TEST(GdnDecode, MatchesClosedFormDeltaRule) {
  // The reference's "gS - k^T(k gS) + k^T(beta v + (1-beta) k gS)" equals
  // "gS + beta k^T (v - k gS)"; checked in double on random inputs.
  const Heads h{2, 2, 4, 8};
  const std::int64_t batch = 3;
  const auto d = static_cast<std::size_t>(h.size), hv = static_cast<std::size_t>(h.v);
  const auto hq = static_cast<std::size_t>(h.q);
  const TensorMap in = random_decode_inputs(batch, h, 11);
  const TensorMap out = gdn_decode(decode_axes(batch, h), in);
  const auto q = values(in.at("q")), k = values(in.at("k")), v = values(in.at("v"));
  const auto s0 = values(in.at("state")), a = values(in.at("a")), b = values(in.at("b"));
  const auto a_log = values(in.at("A_log")), dt_bias = values(in.at("dt_bias"));
  const auto s1 = values(out.at("new_state")), o = values(out.at("output"));
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (std::size_t n = 0; n < static_cast<std::size_t>(batch); ++n) {
    for (std::size_t hd = 0; hd < hv; ++hd) {
      const std::size_t i = n * hv + hd;   // (sequence, v-head)
      const std::size_t qk = n * hq + hd / (hv / hq);  // (sequence, q/k head)
      const double g = std::exp(-std::exp(a_log[hd]) * std::log1p(std::exp(a[i] + dt_bias[hd])));
      const double beta = 1.0 / (1.0 + std::exp(-b[i]));
      const double* qh = &q[qk * d];
      const double* kh = &k[qk * d];
      for (std::size_t r = 0; r < d; ++r) {
        const double* before = &s0[(i * d + r) * d];
        const double* after = &s1[(i * d + r) * d];
        double u = 0;
        for (std::size_t c = 0; c < d; ++c) u += kh[c] * g * before[c];
        const double delta = beta * (v[i * d + r] - u);
        double dot = 0;
        for (std::size_t c = 0; c < d; ++c) {
          const double want = g * before[c] + delta * kh[c];
          EXPECT_NEAR(after[c], want, 1e-5 * (1 + std::abs(want)));
          dot += qh[c] * want;
        }
        EXPECT_NEAR(o[i * d + r], scale * dot, std::abs(scale * dot) * 0x1p-8 + 1e-5);
      }
    }
  }
}

TEST(GdnDecode, ZeroScaleMeansInverseSqrtHeadSize) {
  const Heads h{1, 1, 2, 4};  // 1/sqrt(4) = 0.5 exactly
  TensorMap in = random_decode_inputs(2, h, 3);
  const TensorMap by_default = gdn_decode(decode_axes(2, h), in);
  in["scale"] = Tensor::scalar(0.5f);
  const TensorMap explicit_half = gdn_decode(decode_axes(2, h), in);
  in["scale"] = Tensor::scalar(1.0f);
  const TensorMap unit = gdn_decode(decode_axes(2, h), in);
  EXPECT_TRUE(by_default.at("output").equals(explicit_half.at("output")));
  EXPECT_FALSE(by_default.at("output").equals(unit.at("output")));
  // The scale multiplies the output only, never the state.
  EXPECT_TRUE(by_default.at("new_state").equals(unit.at("new_state")));
}

TEST(GdnDecode, MissingStateIsZeroState) {
  const Heads h{1, 1, 2, 4};
  TensorMap in = random_decode_inputs(2, h, 5);
  in["state"] = Tensor(DType::kFloat32, {2, 2, 4, 4});
  const TensorMap zero = gdn_decode(decode_axes(2, h), in);
  in.erase("state");
  const TensorMap absent = gdn_decode(decode_axes(2, h), in);
  EXPECT_TRUE(zero.at("output").equals(absent.at("output")));
  EXPECT_TRUE(zero.at("new_state").equals(absent.at("new_state")));
  EXPECT_FALSE(all_zero(absent.at("new_state")));
}

// Each v-head of a grouped run equals a one-head run on that v-head's inputs and the q/k heads
// repeat_interleave assigns it: q head h / (Hv / Hq), k head h / (Hv / Hk).
void expect_gva_mapping(const Heads& h) {
  const std::int64_t batch = 2, d = h.size;
  const TensorMap in = random_decode_inputs(batch, h, 17 + static_cast<std::uint64_t>(h.q));
  const TensorMap out = gdn_decode(decode_axes(batch, h), in);
  const Heads one{1, 1, 1, d};
  for (std::int64_t hd = 0; hd < h.v; ++hd) {
    const std::int64_t qh = hd / (h.v / h.q), kh = hd / (h.v / h.k);
    TensorMap single = in;
    single["q"] = slice(in.at("q"), 2, qh, qh + 1);
    single["k"] = slice(in.at("k"), 2, kh, kh + 1);
    for (const char* name : {"v", "a", "b"}) single[name] = slice(in.at(name), 2, hd, hd + 1);
    single["state"] = slice(in.at("state"), 1, hd, hd + 1);
    for (const char* name : {"A_log", "dt_bias"}) single[name] = slice(in.at(name), 0, hd, hd + 1);
    const TensorMap want = gdn_decode(decode_axes(batch, one), single);
    EXPECT_TRUE(slice(out.at("output"), 2, hd, hd + 1).equals(want.at("output"))) << "v-head " << hd;
    EXPECT_TRUE(slice(out.at("new_state"), 1, hd, hd + 1).equals(want.at("new_state"))) << "v-head " << hd;
  }
}

TEST(GdnDecode, GvaMapsVHeadsToQkHeadsByRepeatInterleave) {
  expect_gva_mapping(Heads{2, 2, 4, 4});
  expect_gva_mapping(Heads{1, 2, 4, 4});  // q and k heads counted separately
}

TEST(GdnDecode, GvaSharedQkHeadGivesEqualHeadsForEqualInputs) {
  // v-heads 0 and 1 share q/k head 0; with identical per-v-head inputs they must agree, and
  // v-head 2 (q/k head 1) must not.
  const Heads h{2, 2, 4, 4};
  TensorMap in = random_decode_inputs(1, h, 23);
  for (const char* name : {"v", "a", "b", "A_log", "dt_bias", "state"}) {
    Tensor& t = in[name];
    const std::size_t per_head = t.nbytes() / 4;  // every such tensor has 4 v-heads outermost here
    for (std::size_t i = 0; i < per_head; ++i) {
      t.bytes()[per_head + i] = t.bytes()[i];
      t.bytes()[2 * per_head + i] = t.bytes()[i];
    }
  }
  const TensorMap out = gdn_decode(decode_axes(1, h), in);
  const Tensor& o = out.at("output");
  EXPECT_TRUE(slice(o, 2, 0, 1).equals(slice(o, 2, 1, 2)));
  EXPECT_FALSE(slice(o, 2, 0, 1).equals(slice(o, 2, 2, 3)));
}

// ---- prefill ----

TEST(GdnPrefill, SingleTokenSequenceEqualsDecode) {
  const Heads h{2, 2, 4, 8};
  const TensorMap in = random_prefill_inputs({0, 1}, 1, h, 31);
  const TensorMap got = gdn_prefill(prefill_axes(1, 1, h), in);
  TensorMap dec = in;
  dec.erase("cu_seqlens");
  for (const char* name : {"q", "k", "v", "a", "b"}) {
    Shape s = in.at(name).shape();
    s.insert(s.begin() + 1, 1);
    dec[name] = reshaped(in.at(name), s);
  }
  const TensorMap want = gdn_decode(decode_axes(1, h), dec);
  EXPECT_TRUE(got.at("new_state").equals(want.at("new_state")));
  EXPECT_TRUE(got.at("output").equals(reshaped(want.at("output"), {1, h.v, h.size})));
  EXPECT_FALSE(all_zero(got.at("output")));
}

TEST(GdnPrefill, SequenceEqualsChainedDecodes) {
  const Heads h{2, 2, 4, 8};
  const std::int64_t len = 5;
  const TensorMap in = random_prefill_inputs({0, len}, len, h, 37);
  const TensorMap got = gdn_prefill(prefill_axes(len, 1, h), in);
  TensorMap dec = in;
  dec.erase("cu_seqlens");
  for (std::int64_t t = 0; t < len; ++t) {
    for (const char* name : {"q", "k", "v", "a", "b"}) {
      const Tensor row = slice(in.at(name), 0, t, t + 1);
      Shape s = row.shape();
      s.insert(s.begin() + 1, 1);
      dec[name] = reshaped(row, s);
    }
    TensorMap step = gdn_decode(decode_axes(1, h), dec);
    EXPECT_TRUE(slice(got.at("output"), 0, t, t + 1).equals(reshaped(step.at("output"), {1, h.v, h.size})))
        << "token " << t;
    dec["state"] = std::move(step.at("new_state"));
  }
  EXPECT_TRUE(got.at("new_state").equals(dec.at("state")));
}

// Sequences are independent: each equals a prefill of that sequence alone. Many (sequence,
// head) items of unequal length exercise the parallel work queue.
TEST(GdnPrefill, SequencesAreIndependent) {
  const Heads h{2, 2, 4, 16};
  const std::vector<std::int64_t> cu{0, 3, 10, 11, 20, 26};
  const std::int64_t total = cu.back(), num_seqs = static_cast<std::int64_t>(cu.size()) - 1;
  const TensorMap in = random_prefill_inputs(cu, total, h, 41);
  const TensorMap got = gdn_prefill(prefill_axes(total, num_seqs, h), in);
  for (std::int64_t n = 0; n < num_seqs; ++n) {
    const std::int64_t begin = cu[static_cast<std::size_t>(n)], end = cu[static_cast<std::size_t>(n + 1)];
    TensorMap alone = in;
    for (const char* name : {"q", "k", "v", "a", "b"}) alone[name] = slice(in.at(name), 0, begin, end);
    alone["state"] = slice(in.at("state"), 0, n, n + 1);
    alone["cu_seqlens"] = filled(DType::kInt64, {2}, {0, static_cast<double>(end - begin)});
    const TensorMap want = gdn_prefill(prefill_axes(end - begin, 1, h), alone);
    EXPECT_TRUE(slice(got.at("output"), 0, begin, end).equals(want.at("output"))) << "sequence " << n;
    EXPECT_TRUE(slice(got.at("new_state"), 0, n, n + 1).equals(want.at("new_state"))) << "sequence " << n;
  }
}

TEST(GdnPrefill, EmptySequenceLeavesZeroState) {
  const Heads h{1, 1, 2, 4};
  const TensorMap in = random_prefill_inputs({0, 2, 2, 5}, 5, h, 43);
  ASSERT_FALSE(all_zero(slice(in.at("state"), 0, 1, 2)));
  const TensorMap got = gdn_prefill(prefill_axes(5, 3, h), in);
  EXPECT_TRUE(all_zero(slice(got.at("new_state"), 0, 1, 2)));
  EXPECT_FALSE(all_zero(slice(got.at("new_state"), 0, 0, 1)));
  EXPECT_FALSE(all_zero(slice(got.at("new_state"), 0, 2, 3)));
}

TEST(GdnPrefill, UncoveredRowsStayZero) {
  // Sequence 0 is empty, sequence 1 covers rows 1 and 2 of 4; rows 0 and 3 belong to none.
  const Heads h{1, 1, 2, 4};
  const TensorMap in = random_prefill_inputs({1, 1, 3}, 4, h, 47);
  const TensorMap got = gdn_prefill(prefill_axes(4, 2, h), in);
  const Tensor& o = got.at("output");
  EXPECT_TRUE(all_zero(slice(o, 0, 0, 1)));
  EXPECT_TRUE(all_zero(slice(o, 0, 3, 4)));
  EXPECT_FALSE(all_zero(slice(o, 0, 1, 2)));
  EXPECT_FALSE(all_zero(slice(o, 0, 2, 3)));
  EXPECT_TRUE(all_zero(slice(got.at("new_state"), 0, 0, 1)));
}

TEST(GdnPrefill, MissingStateIsZeroState) {
  const Heads h{1, 1, 2, 4};
  TensorMap in = random_prefill_inputs({0, 3, 6}, 6, h, 53);
  in["state"] = Tensor(DType::kFloat32, {2, 2, 4, 4});
  const TensorMap zero = gdn_prefill(prefill_axes(6, 2, h), in);
  in.erase("state");
  const TensorMap absent = gdn_prefill(prefill_axes(6, 2, h), in);
  EXPECT_TRUE(zero.at("output").equals(absent.at("output")));
  EXPECT_TRUE(zero.at("new_state").equals(absent.at("new_state")));
  EXPECT_FALSE(all_zero(absent.at("output")));
}

// ---- errors ----

TEST(GdnPrefill, RejectsBadCuSeqlens) {
  const Heads h{1, 1, 2, 4};
  const auto run = [&](const std::vector<double>& cu) {
    TensorMap in = random_prefill_inputs({0, 2, 4}, 4, h, 59);
    in["cu_seqlens"] = filled(DType::kInt64, {3}, cu);
    return [in, h] { gdn_prefill(prefill_axes(4, 2, h), in); };
  };
  expect_error(run({0, 3, 2}), "'cu_seqlens' decreases at index 2");
  expect_error(run({0, 2, 5}), "'cu_seqlens'[2] is 5");
  expect_error(run({-1, 2, 4}), "'cu_seqlens'[0] is -1");

  TensorMap in = random_prefill_inputs({0, 2, 4}, 4, h, 59);
  in["cu_seqlens"] = filled(DType::kInt32, {3}, {0, 2, 4});
  expect_error([&] { gdn_prefill(prefill_axes(4, 2, h), in); }, "input 'cu_seqlens' has dtype int32");
  in["cu_seqlens"] = filled(DType::kInt64, {3}, {0, 2, 4});
  Axes axes = prefill_axes(4, 2, h);
  axes["len_cu_seqlens"] = 4;
  expect_error([&] { gdn_prefill(axes, in); }, "len_cu_seqlens == num_seqs + 1");
}

TEST(GdnPrefill, RejectsMismatchedInputs) {
  const Heads h{1, 1, 2, 4};
  TensorMap in = random_prefill_inputs({0, 2, 4}, 4, h, 61);
  in["v"] = Tensor(DType::kBFloat16, {4, 1, 4});
  expect_error([&] { gdn_prefill(prefill_axes(4, 2, h), in); }, "input 'v' has shape [4, 1, 4]");
  in.erase("v");
  expect_error([&] { gdn_prefill(prefill_axes(4, 2, h), in); }, "input 'v' missing");
}

TEST(GdnDecode, RejectsBadAxesAndInputs) {
  const Heads h{2, 2, 4, 4};
  TensorMap in = random_decode_inputs(1, h, 67);
  Axes axes = decode_axes(1, h);
  axes["seq_len"] = 2;
  expect_error([&] { gdn_decode(axes, in); }, "seq_len is 2");
  axes = decode_axes(1, Heads{2, 2, 3, 4});
  expect_error([&] { gdn_decode(axes, in); }, "head counts num_q_heads=2, num_k_heads=2, num_v_heads=3");
  axes = decode_axes(1, h);
  axes.erase("head_size");
  expect_error([&] { gdn_decode(axes, in); }, "axis 'head_size' missing");
  in["scale"] = Tensor(DType::kFloat32, {1});
  expect_error([&] { gdn_decode(decode_axes(1, h), in); }, "input 'scale' has shape [1]");
  in["scale"] = Tensor::scalar(0.0f);
  in["state"] = Tensor(DType::kBFloat16, {1, 4, 4, 4});
  expect_error([&] { gdn_decode(decode_axes(1, h), in); }, "input 'state' has dtype bfloat16");
}

}  // namespace
}  // namespace kforge::ref
