// Tests of the output comparison (the correctness gate): the elementwise tolerance rule and its
// non-finite cases on hand-built tensors, statuses and messages, the MoE matched ratio, the DSA
// indexer's set rule on a hand-made paged cache with known scores, and oracle outputs compared
// with themselves and with perturbed copies on small synthesized workloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "harness/compare.h"
#include "harness/worker.h"
#include "ref/oracle.h"
#include "ref/oracles.h"
#include "synth/synthesizer.h"
#include "test_support.h"

namespace kforge {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using namespace test_support;  // definition names, bundled dataset, small workloads

TensorSpec spec(std::vector<std::string> shape, DType dtype) {
  TensorSpec s;
  s.shape = std::move(shape);
  s.dtype = dtype;
  return s;
}

// A definition with only the outputs that compare_outputs reads (the name picks the rule).
Definition outputs_def(const std::string& name, const std::vector<std::pair<std::string, TensorSpec>>& outputs) {
  Definition d;
  d.name = name;
  for (const auto& [n, s] : outputs) d.outputs.add(n, s);
  return d;
}

Tensor tensor(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  for (std::size_t i = 0; i < values.size(); ++i) t.set(static_cast<std::int64_t>(i), values[i]);
  return t;
}

// One float32 output 'out' of shape [n]; got and want element by element.
Comparison compare_1d(const std::vector<double>& got, const std::vector<double>& want,
                      const Tolerance& tol = {}, const std::string& def_name = "test_op") {
  const auto n = static_cast<std::int64_t>(want.size());
  const Definition def = outputs_def(def_name, {{"out", spec({"n"}, DType::kFloat32)}});
  const Axes axes{{"n", n}};
  const TensorMap expected{{"out", tensor(DType::kFloat32, {n}, want)}};
  const TensorMap actual{{"out", tensor(DType::kFloat32, {n}, got)}};
  return compare_outputs(def, axes, {}, expected, actual, tol);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Defaults, and the worker's poison as the comparison relies on it

TEST(CompareDefaults, ContestTolerancesPerDefinition) {
  const Tolerance moe = default_tolerance(definition(kMoe));
  EXPECT_EQ(moe.atol, 1.0);
  EXPECT_EQ(moe.rtol, 0.3);
  EXPECT_EQ(moe.required_matched_ratio, 0.9);
  for (const auto& name : {kGdnDecode, kGdnPrefill, kDsaAttention, kDsaIndexer}) {
    const Tolerance t = default_tolerance(definition(name));
    EXPECT_EQ(t.atol, 1e-2) << name;
    EXPECT_EQ(t.rtol, 1e-2) << name;
    EXPECT_EQ(t.required_matched_ratio, 1.0) << name;
  }
}

TEST(CompareDefaults, PoisonIsNanForFloatsAndNotMinusOneForInts) {
  for (const DType d : {DType::kFloat32, DType::kBFloat16, DType::kFloat16, DType::kFloat8E4M3FN,
                        DType::kFloat8E5M2}) {
    Tensor t(d, {1});
    std::memset(t.bytes().data(), poison_byte(d), t.nbytes());
    EXPECT_TRUE(std::isnan(t.get(0))) << dtype_name(d);
  }
  Tensor i(DType::kInt32, {1});
  std::memset(i.bytes().data(), poison_byte(DType::kInt32), i.nbytes());
  EXPECT_EQ(i.data<std::int32_t>()[0], 0x7F7F7F7F);
}

// ---------------------------------------------------------------------------------------------
// Elementwise rule

TEST(CompareElementwise, WithinToleranceReportsErrors) {
  // Values exact in float32, so the errors are exact too.
  const Comparison c = compare_1d({1.0078125, -2.0, 0.0, 4.0}, {1.0, -2.0, 0.0009765625, 4.0});
  EXPECT_TRUE(c.passed()) << c.message;
  EXPECT_EQ(c.message, "");
  EXPECT_EQ(c.max_abs_error, 0.0078125);
  // rel of the third element: FlashInfer-Bench's |want| + 1e-8 denominator.
  EXPECT_EQ(c.max_rel_error, 0.0009765625 / (0.0009765625 + 1e-8));
  EXPECT_EQ(c.matched_ratio, 1.0);
  ASSERT_EQ(c.outputs.size(), 1u);
  EXPECT_EQ(c.outputs[0].mismatches, 0);
  EXPECT_EQ(c.outputs[0].first_failure, "");
}

TEST(CompareElementwise, FailsOnlyWhenBothAtolAndRtolAreExceeded) {
  // abs 0.5 > atol, rel 0.005 <= rtol: passes.
  EXPECT_TRUE(compare_1d({100.5}, {100.0}).passed());
  // abs 0.005 <= atol, rel 50 > rtol: passes.
  EXPECT_TRUE(compare_1d({0.0051}, {1e-4}).passed());
  // Both exceeded.
  const Comparison c = compare_1d({1.0, 1.5, 2.0, 3.0}, {1.0, 1.0, 2.0, 3.0});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "output 'out' [1]: got 1.5 expected 1 (abs 0.5 > atol 0.01 and rel 0.5 > rtol 0.01); "
                       "1 of 4 elements fail");
  EXPECT_EQ(c.matched_ratio, 0.75);
  EXPECT_EQ(c.max_abs_error, 0.5);
  EXPECT_EQ(c.outputs[0].mismatches, 1);
}

TEST(CompareElementwise, BoundaryIsStrictlyGreater) {
  // Exactly at atol (0.25, 0.5 and 0.75 are exact in binary): not "exceeded".
  Tolerance tol{0.25, 0.0, 1.0};
  EXPECT_TRUE(compare_1d({0.75}, {0.5}, tol).passed());
  EXPECT_FALSE(compare_1d({0.875}, {0.5}, tol).passed());
}

TEST(CompareElementwise, MessageNamesTheMultiIndexOfTheFirstFailure) {
  const Definition def = outputs_def("test_op", {{"new_state", spec({"a", "b", "c"}, DType::kBFloat16)}});
  const Axes axes{{"a", 2}, {"b", 3}, {"c", 4}};
  Tensor want(DType::kBFloat16, {2, 3, 4});
  Tensor got = want;
  got.set(1 * 12 + 2 * 4 + 3, 0.25);  // [1, 2, 3]
  const Comparison c = compare_outputs(def, axes, {}, {{"new_state", want}}, {{"new_state", got}}, {});
  EXPECT_EQ(c.message, "output 'new_state' [1, 2, 3]: got 0.25 expected 0 (abs 0.25 > atol 0.01 and rel 2.5e+07 > "
                       "rtol 0.01); 1 of 24 elements fail");
  got.set(5, -8.0);  // [0, 1, 1] now comes first
  const Comparison c2 = compare_outputs(def, axes, {}, {{"new_state", want}}, {{"new_state", got}}, {});
  EXPECT_TRUE(contains(c2.message, "output 'new_state' [0, 1, 1]: got -8 expected 0")) << c2.message;
  EXPECT_TRUE(contains(c2.message, "2 of 24 elements fail")) << c2.message;
}

TEST(CompareElementwise, IntegersMustMatchExactly) {
  const Definition def = outputs_def("test_op", {{"ids", spec({"n"}, DType::kInt64)}});
  const Axes axes{{"n", 3}};
  Tensor want(DType::kInt64, {3});
  want.data<std::int64_t>()[2] = (std::int64_t{1} << 60) + 1;
  Tensor got = want;
  EXPECT_TRUE(compare_outputs(def, axes, {}, {{"ids", want}}, {{"ids", got}}, {}).passed());
  // One apart past 2^53, where a double could not tell them apart.
  got.data<std::int64_t>()[2] = std::int64_t{1} << 60;
  const Comparison c = compare_outputs(def, axes, {}, {{"ids", want}}, {{"ids", got}}, Tolerance{1e3, 1e3, 1.0});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "output 'ids' [2]: got 1152921504606846976 expected 1152921504606846977 (integers must "
                       "match exactly); 1 of 3 elements fail");
}

// ---------------------------------------------------------------------------------------------
// Non-finite values

TEST(CompareNonFinite, NanFailsUnlessTheReferenceIsNan) {
  EXPECT_TRUE(compare_1d({kNan, 1.0}, {kNan, 1.0}).passed());
  const Comparison c = compare_1d({1.0, kNan}, {1.0, 2.0});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "output 'out' [1]: got nan expected 2 (nan where the reference is finite); 1 of 2 elements fail");
  EXPECT_EQ(c.max_abs_error, kInf);
  EXPECT_EQ(c.max_rel_error, kInf);
  const Comparison r = compare_1d({3.0}, {kNan});
  EXPECT_EQ(r.status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(contains(r.message, "got 3 expected nan (the reference is nan here)")) << r.message;
}

TEST(CompareNonFinite, InfinityMustBeTheSameInfinity) {
  // DSA lse of an all-padding row: -inf on both sides matches (FlashInfer-Bench would fail it).
  EXPECT_TRUE(compare_1d({-kInf, 0.5}, {-kInf, 0.5}).passed());
  EXPECT_TRUE(compare_1d({kInf}, {kInf}).passed());
  const Comparison sign = compare_1d({kInf}, {-kInf});
  EXPECT_TRUE(contains(sign.message, "got inf expected -inf (the reference is -inf here)")) << sign.message;
  const Comparison finite_for_inf = compare_1d({-1e30}, {-kInf});
  EXPECT_EQ(finite_for_inf.status, EvalStatus::kIncorrectNumerical);
  const Comparison inf_for_finite = compare_1d({-kInf}, {-3.0});
  EXPECT_EQ(inf_for_finite.status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(contains(inf_for_finite.message, "-inf where the reference is finite")) << inf_for_finite.message;
}

TEST(CompareNonFinite, ErrorsAreOverFinitePairsOnly) {
  // Matching NaN and -inf contribute nothing; the one finite difference is the maximum.
  const Comparison c = compare_1d({kNan, -kInf, 1.0078125}, {kNan, -kInf, 1.0});
  EXPECT_TRUE(c.passed());
  EXPECT_EQ(c.max_abs_error, 0.0078125);
  EXPECT_FALSE(std::isnan(c.max_rel_error));
}

TEST(CompareNonFinite, NonFiniteMismatchFailsEvenWithinTheMatchedRatio) {
  // 1 of 100 elements is NaN: the MoE ratio (90%) would forgive a finite error, not this.
  std::vector<double> want(100, 1.0), got(100, 1.0);
  got[7] = kNan;
  const Tolerance moe{1.0, 0.3, 0.9};
  const Comparison c = compare_1d(got, want, moe);
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.matched_ratio, 0.99);
  EXPECT_TRUE(contains(c.message, "a non-finite mismatch fails the output whatever the matched ratio")) << c.message;
  got[7] = 50.0;  // the same element finite but wrong: forgiven
  EXPECT_TRUE(compare_1d(got, want, moe).passed());
}

// ---------------------------------------------------------------------------------------------
// Matched ratio (MoE)

TEST(CompareMatchedRatio, MoeToleranceAndNinetyPercentBoundary) {
  const Tolerance moe = default_tolerance(definition(kMoe));
  // MoE atol 1, rtol 0.3: 10 -> 12.5 has abs 2.5 but rel 0.25, passes; 2 -> 3.5 fails both.
  EXPECT_TRUE(compare_1d({12.5}, {10.0}, moe).passed());
  EXPECT_FALSE(compare_1d({3.5}, {2.0}, {1.0, 0.3, 1.0}).passed());

  std::vector<double> want(100, 2.0), got(100, 2.0);
  for (std::size_t i = 0; i < 10; ++i) got[i * 10] = 3.5;
  const Comparison at = compare_1d(got, want, moe, kMoe);
  EXPECT_TRUE(at.passed()) << at.message;
  EXPECT_EQ(at.matched_ratio, 0.9);
  EXPECT_EQ(at.outputs[0].mismatches, 10);
  // A passing output still says what mismatched.
  EXPECT_EQ(at.outputs[0].first_failure,
            "output 'out' [0]: got 3.5 expected 2 (abs 1.5 > atol 1 and rel 0.75 > rtol 0.3); 10 of 100 elements "
            "fail (matched ratio 0.9, required 0.9)");
  got[5] = 3.5;
  const Comparison below = compare_1d(got, want, moe, kMoe);
  EXPECT_EQ(below.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(below.matched_ratio, 0.89);
  EXPECT_TRUE(contains(below.message, "11 of 100 elements fail (matched ratio 0.89, required 0.9)")) << below.message;
}

// ---------------------------------------------------------------------------------------------
// Statuses: missing, shape, dtype, order

class CompareStatus : public ::testing::Test {
 protected:
  Definition m_def = outputs_def("test_op", {{"output", spec({"n", "m"}, DType::kBFloat16)},
                                             {"lse", spec({"n"}, DType::kFloat32)}});
  Axes m_axes{{"n", 2}, {"m", 3}};
  TensorMap m_expected{{"output", Tensor(DType::kBFloat16, {2, 3})}, {"lse", Tensor(DType::kFloat32, {2})}};

  Comparison run(const TensorMap& actual) const {
    return compare_outputs(m_def, m_axes, {}, m_expected, actual, {});
  }
};

TEST_F(CompareStatus, MissingOutputIsIncorrectShape) {
  TensorMap actual = m_expected;
  actual.erase("lse");
  const Comparison c = run(actual);
  EXPECT_EQ(c.status, EvalStatus::kIncorrectShape);
  EXPECT_EQ(c.message, "output 'lse' missing");
  EXPECT_EQ(c.outputs.size(), 2u);
  EXPECT_TRUE(c.outputs[0].status == EvalStatus::kPassed);
  EXPECT_EQ(c.max_abs_error, kInf);
  EXPECT_EQ(c.matched_ratio, 0.0);
}

TEST_F(CompareStatus, ShapeBeforeDtype) {
  TensorMap actual = m_expected;
  actual["output"] = Tensor(DType::kFloat32, {3, 2});  // wrong shape and dtype: shape wins
  EXPECT_EQ(run(actual).status, EvalStatus::kIncorrectShape);
  EXPECT_EQ(run(actual).message, "output 'output' has shape [3, 2], expected [2, 3]");
  actual["output"] = Tensor(DType::kFloat32, {2, 3});
  const Comparison c = run(actual);
  EXPECT_EQ(c.status, EvalStatus::kIncorrectDtype);
  EXPECT_EQ(c.message, "output 'output' has dtype float32, expected bfloat16");
}

TEST_F(CompareStatus, FirstFailingOutputInDefinitionOrderDecides) {
  TensorMap actual = m_expected;
  actual["output"].set(4, 1.0);
  actual["lse"] = Tensor(DType::kFloat32, {3});
  const Comparison c = run(actual);
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "output 'output' [1, 1]: got 1 expected 0 (abs 1 > atol 0.01 and rel 1e+08 > rtol 0.01); "
                       "1 of 6 elements fail; also failing: 'lse' (INCORRECT_SHAPE)");
  EXPECT_EQ(c.outputs[1].status, EvalStatus::kIncorrectShape);
}

TEST_F(CompareStatus, UnusableReferenceOrToleranceThrows) {
  TensorMap expected = m_expected;
  expected.erase("lse");
  EXPECT_THROW(compare_outputs(m_def, m_axes, {}, expected, m_expected, {}), Error);
  expected = m_expected;
  expected["lse"] = Tensor(DType::kFloat32, {5});
  EXPECT_THROW(compare_outputs(m_def, m_axes, {}, expected, m_expected, {}), Error);
  EXPECT_THROW(compare_outputs(m_def, m_axes, {}, m_expected, m_expected, {-1.0, 0.0, 1.0}), Error);
  EXPECT_THROW(compare_outputs(m_def, m_axes, {}, m_expected, m_expected, {0.0, 0.0, 1.5}), Error);
}

TEST_F(CompareStatus, PoisonedOutputsAreReportedAsNotWritten) {
  TensorMap actual = m_expected;
  // The candidate wrote the first row of 'output' only.
  auto bytes = actual["output"].bytes();
  std::memset(bytes.data() + 6, 0xFF, 6);
  const Comparison c = run(actual);
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "output 'output' [1, 0]: got nan expected 0 (nan where the reference is finite; not written: "
                       "still the poison pattern); 3 of 6 elements fail, 3 of them not written (poison pattern)");
  EXPECT_EQ(c.outputs[0].not_written, 3);

  const Definition ints = outputs_def("test_op", {{"idx", spec({"n"}, DType::kInt32)}});
  Tensor want = tensor(DType::kInt32, {2}, {5, -1});
  Tensor got = want;
  got.data<std::int32_t>()[1] = 0x7F7F7F7F;
  const Comparison ci = compare_outputs(ints, {{"n", 2}}, {}, {{"idx", want}}, {{"idx", got}}, {});
  EXPECT_TRUE(contains(ci.message, "got 2139062143 expected -1 (integers must match exactly; not written")) << ci.message;
  EXPECT_EQ(ci.outputs[0].not_written, 1);
}

// ---------------------------------------------------------------------------------------------
// DSA top-k indexer on a hand-made cache

// 2 heads of dim 4, pages of 2 slots, 6 pages, 3 pages per row, topk 4. q head 0 reads k[0],
// head 1 reads k[1]; weights (1, 0.5), so score = relu(k0) + relu(k1) / 2.
// Row 0: seq_len 3 on block_table [4, 1, 3]:
//   t0 id 8 (2, 0) -> 2    t1 id 9 (1, 4) -> 3    t2 id 2 (1, 0) -> 1
//   id 3 (page 1 slot 1, position 3) is past seq_len; page 3 is listed but unused.
// Row 1: seq_len 6 on block_table [0, 5, 2]:
//   u0 id 0 (4, 0) -> 4    u1 id 1 (1, 0) -> 1    u2 id 10 (3, 0) -> 3
//   u3 id 11 (0, 2) -> 1   u4 id 4 (2, 0) -> 2    u5 id 5 (-1, -1) -> 0
// Reference: row 0 [9, 8, 2, -1]; row 1 [0, 10, 4, 1] (u1 and u3 tie; the lower position wins).
// Unused slots hold large decoy keys, so reading one would show.
class CompareIndexer : public ::testing::Test {
 protected:
  static constexpr std::int64_t kPageSize = 2, kDim = 4, kTopk = 4;

  CompareIndexer() {
    m_axes = {{"batch_size", 2},    {"num_index_heads", 2},    {"index_head_dim", kDim},
              {"page_size", kPageSize}, {"topk", kTopk},       {"max_num_pages", 3},
              {"num_pages", 6},     {"kv_cache_num_heads", 1}, {"head_dim_with_scale", kDim + 4}};
    m_inputs.emplace("q_index_fp8", tensor(DType::kFloat8E4M3FN, {2, 2, kDim}, {1, 0, 0, 0, 0, 1, 0, 0,  //
                                                                               1, 0, 0, 0, 0, 1, 0, 0}));
    m_inputs.emplace("k_index_cache_fp8", Tensor(DType::kInt8, {6, kPageSize, 1, kDim + 4}));
    m_inputs.emplace("weights", tensor(DType::kFloat32, {2, 2}, {1, 0.5, 1, 0.5}));
    m_inputs.emplace("seq_lens", tensor(DType::kInt32, {2}, {3, 6}));
    m_inputs.emplace("block_table", tensor(DType::kInt32, {2, 3}, {4, 1, 3, 0, 5, 2}));
    for (std::int64_t slot = 0; slot < 12; ++slot) put_key(slot, 8, 8);
    put_key(8, 2, 0);
    put_key(9, 1, 4);
    put_key(2, 1, 0);
    put_key(0, 4, 0);
    put_key(1, 1, 0);
    put_key(10, 3, 0);
    put_key(11, 0, 2);
    put_key(4, 2, 0);
    put_key(5, -1, -1);
    m_expected = ref::dsa_topk_indexer(m_axes, m_inputs);
  }

  // The deep_gemm page layout: page_size * dim fp8 values, then page_size float32 scales.
  void put_key(std::int64_t id, float k0, float k1) {
    const std::int64_t page = id / kPageSize, slot = id % kPageSize;
    std::byte* base = m_inputs.at("k_index_cache_fp8").bytes().data() + page * kPageSize * (kDim + 4);
    const std::vector<float> k{k0, k1, 0, 0};
    for (std::int64_t d = 0; d < kDim; ++d) {
      base[slot * kDim + d] = std::byte{float_to_fp8e4m3(k[static_cast<std::size_t>(d)]).bits};
    }
    const float scale = 1.0f;
    std::memcpy(base + kPageSize * kDim + slot * 4, &scale, sizeof scale);
  }

  Comparison run(const std::vector<std::int32_t>& row0, const std::vector<std::int32_t>& row1,
                 const Tolerance& tol = {}) const {
    Tensor got(DType::kInt32, {2, kTopk});
    std::copy(row0.begin(), row0.end(), got.data<std::int32_t>().begin());
    std::copy(row1.begin(), row1.end(), got.data<std::int32_t>().begin() + kTopk);
    return compare_outputs(definition(kDsaIndexer), m_axes, m_inputs, m_expected, {{"topk_indices", got}}, tol);
  }

  Axes m_axes;
  TensorMap m_inputs;
  TensorMap m_expected;
};

constexpr std::int32_t kPad = -1;

TEST_F(CompareIndexer, HandCaseReferenceIsAsDerived) {
  const auto ids = m_expected.at("topk_indices").data<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(ids.begin(), ids.end()),
            (std::vector<std::int32_t>{9, 8, 2, kPad, 0, 10, 4, 1}));
  EXPECT_EQ(ref::dsa_indexer_token_scores(m_axes, m_inputs, 1), (std::vector<double>{4, 1, 3, 1, 2, 0}));
  EXPECT_TRUE(run({9, 8, 2, kPad}, {0, 10, 4, 1}).passed());
}

TEST_F(CompareIndexer, PermutedSelectionAndPaddingAnywherePass) {
  const Comparison c = run({2, kPad, 9, 8}, {1, 4, 10, 0});
  EXPECT_TRUE(c.passed()) << c.message;
  EXPECT_EQ(c.max_abs_error, 0.0);
  EXPECT_EQ(c.matched_ratio, 1.0);
}

TEST_F(CompareIndexer, TieSwappedSelectionPasses) {
  // u3 (id 11) has the same score as u1 (id 1), which the reference kept.
  const Comparison c = run({9, 8, 2, kPad}, {0, 10, 4, 11});
  EXPECT_TRUE(c.passed()) << c.message;
}

TEST_F(CompareIndexer, SlotPastSeqLenFails) {
  const Comparison c = run({9, 8, 3, kPad}, {0, 10, 4, 1});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "topk_indices row 0 position 2: id 3 is on the row's logical page 1 but its position 3 is "
                       "past seq_len 3; 1 of 2 rows fail; 1 of 8 positions fail");
  EXPECT_EQ(c.max_abs_error, kInf);
}

TEST_F(CompareIndexer, SlotOutsideTheRowsPagesFails) {
  // Page 3 is in row 0's block_table, but past ceil(3 / 2) = 2 used pages.
  const Comparison c = run({9, 8, 6, kPad}, {0, 10, 4, 1});
  EXPECT_TRUE(contains(c.message, "topk_indices row 0 position 2: id 6 is not in the row's pages (page 3)"))
      << c.message;
  // A real page of the cache, but row 1's.
  EXPECT_TRUE(contains(run({9, 8, 0, kPad}, {0, 10, 4, 1}).message, "id 0 is not in the row's pages (page 0)"));
  // Not a slot at all.
  EXPECT_TRUE(contains(run({9, 8, 12, kPad}, {0, 10, 4, 1}).message,
                       "id 12 is not a slot of the cache (expected -1 or 0 <= id < 12)"));
  EXPECT_FALSE(run({9, 8, 2, -2}, {0, 10, 4, 1}).passed());
}

TEST_F(CompareIndexer, DuplicateFails) {
  const Comparison c = run({9, 8, 2, kPad}, {0, 10, 4, 0});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(contains(c.message, "topk_indices row 1 position 3: id 0 repeats position 0")) << c.message;
}

TEST_F(CompareIndexer, WrongCountFails) {
  const Comparison c = run({9, 8, kPad, kPad}, {0, 10, 4, 1});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(contains(c.message, "topk_indices row 0: 2 ids selected, expected min(topk 4, seq_len 3) = 3"))
      << c.message;
  EXPECT_FALSE(run({9, 8, 2, kPad}, {0, 10, 4, kPad}).passed());
}

TEST_F(CompareIndexer, LowerScoringSelectionFails) {
  // u5 (id 5, score 0) instead of u1 (score 1).
  const Comparison c = run({9, 8, 2, kPad}, {5, 10, 4, 0});
  EXPECT_EQ(c.status, EvalStatus::kIncorrectNumerical);
  EXPECT_EQ(c.message, "topk_indices row 1 position 0 (id 5): score 0 is rank 3 of the selection, the reference's "
                       "rank-3 score is 1 (abs 1 > atol 0.01 and rel 1 > rtol 0.01): a lower-scoring token was "
                       "selected; 1 of 2 rows fail; 1 of 8 positions fail");
  EXPECT_EQ(c.max_abs_error, 1.0);
  EXPECT_EQ(c.matched_ratio, 7.0 / 8.0);
  // The score comparison uses the tolerance: with atol 1 a score off by 1 is accepted.
  EXPECT_TRUE(run({9, 8, 2, kPad}, {5, 10, 4, 0}, {1.0, 0.01, 1.0}).passed());
}

TEST_F(CompareIndexer, PoisonedEntryIsNotWritten) {
  const Comparison c = run({9, 8, 2, kPad}, {0, 10, 0x7F7F7F7F, 1});
  EXPECT_TRUE(contains(c.message, "row 1 position 2: id 2139062143 is the poison pattern (not written)"))
      << c.message;
  EXPECT_TRUE(contains(c.message, "1 of them not written")) << c.message;
  EXPECT_EQ(c.outputs[0].not_written, 1);
  // A kernel that wrote nothing: every position fails, and no more than every position.
  const std::int32_t p = 0x7F7F7F7F;
  const Comparison none = run({p, p, p, p}, {p, p, p, p});
  EXPECT_EQ(none.message, "topk_indices row 0 position 0: id 2139062143 is the poison pattern (not written); "
                          "2 of 2 rows fail; 8 of 8 positions fail, 8 of them not written (poison pattern)");
  EXPECT_EQ(none.matched_ratio, 0.0);
}

TEST_F(CompareIndexer, EmptyRowMustBeAllPadding) {
  m_inputs.at("seq_lens").set(0, 0);
  m_expected = ref::dsa_topk_indexer(m_axes, m_inputs);
  EXPECT_TRUE(run({kPad, kPad, kPad, kPad}, {0, 10, 4, 1}).passed());
  EXPECT_TRUE(contains(run({8, kPad, kPad, kPad}, {0, 10, 4, 1}).message, "id 8 is not in the row's pages"));
}

TEST_F(CompareIndexer, InvalidReferenceRowThrows) {
  m_expected.at("topk_indices").data<std::int32_t>()[1] = 9;  // row 0 [9, 9, 2, -1]
  EXPECT_THROW(run({9, 8, 2, kPad}, {0, 10, 4, 1}), Error);
}

// ---------------------------------------------------------------------------------------------
// Oracle outputs on small synthesized workloads, against themselves and perturbed copies

// A definition with smaller const axes (the oracles read sizes from the axes) and the first
// bundled workload with its var axes replaced.
struct Case {
  Definition def;
  SynthesizedInputs in;
  TensorMap out;

  Comparison compare(const TensorMap& actual) const {
    return compare_outputs(def, in.axes, in.tensors, out, actual, default_tolerance(def));
  }
};

Case oracle_case(const std::string& name, const AxisValues& consts, const AxisValues& vars, std::uint64_t seed) {
  Case c;
  c.def = test_support::shrunk(definition(name), consts);
  Workload w = test_support::workload(name, vars);
  if (InputSpec* offset = w.inputs.find("local_expert_offset")) offset->scalar_value = 0;  // tokens route here
  c.in = synthesize_inputs(c.def, w, &bundled(), seed);
  c.out = run_oracle(c.def, c.in.axes, c.in.tensors);
  return c;
}

Case gdn_decode_case(std::uint64_t seed) { return oracle_case(kGdnDecode, {}, {{"batch_size", 3}}, seed); }

Case gdn_prefill_case(std::uint64_t seed) {
  return oracle_case(kGdnPrefill, {}, {{"total_seq_len", 24}, {"num_seqs", 2}, {"len_cu_seqlens", 3}}, seed);
}

Case dsa_attention_case(std::uint64_t seed) {
  return oracle_case(kDsaAttention,
                     {{"num_qo_heads", 2}, {"head_dim_ckv", 32}, {"head_dim_kpe", 8}, {"page_size", 8}, {"topk", 16}},
                     {{"num_tokens", 6}, {"num_pages", 16}}, seed);
}

Case indexer_case(std::uint64_t seed) {
  return oracle_case(kDsaIndexer,
                     {{"num_index_heads", 4}, {"index_head_dim", 16}, {"head_dim_with_scale", 20}, {"page_size", 8},
                      {"topk", 32}},
                     {{"batch_size", 5}, {"max_num_pages", 6}, {"num_pages", 40}}, seed);
}

Case moe_case(std::uint64_t seed) {
  return oracle_case(kMoe,
                     {{"num_experts", 64},
                      {"num_local_experts", 8},
                      {"hidden_size", 256},
                      {"intermediate_size", 128},
                      {"gemm1_out_size", 256},
                      {"num_hidden_blocks", 2},
                      {"num_intermediate_blocks", 1},
                      {"num_gemm1_out_blocks", 2}},
                     {{"seq_len", 16}}, seed);
}

// `count` distinct flat indices of [0, n).
std::vector<std::int64_t> pick(std::mt19937_64& rng, std::int64_t n, std::int64_t count) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(count));
  return all;
}

TEST(CompareOracle, EveryOracleMatchesItself) {
  for (const std::uint64_t seed : {1u, 2u}) {
    for (const Case& c : {gdn_decode_case(seed), gdn_prefill_case(seed), dsa_attention_case(seed),
                          indexer_case(seed), moe_case(seed)}) {
      SCOPED_TRACE(c.def.name + " seed " + std::to_string(seed));
      const Comparison r = c.compare(c.out);
      EXPECT_TRUE(r.passed()) << r.message;
      EXPECT_EQ(r.max_abs_error, 0.0);
      EXPECT_EQ(r.max_rel_error, 0.0);
      EXPECT_EQ(r.matched_ratio, 1.0);
      EXPECT_EQ(r.outputs.size(), c.def.outputs.size());
    }
  }
}

TEST(CompareOracle, PerturbedElementsAreCountedExactly) {
  // Moves past both tolerances (|d| >= 0.5 + |x|) fail; moves within rtol (0.2% of |x|) pass.
  for (const std::uint64_t seed : {3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (const Case& c : {gdn_decode_case(seed), gdn_prefill_case(seed)}) {
      for (const std::string& name : {std::string("output"), std::string("new_state")}) {
        SCOPED_TRACE(c.def.name + " " + name);
        const Tensor& want = c.out.at(name);
        TensorMap actual = c.out;
        Tensor& got = actual.at(name);
        for (std::int64_t i = 0; i < got.numel(); ++i) got.set(i, want.get(i) * 1.002);
        const std::int64_t bad = std::uniform_int_distribution<std::int64_t>(1, 20)(rng);
        for (const std::int64_t i : pick(rng, want.numel(), bad)) {
          const double x = want.get(i);
          got.set(i, x + std::copysign(0.5 + 2.0 * std::fabs(x), x));
        }
        const Comparison r = c.compare(actual);
        EXPECT_EQ(r.status, EvalStatus::kIncorrectNumerical);
        const OutputComparison& oc = name == "output" ? r.outputs[0] : r.outputs[1];
        EXPECT_EQ(oc.mismatches, bad) << r.message;
        EXPECT_EQ(oc.matched_ratio, static_cast<double>(want.numel() - bad) / static_cast<double>(want.numel()));
        EXPECT_GE(oc.max_abs_error, 0.5);
        EXPECT_TRUE(contains(r.message, std::to_string(bad) + " of " + std::to_string(want.numel()) +
                                            " elements fail"))
            << r.message;
      }
    }
  }
}

TEST(CompareOracle, DsaAttentionComparesOutputAndLseIncludingNegativeInfinity) {
  Case c = dsa_attention_case(6);
  // Token 2 selects nothing: its lse is -inf and its output zero, which must still match.
  Tensor& indices = c.in.tensors.at("sparse_indices");
  const std::int64_t topk = indices.dim(1);
  for (std::int64_t j = 0; j < topk; ++j) indices.set(2 * topk + j, -1);
  c.out = run_oracle(c.def, c.in.axes, c.in.tensors);
  ASSERT_EQ(c.out.at("lse").get(2 * 2), -kInf);
  EXPECT_TRUE(c.compare(c.out).passed());

  TensorMap zero_lse = c.out;
  zero_lse.at("lse").set(2 * 2, 0.0);
  const Comparison z = c.compare(zero_lse);
  EXPECT_EQ(z.status, EvalStatus::kIncorrectNumerical);
  EXPECT_TRUE(contains(z.message, "output 'lse' [2, 0]: got 0 expected -inf (the reference is -inf here)")) << z.message;

  TensorMap bad_lse = c.out;
  bad_lse.at("lse").set(0, bad_lse.at("lse").get(0) + 1.0);
  EXPECT_TRUE(contains(c.compare(bad_lse).message, "output 'lse' [0, 0]")) << c.compare(bad_lse).message;

  TensorMap no_lse = c.out;
  no_lse.erase("lse");
  EXPECT_EQ(c.compare(no_lse).status, EvalStatus::kIncorrectShape);

  TensorMap f32_output = c.out;
  Tensor widened(DType::kFloat32, c.out.at("output").shape());
  for (std::int64_t i = 0; i < widened.numel(); ++i) widened.set(i, c.out.at("output").get(i));
  f32_output.at("output") = widened;
  EXPECT_EQ(c.compare(f32_output).status, EvalStatus::kIncorrectDtype);
}

TEST(CompareOracle, MoeForgivesUpToTenPercentOfElements) {
  for (const std::uint64_t seed : {7u, 8u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Case c = moe_case(seed);
    std::mt19937_64 rng(seed);
    const Tensor& want = c.out.at("output");
    const std::int64_t n = want.numel();
    const auto perturbed = [&](std::int64_t count) {
      TensorMap actual = c.out;
      for (const std::int64_t i : pick(rng, n, count)) {
        actual.at("output").set(i, want.get(i) + 16.0 + 2.0 * std::fabs(want.get(i)));  // abs > 1, rel > 2
      }
      return c.compare(actual);
    };
    const Comparison within = perturbed(n / 10);
    EXPECT_TRUE(within.passed()) << within.message;
    EXPECT_EQ(within.outputs[0].mismatches, n / 10);
    const Comparison beyond = perturbed(n / 10 + 1);
    EXPECT_EQ(beyond.status, EvalStatus::kIncorrectNumerical);
    // A single NaN is not forgiven.
    TensorMap nan = c.out;
    nan.at("output").set(std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng), kNan);
    EXPECT_EQ(c.compare(nan).status, EvalStatus::kIncorrectNumerical);
  }
}

TEST(CompareOracle, IndexerAcceptsShuffledRowsAndRejectsWorseSelections) {
  for (const std::uint64_t seed : {9u, 10u, 11u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Case c = indexer_case(seed);
    std::mt19937_64 rng(seed);
    const Tensor& want = c.out.at("topk_indices");
    const std::int64_t rows = want.dim(0), topk = want.dim(1), page_size = c.in.axes.at("page_size");
    const std::int64_t max_pages = c.in.axes.at("max_num_pages");

    TensorMap shuffled = c.out;
    auto ids = shuffled.at("topk_indices").data<std::int32_t>();
    for (std::int64_t b = 0; b < rows; ++b) std::shuffle(ids.begin() + b * topk, ids.begin() + (b + 1) * topk, rng);
    const Comparison s = c.compare(shuffled);
    EXPECT_TRUE(s.passed()) << s.message;

    // In a row with unselected tokens, replace the best selected token by the worst unselected.
    const auto lens = c.in.tensors.at("seq_lens").data<std::int32_t>();
    const auto table = c.in.tensors.at("block_table").data<std::int32_t>();
    bool replaced = false;
    for (std::int64_t b = 0; b < rows && !replaced; ++b) {
      const std::int64_t len = lens[static_cast<std::size_t>(b)];
      if (len <= topk) continue;
      const std::vector<double> scores = ref::dsa_indexer_token_scores(c.in.axes, c.in.tensors, b);
      const auto slot = [&](std::int64_t t) {
        return static_cast<std::int32_t>(table[static_cast<std::size_t>(b * max_pages + t / page_size)] * page_size +
                                         t % page_size);
      };
      const auto row = want.data<std::int32_t>().subspan(static_cast<std::size_t>(b * topk),
                                                         static_cast<std::size_t>(topk));
      const std::set<std::int32_t> chosen(row.begin(), row.end());
      std::int64_t worst = -1;
      for (std::int64_t t = 0; t < len; ++t) {
        if (chosen.count(slot(t))) continue;
        if (worst < 0 || scores[static_cast<std::size_t>(t)] < scores[static_cast<std::size_t>(worst)]) worst = t;
      }
      const double best = *std::max_element(scores.begin(), scores.end());
      if (std::fabs(best - scores[static_cast<std::size_t>(worst)]) < 1.0) continue;  // too close to tell
      TensorMap worse = c.out;
      worse.at("topk_indices").data<std::int32_t>()[static_cast<std::size_t>(b * topk)] = slot(worst);
      const Comparison w = c.compare(worse);
      EXPECT_EQ(w.status, EvalStatus::kIncorrectNumerical);
      EXPECT_TRUE(contains(w.message, "topk_indices row " + std::to_string(b))) << w.message;
      EXPECT_TRUE(contains(w.message, "a lower-scoring token was selected")) << w.message;
      replaced = true;
    }
    EXPECT_TRUE(replaced) << "no row with more tokens than topk and a clear score gap";

    TensorMap duplicated = c.out;
    auto d = duplicated.at("topk_indices").data<std::int32_t>();
    d[1] = d[0];
    EXPECT_TRUE(contains(c.compare(duplicated).message, "position 1: id " + std::to_string(d[0]) +
                                                            " repeats position 0"));
  }
}

}  // namespace
}  // namespace kforge
