// Tests of the roofline module: byte and FLOP counts per operator (checked against sums written
// out from the tensor shapes, not against the module's own helpers), value-dependent counts
// (MoE routing, valid DSA indices, indexer context lengths) on hand-built values, and the device
// presets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "roofline/roofline.h"
#include "synth/synthesizer.h"
#include "test_support.h"
#include "trace/axes.h"

namespace kforge {
namespace {

using namespace test_support;  // definition names, bundled dataset, small workloads

Axes axes_of(const std::string& def_name, const AxisValues& var) {
  return resolve_axes(definition(def_name), workload(def_name, var));
}

const DevicePeaks& h100() {
  static const DevicePeaks p = device_peaks("h100");
  return p;
}

// Floors in microseconds from bytes and FLOPs at the given rates.
double memory_us(double bytes, double gbps) { return bytes / (gbps * 1e9) * 1e6; }
double compute_us(double flops, double tflops) { return flops / (tflops * 1e12) * 1e6; }

void expect_rel(double got, double want, double rel = 1e-12) {
  EXPECT_NEAR(got, want, std::fabs(want) * rel) << "got " << got << ", want " << want;
}

// ---------------------------------------------------------------------------------------------
// GDN

TEST(RooflineGdn, DecodeB64MovesTheStateTwiceAndIsMemoryBound) {
  const auto e = estimate_roofline(definition(kGdnDecode), axes_of(kGdnDecode, {{"batch_size", 64}}), nullptr, h100());
  const double b = 64;
  const double state = b * 8 * 128 * 128 * 4;  // fp32 [B, HV, V, K]
  const double q_k = 2 * b * 1 * 4 * 128 * 2;   // bf16 [B, 1, 4, 128] each
  const double v = b * 1 * 8 * 128 * 2;         // bf16 [B, 1, 8, 128]
  const double output = v;
  const double a_b = 2 * b * 1 * 8 * 2;  // bf16 [B, 1, 8] each
  const double per_head = 2 * 8 * 4;     // A_log, dt_bias fp32 [8]
  const double want = 2 * state + q_k + v + output + a_b + per_head;
  EXPECT_EQ(want, 67504192.0);
  EXPECT_DOUBLE_EQ(e.bytes, want);
  EXPECT_NEAR(e.bytes / 1e6, 67.5, 0.01);
  // 67.5 MB at the measured 2969 GB/s copy rate.
  expect_rel(e.memory_floor_us, memory_us(want, 2969));
  EXPECT_NEAR(e.memory_floor_us, 22.7, 0.05);
  EXPECT_DOUBLE_EQ(e.flops, b * 8 * 8 * 128 * 128);
  EXPECT_EQ(e.math, "fp32");
  expect_rel(e.compute_floor_us, compute_us(e.flops, 67));
  EXPECT_EQ(e.bound(), "memory");
  EXPECT_DOUBLE_EQ(e.floor_us(), e.memory_floor_us);

  // Linear in the batch: B=1 moves 1/64 of it.
  const auto one = estimate_roofline(definition(kGdnDecode), axes_of(kGdnDecode, {{"batch_size", 1}}), nullptr, h100());
  expect_rel(one.bytes, (want - per_head) / 64 + per_head);
}

TEST(RooflineGdn, PrefillCountsTokensAndSequenceStates) {
  const double t = 8192, n = 20;
  const auto e = estimate_roofline(definition(kGdnPrefill),
                                   axes_of(kGdnPrefill, {{"total_seq_len", 8192}, {"num_seqs", 20}, {"len_cu_seqlens", 21}}),
                                   nullptr, h100());
  const double per_token = 2 * 4 * 128 * 2   // q, k
                           + 8 * 128 * 2     // v
                           + 2 * 8 * 2       // a, b
                           + 8 * 128 * 2;    // output
  const double want = t * per_token + 2 * n * 8 * 128 * 128 * 4 + (n + 1) * 8 + 2 * 8 * 4;
  EXPECT_DOUBLE_EQ(e.bytes, want);
  EXPECT_DOUBLE_EQ(e.flops, t * 8 * (6 * 64 * 128 + 6 * 128 * 128 + 4 * 64 * 128));
  EXPECT_EQ(e.math, "bf16");
  expect_rel(e.compute_floor_us, compute_us(e.flops, 800));
  expect_rel(e.memory_floor_us, memory_us(want, 2969));
}

// ---------------------------------------------------------------------------------------------
// MoE

struct MoeCase {
  std::int64_t tokens;
  std::vector<std::vector<std::int32_t>> picks;  // per token, the 8 experts it must choose
};

// Routing values that make each token choose exactly its listed experts: logits +10 there and
// -10 elsewhere, zero bias. Their groups then score highest and are kept.
TensorMap moe_values(const MoeCase& c, std::int32_t offset) {
  TensorMap v;
  Tensor logits(DType::kFloat32, {c.tokens, 256});
  auto l = logits.data<float>();
  std::fill(l.begin(), l.end(), -10.0f);
  for (std::int64_t t = 0; t < c.tokens; ++t) {
    for (auto e : c.picks[static_cast<std::size_t>(t)]) l[static_cast<std::size_t>(t * 256 + e)] = 10.0f;
  }
  v.emplace("routing_logits", std::move(logits));
  v.emplace("routing_bias", Tensor(DType::kBFloat16, {256}));
  v.emplace("local_expert_offset", Tensor::scalar<std::int32_t>(offset));
  v.emplace("routed_scaling_factor", Tensor::scalar<float>(2.5f));
  return v;
}

std::vector<std::int32_t> experts(std::int32_t first, std::int32_t count) {
  std::vector<std::int32_t> out;
  for (std::int32_t i = 0; i < count; ++i) out.push_back(first + i);
  return out;
}

// Everything but the expert weights, for T tokens.
double moe_activation_bytes(double t) {
  return t * 256 * 4      // routing_logits fp32
         + 256 * 2        // routing_bias bf16
         + t * 7168       // hidden_states fp8
         + 56 * t * 4     // hidden_states_scale fp32
         + t * 7168 * 2;  // output bf16
}

const double kMoeWeightBytes = 32.0 * 4096 * 7168 + 32.0 * 32 * 56 * 4 + 32.0 * 7168 * 2048 + 32.0 * 56 * 16 * 4;
const double kFlopsPerPair = 6.0 * 7168 * 2048;

TEST(RooflineMoe, BytesScaleWithActiveExpertsAndFlopsWithPairs) {
  const Definition& def = definition(kMoe);
  const Axes a4 = axes_of(kMoe, {{"seq_len", 4}});
  // About 44 MB per expert, 1.41 GB for all 32 (kernels.md section 4).
  EXPECT_NEAR(kMoeWeightBytes / 32 / 1e6, 44.05, 0.01);

  // All local: token t takes experts 8t..8t+7, so the four tokens cover all 32 local experts.
  MoeCase all_local{4, {experts(0, 8), experts(8, 8), experts(16, 8), experts(24, 8)}};
  TensorMap values = moe_values(all_local, 0);
  auto e = estimate_roofline(def, a4, &values, h100());
  EXPECT_DOUBLE_EQ(e.bytes, moe_activation_bytes(4) + kMoeWeightBytes);
  EXPECT_DOUBLE_EQ(e.flops, 32 * kFlopsPerPair);
  EXPECT_NE(e.basis.find("32 of 32 local experts active, 32 token-expert pairs"), std::string::npos) << e.basis;
  EXPECT_EQ(e.math, "fp8");
  expect_rel(e.compute_floor_us, compute_us(e.flops, 1463));

  // The same routing seen from the rank holding experts 32..63: nothing is local, no weight
  // needs to be read and there is no math.
  values = moe_values(all_local, 32);
  e = estimate_roofline(def, a4, &values, h100());
  EXPECT_DOUBLE_EQ(e.bytes, moe_activation_bytes(4));
  EXPECT_DOUBLE_EQ(e.flops, 0);
  EXPECT_NE(e.basis.find("0 of 32 local experts active, 0 token-expert pairs"), std::string::npos) << e.basis;

  // Every token on the same 8 local experts: 32 pairs but only a quarter of the weights.
  MoeCase shared{4, {experts(0, 8), experts(0, 8), experts(0, 8), experts(0, 8)}};
  values = moe_values(shared, 0);
  e = estimate_roofline(def, a4, &values, h100());
  EXPECT_DOUBLE_EQ(e.bytes, moe_activation_bytes(4) + kMoeWeightBytes * 8 / 32);
  EXPECT_DOUBLE_EQ(e.flops, 32 * kFlopsPerPair);

  // One token split between the local group (4 experts) and a remote one (4 experts).
  MoeCase split{1, {{0, 1, 2, 3, 40, 41, 42, 43}}};
  values = moe_values(split, 0);
  e = estimate_roofline(def, axes_of(kMoe, {{"seq_len", 1}}), &values, h100());
  EXPECT_DOUBLE_EQ(e.bytes, moe_activation_bytes(1) + kMoeWeightBytes * 4 / 32);
  EXPECT_DOUBLE_EQ(e.flops, 4 * kFlopsPerPair);
  EXPECT_EQ(e.bound(), "memory");
}

TEST(RooflineMoe, WithoutValuesEveryExpertIsActive) {
  const auto e = estimate_roofline(definition(kMoe), axes_of(kMoe, {{"seq_len", 4}}), nullptr, h100());
  EXPECT_DOUBLE_EQ(e.bytes, moe_activation_bytes(4) + kMoeWeightBytes);
  EXPECT_DOUBLE_EQ(e.flops, 4 * 8 * kFlopsPerPair);
  EXPECT_NE(e.basis.find("upper bound"), std::string::npos);
  // T=1, all weights: 1.41 GB at 2969 GB/s is ~475 us (memory-bound weight streaming).
  const auto one = estimate_roofline(definition(kMoe), axes_of(kMoe, {{"seq_len", 1}}), nullptr, h100());
  EXPECT_NEAR(one.memory_floor_us, 475, 2);
  EXPECT_EQ(one.bound(), "memory");
}

TEST(RooflineMoe, SynthesizedRoutingValuesGiveABoundedCount) {
  // As `kforge roofline` does: synthesize only the inputs the count depends on.
  const Definition& def = definition(kMoe);
  const Workload w = workload(kMoe, {{"seq_len", 16}});
  const std::set<std::string> only = roofline_value_inputs(def);
  EXPECT_EQ(only, (std::set<std::string>{"routing_logits", "routing_bias", "local_expert_offset",
                                         "routed_scaling_factor"}));
  const auto values = synthesize_inputs(def, w, &bundled(), 0, &only);
  const auto e = estimate_roofline(def, values.axes, &values.tensors, h100());
  const auto bound = estimate_roofline(def, values.axes, nullptr, h100());
  EXPECT_NE(e.basis.find("local experts active"), std::string::npos) << e.basis;
  EXPECT_LE(e.bytes, bound.bytes);
  EXPECT_GE(e.bytes, moe_activation_bytes(16));
  EXPECT_LE(e.flops, bound.flops);
  // The FLOPs are a whole number of pairs.
  const double pairs = e.flops / kFlopsPerPair;
  EXPECT_NEAR(pairs, std::round(pairs), 1e-9);
}

// ---------------------------------------------------------------------------------------------
// DSA

TEST(RooflineDsa, AttentionCountsOnlyValidIndices) {
  const Definition& def = definition(kDsaAttention);
  const Axes a = axes_of(kDsaAttention, {{"num_tokens", 2}, {"num_pages", 8462}});
  Tensor idx(DType::kInt32, {2, 2048});
  auto d = idx.data<std::int32_t>();
  std::fill(d.begin(), d.end(), -1);
  for (std::int32_t j = 0; j < 100; ++j) d[static_cast<std::size_t>(j)] = 5000 + 3 * j;  // row 0: 100 valid
  for (std::int32_t j = 0; j < 37; ++j) d[static_cast<std::size_t>(2048 + j)] = j;     // row 1: 37 valid
  TensorMap values;
  values.emplace("sparse_indices", std::move(idx));
  const auto e = estimate_roofline(def, a, &values, h100());
  const double n = 2, valid = 137;
  const double fixed = n * 16 * 512 * 2   // q_nope
                       + n * 16 * 64 * 2  // q_pe
                       + n * 2048 * 4     // sparse_indices
                       + n * 16 * 512 * 2 // output
                       + n * 16 * 4;      // lse
  EXPECT_DOUBLE_EQ(e.bytes, fixed + valid * (512 + 64) * 2);
  EXPECT_DOUBLE_EQ(e.flops, 2 * 16 * valid * (576 + 512));
  EXPECT_NE(e.basis.find("137 valid of 4096"), std::string::npos) << e.basis;
  EXPECT_EQ(e.math, "bf16");
  EXPECT_EQ(e.bound(), "memory");

  // Without the indices every slot counts; the 8462-page cache itself never does.
  const auto bound = estimate_roofline(def, a, nullptr, h100());
  EXPECT_DOUBLE_EQ(bound.bytes, fixed + 4096.0 * 576 * 2);
  EXPECT_LT(bound.bytes, 30e6);
}

TEST(RooflineDsa, IndexerCountsContextTokens) {
  const Definition& def = definition(kDsaIndexer);
  const Axes a = axes_of(kDsaIndexer, {{"batch_size", 3}, {"max_num_pages", 10}, {"num_pages", 11923}});
  Tensor lens(DType::kInt32, {3});
  lens.data<std::int32_t>()[0] = 100;
  lens.data<std::int32_t>()[1] = 640;
  lens.data<std::int32_t>()[2] = 1;
  TensorMap values;
  values.emplace("seq_lens", std::move(lens));
  const auto e = estimate_roofline(def, a, &values, h100());
  const double b = 3, tokens = 741;
  const double fixed = b * 64 * 128   // q_index_fp8
                       + b * 64 * 4   // weights
                       + b * 4        // seq_lens
                       + b * 10 * 4   // block_table
                       + b * 2048 * 4;  // topk_indices
  EXPECT_DOUBLE_EQ(e.bytes, fixed + tokens * 132);
  EXPECT_DOUBLE_EQ(e.flops, 2 * 64 * 128 * tokens);
  EXPECT_NE(e.basis.find("741 context tokens"), std::string::npos) << e.basis;
  EXPECT_EQ(e.math, "fp8");
  expect_rel(e.compute_floor_us, compute_us(e.flops, 1463));

  const auto bound = estimate_roofline(def, a, nullptr, h100());
  EXPECT_DOUBLE_EQ(bound.bytes, fixed + 3 * 10 * 64 * 132.0);
  EXPECT_NE(bound.basis.find("upper bound"), std::string::npos);
}

TEST(RooflineDsa, ValueInputsNameWhatTheCountReads) {
  EXPECT_EQ(roofline_value_inputs(definition(kDsaAttention)), (std::set<std::string>{"sparse_indices"}));
  EXPECT_EQ(roofline_value_inputs(definition(kDsaIndexer)), (std::set<std::string>{"seq_lens"}));
  EXPECT_TRUE(roofline_value_inputs(definition(kGdnDecode)).empty());
  EXPECT_TRUE(roofline_value_inputs(definition(kGdnPrefill)).empty());
}

// ---------------------------------------------------------------------------------------------
// Devices

TEST(RooflineDevice, PresetsAndOverrides) {
  const DevicePeaks measured = device_peaks("h100");
  EXPECT_EQ(measured.name, "h100");
  EXPECT_EQ(measured.bandwidth_gbps, 2969);
  EXPECT_EQ(measured.bf16_tflops, 800);
  EXPECT_EQ(measured.fp8_tflops, 1463);
  EXPECT_EQ(measured.fp32_tflops, 67);
  const DevicePeaks spec = device_peaks("h100-spec");
  EXPECT_EQ(spec.name, "h100-spec");
  EXPECT_EQ(spec.bandwidth_gbps, 3350);
  EXPECT_EQ(spec.bf16_tflops, 989);
  EXPECT_EQ(spec.fp8_tflops, 1979);
  EXPECT_EQ(spec.fp32_tflops, 67);

  // Every listed preset resolves.
  std::stringstream names(device_preset_names());
  std::string name;
  int count = 0;
  while (std::getline(names, name, ',')) {
    name.erase(0, name.find_first_not_of(' '));
    EXPECT_NO_THROW(device_peaks(name)) << name;
    ++count;
  }
  EXPECT_EQ(count, 2);

  // An override (as --bandwidth does) moves the memory floor only; bytes and FLOPs stay.
  const Definition& def = definition(kGdnDecode);
  const Axes a = axes_of(kGdnDecode, {{"batch_size", 64}});
  const auto base = estimate_roofline(def, a, nullptr, measured);
  DevicePeaks slow = measured;
  slow.bandwidth_gbps = measured.bandwidth_gbps / 2;
  const auto halved = estimate_roofline(def, a, nullptr, slow);
  EXPECT_DOUBLE_EQ(halved.bytes, base.bytes);
  expect_rel(halved.memory_floor_us, 2 * base.memory_floor_us);
  EXPECT_DOUBLE_EQ(halved.compute_floor_us, base.compute_floor_us);
  const auto datasheet = estimate_roofline(def, a, nullptr, spec);
  expect_rel(datasheet.memory_floor_us, memory_us(base.bytes, 3350));

  // A compute override changes the compute floor of the matching precision only.
  const Axes pa = axes_of(kGdnPrefill, {{"total_seq_len", 8192}, {"num_seqs", 20}, {"len_cu_seqlens", 21}});
  DevicePeaks fast_bf16 = measured;
  fast_bf16.bf16_tflops = 1600;
  const auto p0 = estimate_roofline(definition(kGdnPrefill), pa, nullptr, measured);
  const auto p1 = estimate_roofline(definition(kGdnPrefill), pa, nullptr, fast_bf16);
  expect_rel(p1.compute_floor_us, p0.compute_floor_us / 2);
  DevicePeaks fast_fp8 = measured;
  fast_fp8.fp8_tflops = 5000;
  EXPECT_DOUBLE_EQ(estimate_roofline(definition(kGdnPrefill), pa, nullptr, fast_fp8).compute_floor_us, p0.compute_floor_us);
}

TEST(RooflineDevice, UnknownPresetListsPresets) {
  try {
    device_peaks("a100");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("a100"), std::string::npos) << what;
    EXPECT_NE(what.find("h100"), std::string::npos) << what;
    EXPECT_NE(what.find("h100-spec"), std::string::npos) << what;
  }
}

TEST(RooflineDevice, UnknownDefinitionCountsInputsAndOutputsOnly) {
  Definition def = definition(kGdnDecode);
  def.name = "custom_recurrence";
  const Axes a = axes_of(kGdnDecode, {{"batch_size", 64}});
  const auto e = estimate_roofline(def, a, nullptr, h100());
  EXPECT_DOUBLE_EQ(e.bytes, 67504192.0);
  EXPECT_EQ(e.flops, 0);
  EXPECT_EQ(e.bound(), "memory");
}

}  // namespace
}  // namespace kforge
