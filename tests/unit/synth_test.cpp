// Tests of the input synthesizer: determinism of the counter-based streams, FlashInfer-Bench's
// random distributions, the invariants of the structured rules, compatibility with the CPU
// oracles, and the errors for missing or malformed blobs. Workloads are bundled ones with small
// axes (and, where the oracle runs, small const axes) so the whole file runs in about a second.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/float_types.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "ref/oracle.h"
#include "synth/distributions.h"
#include "synth/synthesizer.h"
#include "test_support.h"
#include "trace/axes.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

using namespace test_support;  // definition names, bundled dataset, small workloads

SynthesizedInputs synth(const Definition& def, const Workload& w, std::uint64_t seed,
                        const std::set<std::string>* only = nullptr) {
  return synthesize_inputs(def, w, &bundled(), seed, only);
}

struct Moments {
  double mean = 0;
  double stddev = 0;
  double within_one = 0;  // fraction with |x| < 1 (0.6827 for N(0,1); 0.577 for a uniform of std 1)
  std::size_t n = 0;
};

Moments moments(const std::vector<float>& v) {
  Moments m;
  m.n = v.size();
  double s = 0, s2 = 0;
  std::size_t inside = 0;
  for (float x : v) {
    s += x;
    s2 += static_cast<double>(x) * x;
    if (std::fabs(x) < 1.0f) ++inside;
  }
  const auto n = static_cast<double>(v.size());
  m.mean = s / n;
  m.stddev = std::sqrt(std::max(0.0, s2 / n - m.mean * m.mean));
  m.within_one = static_cast<double>(inside) / n;
  return m;
}

// Six standard errors: false alarms are out of reach, a wrong distribution (uniform with std 1,
// std 0.1, a shifted mean) is far outside.
void expect_standard_normal(const std::vector<float>& v, const std::string& what) {
  const Moments m = moments(v);
  const double n = static_cast<double>(m.n);
  SCOPED_TRACE(what + " (n=" + std::to_string(m.n) + ")");
  EXPECT_NEAR(m.mean, 0.0, 6.0 / std::sqrt(n));
  EXPECT_NEAR(m.stddev, 1.0, 6.0 * std::sqrt(0.5 / n) + 2e-3);  // + bf16 rounding
  EXPECT_NEAR(m.within_one, 0.6827, 6.0 * 0.466 / std::sqrt(n));
}

template <class T>
std::vector<std::int64_t> ints(const Tensor& t) {
  std::vector<std::int64_t> out;
  for (T x : t.data<T>()) out.push_back(static_cast<std::int64_t>(x));
  return out;
}

bool all_finite(const Tensor& t) {
  for (float x : to_float_vector(t)) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

// A scratch folder, removed with everything in it.
class TempDir {
 public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("kforge_synth_test_" + std::to_string(::getpid()) + "_" + std::to_string(s_counter++))) {
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~TempDir() { fs::remove_all(m_path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  static inline int s_counter = 0;
  fs::path m_path;
};

// ---------------------------------------------------------------------------------------------
// Determinism

TEST(SynthDeterminism, SameSeedGivesSameBytesOtherSeedOrUuidDoesNot) {
  const Definition def = definition(kGdnDecode);
  const Workload w = workload(kGdnDecode, {{"batch_size", 2}});
  const auto a = synth(def, w, 7);
  const auto b = synth(def, w, 7);
  const auto c = synth(def, w, 8);
  Workload renamed = w;
  renamed.uuid += "-other";
  const auto d = synth(def, renamed, 7);
  ASSERT_EQ(a.tensors.size(), def.inputs.size());
  for (const auto& [name, t] : a.tensors) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(t.equals(b.tensors.at(name)));
    if (t.is_scalar()) {
      // Scalars come from the workload, not from the stream.
      EXPECT_TRUE(t.equals(c.tensors.at(name)));
      continue;
    }
    EXPECT_FALSE(t.equals(c.tensors.at(name)));
    EXPECT_FALSE(t.equals(d.tensors.at(name)));
  }
  // Not merely one changed byte: almost every fp32 state element differs under another seed.
  const auto s7 = a.tensors.at("state").data<float>(), s8 = c.tensors.at("state").data<float>();
  std::size_t same = 0;
  for (std::size_t i = 0; i < s7.size(); ++i) same += s7[i] == s8[i];
  EXPECT_LT(same, s7.size() / 100);
  EXPECT_EQ(a.seed, 7u);
}

TEST(SynthDeterminism, SubsetRequestGivesSameBytesAsFullRequest) {
  const auto check = [](const Definition& def, const Workload& w, const std::set<std::string>& only) {
    SCOPED_TRACE(def.name);
    const auto full = synth(def, w, 11);
    const auto part = synth(def, w, 11, &only);
    ASSERT_EQ(part.tensors.size(), only.size());
    for (const auto& name : only) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(part.tensors.count(name));
      EXPECT_TRUE(part.tensors.at(name).equals(full.tensors.at(name)));
      EXPECT_EQ(*part.provenance.find(name), *full.provenance.find(name));
    }
  };
  check(definition(kGdnPrefill), workload(kGdnPrefill, {{"total_seq_len", 40}, {"num_seqs", 3}, {"len_cu_seqlens", 4}}),
        {"k", "cu_seqlens", "scale", "b"});
  // block_table alone: its rule makes seq_lens with it, from one stream, so they must still agree.
  const Definition indexer = shrunk(definition(kDsaIndexer), {{"num_index_heads", 4},
                                                              {"index_head_dim", 16},
                                                              {"head_dim_with_scale", 20},
                                                              {"page_size", 8},
                                                              {"topk", 32}});
  const Workload iw = workload(kDsaIndexer, {{"batch_size", 5}, {"max_num_pages", 6}, {"num_pages", 40}});
  check(indexer, iw, {"block_table"});
  check(indexer, iw, {"seq_lens", "k_index_cache_fp8"});
  const Definition moe = shrunk(definition(kMoe), {{"num_experts", 64},
                                                   {"num_local_experts", 4},
                                                   {"hidden_size", 256},
                                                   {"intermediate_size", 128},
                                                   {"gemm1_out_size", 256},
                                                   {"num_hidden_blocks", 2},
                                                   {"num_intermediate_blocks", 1},
                                                   {"num_gemm1_out_blocks", 2}});
  check(moe, workload(kMoe, {{"seq_len", 5}}), {"routing_bias", "gemm2_weights", "local_expert_offset"});
}

TEST(SynthDeterminism, InputsDrawFromDistinctStreams) {
  const Definition def = definition(kGdnDecode);
  const auto in = synth(def, workload(kGdnDecode, {{"batch_size", 64}}), 3);
  // Two inputs on one stream would agree element by element once rounded alike (q and k are
  // normalised the same way; v and state differ only in dtype). Compare every pair of float
  // inputs over their common prefix, rounded to bf16.
  std::vector<std::pair<std::string, std::vector<float>>> floats;
  for (const auto& [name, t] : in.tensors) {
    if (t.is_scalar()) continue;
    std::vector<float> v = to_float_vector(t);
    for (float& x : v) x = bf16_to_float(float_to_bf16(x));
    floats.emplace_back(name, std::move(v));
  }
  ASSERT_EQ(floats.size(), 8u);
  for (std::size_t i = 0; i < floats.size(); ++i) {
    for (std::size_t j = i + 1; j < floats.size(); ++j) {
      const auto& [na, va] = floats[i];
      const auto& [nb, vb] = floats[j];
      const std::size_t n = std::min(va.size(), vb.size());
      std::size_t same = 0;
      for (std::size_t k = 0; k < n; ++k) same += va[k] == vb[k];
      EXPECT_LT(static_cast<double>(same), 0.25 * static_cast<double>(n)) << na << " vs " << nb;
    }
  }
  // And q, k (32768 values each) are uncorrelated, not just different.
  const auto q = to_float_vector(in.tensors.at("q")), k = to_float_vector(in.tensors.at("k"));
  double qk = 0, qq = 0, kk = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    qk += static_cast<double>(q[i]) * k[i];
    qq += static_cast<double>(q[i]) * q[i];
    kk += static_cast<double>(k[i]) * k[i];
  }
  EXPECT_LT(std::fabs(qk / std::sqrt(qq * kk)), 6.0 / std::sqrt(static_cast<double>(q.size())));
}

// ---------------------------------------------------------------------------------------------
// FlashInfer-Bench's distributions

TEST(SynthDistributions, FloatInputsAreStandardNormal) {
  const Definition def = definition(kGdnDecode);
  const auto in = synth(def, workload(kGdnDecode, {{"batch_size", 16}}), 5);
  ASSERT_EQ(in.tensors.at("state").dtype(), DType::kFloat32);
  ASSERT_EQ(in.tensors.at("v").dtype(), DType::kBFloat16);
  expect_standard_normal(to_float_vector(in.tensors.at("state")), "state fp32");
  expect_standard_normal(to_float_vector(in.tensors.at("v")), "v bf16");
  // a and b (bf16 [16,1,8]) pooled: small but still clearly N(0,1)-shaped.
  auto ab = to_float_vector(in.tensors.at("a"));
  const auto b = to_float_vector(in.tensors.at("b"));
  ab.insert(ab.end(), b.begin(), b.end());
  expect_standard_normal(ab, "a and b bf16");
}

TEST(SynthDistributions, HalfPrecisionFillIsStandardNormal) {
  Tensor t(DType::kFloat16, {40000});
  fill_fib_random(t, CounterRng(99));
  expect_standard_normal(to_float_vector(t), "fp16");
}

TEST(SynthDistributions, Fp8IsClampedNormal) {
  const Definition def = definition(kMoe);
  const std::set<std::string> only{"hidden_states"};
  const auto in = synth(def, workload(kMoe, {{"seq_len", 8}}), 2, &only);
  const Tensor& t = in.tensors.at("hidden_states");
  ASSERT_EQ(t.dtype(), DType::kFloat8E4M3FN);
  ASSERT_EQ(t.shape(), (Shape{8, 7168}));
  const auto v = to_float_vector(t);
  std::size_t at_bound = 0;
  std::set<float> distinct;
  for (float x : v) {
    ASSERT_TRUE(x >= -2.0f && x <= 2.0f) << x;
    at_bound += std::fabs(x) == 2.0f;
    distinct.insert(x);
  }
  EXPECT_GT(distinct.size(), 30u);  // not all equal: e4m3 has 57 codes in [-2, 2]
  // N(0,1) clamped at +-2: P(|x| > 2) = 4.55%, plus values in [1.9375, 2) rounding up to 2.
  const double frac = static_cast<double>(at_bound) / static_cast<double>(v.size());
  EXPECT_GT(frac, 0.04);
  EXPECT_LT(frac, 0.07);
  const Moments m = moments(v);
  EXPECT_NEAR(m.mean, 0.0, 0.03);
  EXPECT_NEAR(m.stddev, 0.96, 0.02);  // std of N(0,1) clamped at 2 is 0.9595

  Tensor e5(DType::kFloat8E5M2, {20000});
  fill_fib_random(e5, CounterRng(4));
  const auto v5 = to_float_vector(e5);
  EXPECT_EQ(*std::min_element(v5.begin(), v5.end()), -2.0f);
  EXPECT_EQ(*std::max_element(v5.begin(), v5.end()), 2.0f);
}

TEST(SynthDistributions, Int32IsUniformInFibRange) {
  // No contest input is plain random int32 (all index tensors have structured rules), so use
  // the attention definition under a name no rule matches: sparse_indices is then FIB random.
  Definition def = definition(kDsaAttention);
  def.name = "plain_sparse_attention_test";
  Workload w = workload(kDsaAttention, {{"num_tokens", 8}, {"num_pages", 4}});
  w.inputs.find("sparse_indices")->kind = InputSpec::Kind::kRandom;
  const std::set<std::string> only{"sparse_indices"};
  const auto in = synthesize_inputs(def, w, nullptr, 1, &only);
  const Tensor& t = in.tensors.at("sparse_indices");
  ASSERT_EQ(t.dtype(), DType::kInt32);
  EXPECT_EQ(*in.provenance.find("sparse_indices"), "random U[-1024,1024)");
  const auto v = ints<std::int32_t>(t);
  ASSERT_EQ(v.size(), 8u * 2048u);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_GE(*lo, -1024);
  EXPECT_LE(*hi, 1023);
  // 16384 draws over 2048 values: the ends are reached, and the mean is -0.5 +- 6 * 591 / 128.
  EXPECT_LT(*lo, -1010);
  EXPECT_GT(*hi, 1010);
  double sum = 0;
  for (auto x : v) sum += static_cast<double>(x);
  EXPECT_NEAR(sum / static_cast<double>(v.size()), -0.5, 28.0);
}

TEST(SynthDistributions, OtherIntegerAndBoolRanges) {
  const CounterRng rng(17);
  Tensor i8(DType::kInt8, {20000}), i16(DType::kInt16, {20000}), i64(DType::kInt64, {20000});
  Tensor flags(DType::kBool, {20000});
  fill_fib_random(i8, rng);
  fill_fib_random(i16, rng.derive("i16"));
  fill_fib_random(i64, rng.derive("i64"));
  fill_fib_random(flags, rng.derive("bool"));
  const auto expect_range = [](const std::vector<std::int64_t>& v, std::int64_t lo, std::int64_t hi) {
    const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    EXPECT_EQ(*mn, lo);  // 20000 draws hit both ends of a range of at most 2048 values
    EXPECT_EQ(*mx, hi - 1);
  };
  expect_range(ints<std::int8_t>(i8), -128, 128);
  expect_range(ints<std::int16_t>(i16), -1024, 1024);
  expect_range(ints<std::int64_t>(i64), -1024, 1024);
  std::size_t ones = 0;
  for (bool f : flags.data<bool>()) ones += f;
  EXPECT_NEAR(static_cast<double>(ones) / 20000.0, 0.5, 0.03);
  EXPECT_THROW(
      {
        Tensor f4(DType::kFloat4E2M1, {2});
        fill_fib_random(f4, rng);
      },
      Error);
}

TEST(SynthDistributions, ScalarsKeepDeclaredDtypeAndValue) {
  const auto gdn = synth(definition(kGdnDecode), workload(kGdnDecode, {{"batch_size", 1}}), 0);
  const Tensor& scale = gdn.tensors.at("scale");
  EXPECT_TRUE(scale.is_scalar());
  EXPECT_EQ(scale.dtype(), DType::kFloat32);
  EXPECT_EQ(scale.data<float>()[0], static_cast<float>(0.08838834764831843));

  const Definition moe = definition(kMoe);
  Workload w = workload(kMoe, {{"seq_len", 1}});
  const std::set<std::string> only{"local_expert_offset", "routed_scaling_factor"};
  const auto m = synth(moe, w, 0, &only);
  EXPECT_EQ(m.tensors.at("local_expert_offset").dtype(), DType::kInt32);
  EXPECT_EQ(m.tensors.at("local_expert_offset").data<std::int32_t>()[0],
            w.input("local_expert_offset").scalar_value.get<std::int32_t>());
  EXPECT_EQ(m.tensors.at("routed_scaling_factor").dtype(), DType::kFloat32);
  EXPECT_EQ(m.tensors.at("routed_scaling_factor").data<float>()[0], 2.5f);
  // The same workload with another offset stores that one: the value is not a default.
  w.inputs.find("local_expert_offset")->scalar_value = 96;
  EXPECT_EQ(synth(moe, w, 0, &only).tensors.at("local_expert_offset").data<std::int32_t>()[0], 96);

  const std::set<std::string> sm{"sm_scale"};
  const auto dsa = synth(definition(kDsaAttention), workload(kDsaAttention, {{"num_tokens", 1}}), 0, &sm);
  EXPECT_EQ(dsa.tensors.at("sm_scale").dtype(), DType::kFloat32);
  EXPECT_EQ(dsa.tensors.at("sm_scale").data<float>()[0], static_cast<float>(0.1352337788608801));
}

TEST(SynthDistributions, ProvenanceSaysWhereValuesCameFrom) {
  const auto gdn = synth(definition(kGdnDecode), workload(kGdnDecode, {{"batch_size", 1}}), 0);
  EXPECT_EQ(*gdn.provenance.find("scale"), "scalar 0.08838834764831843");
  EXPECT_EQ(*gdn.provenance.find("v"), "random N(0,1)");
  EXPECT_EQ(*gdn.provenance.find("state"), "random N(0,1)");
  EXPECT_TRUE(gdn.provenance.find("q")->starts_with("structured: ")) << *gdn.provenance.find("q");
  EXPECT_NE(gdn.provenance.find("k")->find("L2-normalised"), std::string::npos);
  // Definition order, one line per input.
  ASSERT_EQ(gdn.provenance.size(), 9u);
  EXPECT_EQ(gdn.provenance[0].first, "q");

  const std::set<std::string> moe_inputs{"routing_logits", "routing_bias", "hidden_states", "local_expert_offset"};
  const auto m = synth(definition(kMoe), workload(kMoe, {{"seq_len", 1}}), 0, &moe_inputs);
  EXPECT_EQ(*m.provenance.find("routing_logits"), "blob not bundled; random N(0,1)");
  EXPECT_TRUE(m.provenance.find("routing_bias")->starts_with("blob not bundled; structured: "));
  EXPECT_EQ(*m.provenance.find("hidden_states"), "random N(0,1) clamped to [-2,2]");
  EXPECT_TRUE(m.provenance.find("local_expert_offset")->starts_with("scalar "));

  const Definition idx = definition(kDsaIndexer);
  const std::set<std::string> only{"seq_lens", "k_index_cache_fp8"};
  const auto d = synth(idx, workload(kDsaIndexer, {{"batch_size", 1}, {"max_num_pages", 1}, {"num_pages", 2}}), 0, &only);
  EXPECT_TRUE(d.provenance.find("seq_lens")->starts_with("blob not bundled; structured: "));
  // k_index_cache_fp8 is "random" in the workloads but is packed as FlashInfer-Bench does.
  EXPECT_TRUE(d.provenance.find("k_index_cache_fp8")->starts_with("structured: deep_gemm"));
}

// ---------------------------------------------------------------------------------------------
// Structured rules: GDN

TEST(SynthGdn, QAndKAreUnitNormPerHead) {
  const auto check = [](const SynthesizedInputs& in) {
    for (const char* name : {"q", "k", "v"}) {
      const Tensor& t = in.tensors.at(name);
      const auto v = to_float_vector(t);
      const auto dim = static_cast<std::size_t>(t.shape().back());
      ASSERT_EQ(dim, 128u);
      for (std::size_t r = 0; r * dim < v.size(); ++r) {
        double n2 = 0;
        for (std::size_t d = 0; d < dim; ++d) n2 += static_cast<double>(v[r * dim + d]) * v[r * dim + d];
        if (std::string_view(name) == "v") {
          // v stays raw N(0,1): |v|^2 ~ chi^2(128), nowhere near 1.
          EXPECT_GT(n2, 40.0) << name << " row " << r;
        } else {
          // bf16 keeps 8 significant bits: each element within 2^-9 relative, so the norm too.
          EXPECT_NEAR(std::sqrt(n2), 1.0, 4e-3) << name << " row " << r;
        }
      }
    }
  };
  check(synth(definition(kGdnDecode), workload(kGdnDecode, {{"batch_size", 4}}), 1));
  check(synth(definition(kGdnPrefill),
              workload(kGdnPrefill, {{"total_seq_len", 33}, {"num_seqs", 2}, {"len_cu_seqlens", 3}}), 1));
}

std::vector<std::int64_t> cu_seqlens(std::int64_t total, std::int64_t num_seqs, std::uint64_t seed) {
  const std::set<std::string> only{"cu_seqlens"};
  const auto in = synth(definition(kGdnPrefill),
                        workload(kGdnPrefill, {{"total_seq_len", total}, {"num_seqs", num_seqs}, {"len_cu_seqlens", num_seqs + 1}}),
                        seed, &only);
  return ints<std::int64_t>(in.tensors.at("cu_seqlens"));
}

TEST(SynthGdn, CuSeqlensPartitionTokensIntoNonEmptyVariedSequences) {
  const std::vector<std::pair<std::int64_t, std::int64_t>> cases{
      {6, 1}, {134, 1}, {134, 3}, {10, 10}, {11, 10}, {500, 40}, {8192, 20}, {8192, 57}};
  for (const auto& [total, n] : cases) {
    SCOPED_TRACE("total " + std::to_string(total) + ", num_seqs " + std::to_string(n));
    const auto cu = cu_seqlens(total, n, 3);
    ASSERT_EQ(cu.size(), static_cast<std::size_t>(n + 1));
    EXPECT_EQ(cu.front(), 0);
    EXPECT_EQ(cu.back(), total);
    std::vector<double> lengths;
    for (std::size_t i = 0; i + 1 < cu.size(); ++i) {
      EXPECT_GT(cu[i + 1], cu[i]) << "sequence " << i << " is empty";
      lengths.push_back(static_cast<double>(cu[i + 1] - cu[i]));
    }
    // Varied, not an even split: uniform cut points give roughly exponential lengths
    // (coefficient of variation ~1, longest several times the mean).
    if (n >= 2 && total >= 2 * n) {
      EXPECT_NE(*std::min_element(lengths.begin(), lengths.end()), *std::max_element(lengths.begin(), lengths.end()));
    }
    if (n >= 20) {
      const double mean = static_cast<double>(total) / static_cast<double>(n);
      double var = 0;
      for (double l : lengths) var += (l - mean) * (l - mean);
      EXPECT_GT(std::sqrt(var / static_cast<double>(n)) / mean, 0.5);
      EXPECT_GT(*std::max_element(lengths.begin(), lengths.end()), 2 * mean);
    }
  }
  EXPECT_NE(cu_seqlens(8192, 20, 3), cu_seqlens(8192, 20, 4));
}

TEST(SynthGdn, CuSeqlensWithFewerTokensThanSequencesStayMonotone) {
  for (const auto& [total, n] : std::vector<std::pair<std::int64_t, std::int64_t>>{{3, 8}, {0, 2}, {1, 5}, {9, 10}}) {
    SCOPED_TRACE("total " + std::to_string(total) + ", num_seqs " + std::to_string(n));
    const auto cu = cu_seqlens(total, n, 5);
    ASSERT_EQ(cu.size(), static_cast<std::size_t>(n + 1));
    EXPECT_EQ(cu.front(), 0);
    EXPECT_EQ(cu.back(), total);
    EXPECT_TRUE(std::is_sorted(cu.begin(), cu.end()));
  }
}

// ---------------------------------------------------------------------------------------------
// Structured rules: DSA

struct SparseRowStats {
  std::int64_t padded_rows = 0;
  std::int64_t full_rows = 0;
};

// Per row: valid entries distinct slots in [0, num_pages*page_size), -1 only as a suffix,
// count = min(topk, L) with L in [max(1, topk/8), 4*topk]. A row with fewer than topk entries
// holds its whole context, so its slots fill ceil(L/page_size) pages: all but one completely.
SparseRowStats check_sparse_indices(const Tensor& t, const Axes& a) {
  SparseRowStats s;
  const std::int64_t topk = a.at("topk"), page_size = a.at("page_size");
  const std::int64_t slots = a.at("num_pages") * page_size;
  const auto idx = t.data<std::int32_t>();
  for (std::int64_t r = 0; r < a.at("num_tokens"); ++r) {
    SCOPED_TRACE("row " + std::to_string(r));
    std::set<std::int64_t> seen;
    std::map<std::int64_t, std::int64_t> per_page;
    std::int64_t count = 0;
    bool padding = false;
    for (std::int64_t j = 0; j < topk; ++j) {
      const std::int32_t v = idx[static_cast<std::size_t>(r * topk + j)];
      if (v == -1) {
        padding = true;
        continue;
      }
      EXPECT_FALSE(padding) << "valid index after -1 at " << j;
      EXPECT_GE(v, 0);
      EXPECT_LT(v, slots);
      EXPECT_TRUE(seen.insert(v).second) << "duplicate " << v;
      ++per_page[v / page_size];
      ++count;
    }
    const std::int64_t lo = std::min(std::max<std::int64_t>(1, topk / 8), std::min(4 * topk, slots));
    EXPECT_GE(count, std::min(topk, lo));
    EXPECT_LE(count, topk);
    if (count < topk) {
      ++s.padded_rows;
      EXPECT_EQ(static_cast<std::int64_t>(per_page.size()), (count + page_size - 1) / page_size);
      std::int64_t partial = 0;
      for (const auto& [page, n] : per_page) partial += n != page_size;
      EXPECT_LE(partial, 1);
    } else {
      ++s.full_rows;
      EXPECT_LE(static_cast<std::int64_t>(per_page.size()), (4 * topk + page_size - 1) / page_size);
    }
  }
  return s;
}

TEST(SynthDsa, SparseIndicesAreDistinctContextSlots) {
  const Definition def = definition(kDsaAttention);
  const std::set<std::string> only{"sparse_indices"};
  const auto in = synth(def, workload(kDsaAttention, {{"num_tokens", 64}, {"num_pages", 8462}}), 9, &only);
  const auto s = check_sparse_indices(in.tensors.at("sparse_indices"), in.axes);
  // L in [256, 8192] uniformly: about 23% of rows are shorter than topk and padded.
  EXPECT_GT(s.padded_rows, 3);
  EXPECT_GT(s.full_rows, 30);
}

TEST(SynthDsa, SparseIndicesOnASmallCacheStayValid) {
  // 4 pages hold 256 slots: every context is capped there, and rows share pages.
  const Definition def = definition(kDsaAttention);
  const std::set<std::string> only{"sparse_indices"};
  const auto in = synth(def, workload(kDsaAttention, {{"num_tokens", 8}, {"num_pages", 4}}), 9, &only);
  const auto s = check_sparse_indices(in.tensors.at("sparse_indices"), in.axes);
  EXPECT_EQ(s.padded_rows, 8);
}

TEST(SynthDsa, EmptyCachesGiveOnlyPadding) {
  // No pages, no slots: the only valid rows are all -1 (and the indexer's rows empty).
  const std::set<std::string> only{"sparse_indices"};
  const auto in = synth(definition(kDsaAttention), workload(kDsaAttention, {{"num_tokens", 3}, {"num_pages", 0}}), 1, &only);
  for (auto v : in.tensors.at("sparse_indices").data<std::int32_t>()) ASSERT_EQ(v, -1);
  const std::set<std::string> tables{"seq_lens", "block_table"};
  const auto idx = synth(definition(kDsaIndexer),
                         workload(kDsaIndexer, {{"batch_size", 2}, {"max_num_pages", 0}, {"num_pages", 0}}), 1, &tables);
  for (auto v : idx.tensors.at("seq_lens").data<std::int32_t>()) EXPECT_EQ(v, 0);
}

TEST(SynthDsa, IndexerCacheTooSmallForAContextIsAnError) {
  // Row 0 spans max_num_pages distinct pages; a cache with fewer cannot hold it. This used to
  // reuse pages within the row, or divide by zero with no pages at all.
  const std::set<std::string> tables{"seq_lens", "block_table"};
  for (std::int64_t num_pages : {0, 3}) {
    try {
      synth(definition(kDsaIndexer), workload(kDsaIndexer, {{"batch_size", 2}, {"max_num_pages", 4}, {"num_pages", num_pages}}),
            1, &tables);
      ADD_FAILURE() << "expected an Error for num_pages " << num_pages;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("num_pages = " + std::to_string(num_pages)), std::string::npos) << e.what();
    }
  }
}

void check_seq_lens_block_table(const SynthesizedInputs& in) {
  const Axes& a = in.axes;
  const std::int64_t batch = a.at("batch_size"), max_pages = a.at("max_num_pages");
  const std::int64_t page_size = a.at("page_size"), num_pages = a.at("num_pages");
  const auto lens = in.tensors.at("seq_lens").data<std::int32_t>();
  const auto table = in.tensors.at("block_table").data<std::int32_t>();
  ASSERT_EQ(static_cast<std::int64_t>(lens.size()), batch);
  ASSERT_EQ(static_cast<std::int64_t>(table.size()), batch * max_pages);
  for (std::int64_t b = 0; b < batch; ++b) {
    SCOPED_TRACE("row " + std::to_string(b));
    const std::int64_t len = lens[static_cast<std::size_t>(b)];
    EXPECT_GE(len, 1);
    EXPECT_LE(len, max_pages * page_size);
    const std::int64_t used = (len + page_size - 1) / page_size;
    if (b == 0) {
      EXPECT_EQ(used, max_pages) << "row 0 should exercise max_num_pages";
    }
    std::set<std::int32_t> pages;
    for (std::int64_t p = 0; p < max_pages; ++p) {
      const std::int32_t v = table[static_cast<std::size_t>(b * max_pages + p)];
      if (p < used) {
        EXPECT_GE(v, 0);
        EXPECT_LT(v, num_pages);
        EXPECT_TRUE(pages.insert(v).second) << "page " << v << " twice";
      } else {
        EXPECT_EQ(v, -1) << "entry " << p << " past the context";
      }
    }
  }
}

TEST(SynthDsa, IndexerSeqLensAndBlockTableAreConsistent) {
  const Definition def = definition(kDsaIndexer);
  const std::set<std::string> only{"seq_lens", "block_table"};
  // Contest-like sizes, a batch of one page, and a cache smaller than all contexts together.
  for (const AxisValues& axes : std::vector<AxisValues>{{{"batch_size", 30}, {"max_num_pages", 91}, {"num_pages", 11923}},
                                                        {{"batch_size", 16}, {"max_num_pages", 1}, {"num_pages", 11923}},
                                                        {{"batch_size", 12}, {"max_num_pages", 20}, {"num_pages", 25}}}) {
    SCOPED_TRACE("batch " + std::to_string(axes[0].second) + ", max pages " + std::to_string(axes[1].second));
    const auto in = synth(def, workload(kDsaIndexer, axes), 4, &only);
    check_seq_lens_block_table(in);
    // Lengths vary (not all at the cap) when there are several pages to choose from.
    if (axes[1].second > 1) {
      const auto lens = in.tensors.at("seq_lens").data<std::int32_t>();
      EXPECT_GT(std::set<std::int32_t>(lens.begin(), lens.end()).size(), lens.size() / 2);
    }
  }
}

TEST(SynthDsa, IndexerKCacheIsPackedWithAmaxScales) {
  const Definition def = definition(kDsaIndexer);
  const std::set<std::string> only{"k_index_cache_fp8"};
  const auto in = synth(def, workload(kDsaIndexer, {{"batch_size", 1}, {"max_num_pages", 1}, {"num_pages", 48}}), 6, &only);
  const Tensor& t = in.tensors.at("k_index_cache_fp8");
  ASSERT_EQ(t.dtype(), DType::kInt8);
  ASSERT_EQ(t.shape(), (Shape{48, 64, 1, 132}));
  const std::int64_t page_size = 64, dim = 128, page_bytes = page_size * (dim + 4);
  const auto* bytes = reinterpret_cast<const unsigned char*>(t.bytes().data());
  std::vector<float> keys;
  keys.reserve(48 * 64 * 128);
  for (std::int64_t p = 0; p < 48; ++p) {
    // Per page: the page_size x dim fp8 bytes, then page_size float32 scales.
    const unsigned char* page = bytes + p * page_bytes;
    for (std::int64_t s = 0; s < page_size; ++s) {
      float scale = 0;
      std::memcpy(&scale, page + page_size * dim + s * 4, 4);
      ASSERT_TRUE(std::isfinite(scale) && scale > 0) << "page " << p << " token " << s << " scale " << scale;
      float max_fp8 = 0;
      for (std::int64_t d = 0; d < dim; ++d) {
        const float f = fp8e4m3_to_float(Fp8E4M3{page[s * dim + d]});
        ASSERT_TRUE(std::isfinite(f));
        max_fp8 = std::max(max_fp8, std::fabs(f));
        keys.push_back(f * scale);
      }
      // scale = amax / 448: the largest key of the token lands on 448, the e4m3 maximum.
      EXPECT_EQ(max_fp8, 448.0f) << "page " << p << " token " << s;
      // amax = 448 * scale is the max |.| of 128 N(0,1) draws: about 2.9, outside [1.5, 6]
      // with probability below 1e-8.
      EXPECT_GT(448.0f * scale, 1.5f);
      EXPECT_LT(448.0f * scale, 6.0f);
    }
  }
  // Dequantized keys are the bf16 N(0,1) keys up to fp8 rounding (6% at worst, 2% rms).
  const Moments m = moments(keys);
  EXPECT_NEAR(m.mean, 0.0, 0.01);
  EXPECT_NEAR(m.stddev, 1.0, 0.01);
}

// ---------------------------------------------------------------------------------------------
// Structured rules: MoE

TEST(SynthMoe, RoutingBiasIsSmallNormalAndLogitsStandardNormal) {
  const Definition def = definition(kMoe);
  const std::set<std::string> only{"routing_bias", "routing_logits"};
  const auto in = synth(def, workload(kMoe, {{"seq_len", 64}}), 8, &only);
  const Tensor& bias = in.tensors.at("routing_bias");
  ASSERT_EQ(bias.dtype(), DType::kBFloat16);
  const Moments m = moments(to_float_vector(bias));
  ASSERT_EQ(m.n, 256u);
  EXPECT_NEAR(m.mean, 0.0, 0.03);
  EXPECT_NEAR(m.stddev, 0.1, 0.02);
  expect_standard_normal(to_float_vector(in.tensors.at("routing_logits")), "routing_logits");
}

// ---------------------------------------------------------------------------------------------
// The oracles run on synthesized inputs without NaN or inf.

Definition small_dsa_attention() {
  return shrunk(definition(kDsaAttention),
                {{"num_qo_heads", 2}, {"head_dim_ckv", 32}, {"head_dim_kpe", 8}, {"page_size", 8}, {"topk", 16}});
}

Definition small_indexer() {
  return shrunk(definition(kDsaIndexer), {{"num_index_heads", 4},
                                          {"index_head_dim", 16},
                                          {"head_dim_with_scale", 20},
                                          {"page_size", 8},
                                          {"topk", 32}});
}

Definition small_moe() {
  return shrunk(definition(kMoe), {{"num_experts", 64},
                                   {"num_local_experts", 8},
                                   {"hidden_size", 256},
                                   {"intermediate_size", 128},
                                   {"gemm1_out_size", 256},
                                   {"num_hidden_blocks", 2},
                                   {"num_intermediate_blocks", 1},
                                   {"num_gemm1_out_blocks", 2}});
}

TEST(SynthOracle, GdnDecodeOutputsAreFinite) {
  const Definition def = definition(kGdnDecode);
  const auto in = synth(def, workload(kGdnDecode, {{"batch_size", 4}}), 1);
  const TensorMap out = run_oracle(def, in.axes, in.tensors);
  EXPECT_TRUE(all_finite(out.at("output")));
  EXPECT_TRUE(all_finite(out.at("new_state")));
}

TEST(SynthOracle, GdnPrefillOutputsAreFinite) {
  const Definition def = definition(kGdnPrefill);
  const auto in = synth(def, workload(kGdnPrefill, {{"total_seq_len", 96}, {"num_seqs", 2}, {"len_cu_seqlens", 3}}), 1);
  const TensorMap out = run_oracle(def, in.axes, in.tensors);
  EXPECT_TRUE(all_finite(out.at("output")));
  EXPECT_TRUE(all_finite(out.at("new_state")));
}

TEST(SynthOracle, GdnPrefillWithRawNormalQkOverflows) {
  // Why q and k are normalised: with raw N(0,1) keys |k|^2 ~ 128, the delta rule's
  // (I - beta k k^T) has an eigenvalue near 1 - 128 beta and the state grows geometrically.
  // Measured here (seeds 0-7): about 3.5x per token, 1e6-1e12 after 16 tokens, the first inf or
  // NaN between tokens 67 and 99 -- later than the "about 20 tokens" of the H100 notes, but
  // outputs are useless long before that.
  const Definition def = definition(kGdnPrefill);
  const std::int64_t total = 128;
  const auto in = synth(def, workload(kGdnPrefill, {{"total_seq_len", total}, {"num_seqs", 1}, {"len_cu_seqlens", 2}}), 1);
  TensorMap raw = in.tensors;
  fill_fib_random(raw.at("q"), CounterRng(1).derive("raw q"));
  fill_fib_random(raw.at("k"), CounterRng(1).derive("raw k"));
  // Per token: the largest finite |output| and whether any element is inf or NaN.
  const auto profile = [&](const TensorMap& inputs) {
    const auto o = to_float_vector(run_oracle(def, in.axes, inputs).at("output"));
    const std::size_t per_token = o.size() / static_cast<std::size_t>(total);
    std::vector<std::pair<float, bool>> rows;
    for (std::size_t t = 0; t < static_cast<std::size_t>(total); ++t) {
      float largest = 0;
      bool bad = false;
      for (std::size_t j = 0; j < per_token; ++j) {
        const float x = o[t * per_token + j];
        if (std::isfinite(x)) {
          largest = std::max(largest, std::fabs(x));
        } else {
          bad = true;
        }
      }
      rows.emplace_back(largest, bad);
    }
    return rows;
  };
  const auto blown = profile(raw);
  EXPECT_GT(blown[16].first, 1e5f) << "raw q/k should already have grown by token 16";
  const auto first_bad = std::find_if(blown.begin(), blown.end(), [](const auto& r) { return r.second; });
  EXPECT_NE(first_bad, blown.end()) << "raw N(0,1) q/k stayed finite over " << total << " tokens";
  // The same inputs with the synthesizer's normalised q/k stay finite and of order one.
  for (const auto& [largest, bad] : profile(in.tensors)) {
    EXPECT_FALSE(bad);
    EXPECT_LT(largest, 100.0f);
  }
}

TEST(SynthOracle, DsaAttentionOutputsAreFinite) {
  const Definition def = small_dsa_attention();
  const auto in = synth(def, workload(kDsaAttention, {{"num_tokens", 6}, {"num_pages", 16}}), 1);
  check_sparse_indices(in.tensors.at("sparse_indices"), in.axes);
  const TensorMap out = run_oracle(def, in.axes, in.tensors);
  EXPECT_TRUE(all_finite(out.at("output")));
  // Every row has at least topk/8 valid slots, so no lse is -inf.
  EXPECT_TRUE(all_finite(out.at("lse")));
}

TEST(SynthOracle, DsaIndexerAcceptsTablesAndReturnsContextTokens) {
  const Definition def = small_indexer();
  const auto in = synth(def, workload(kDsaIndexer, {{"batch_size", 5}, {"max_num_pages", 6}, {"num_pages", 40}}), 1);
  check_seq_lens_block_table(in);
  const TensorMap out = run_oracle(def, in.axes, in.tensors);
  const auto ids = out.at("topk_indices").data<std::int32_t>();
  const auto lens = in.tensors.at("seq_lens").data<std::int32_t>();
  const auto table = in.tensors.at("block_table").data<std::int32_t>();
  const std::int64_t topk = 32, page_size = 8, max_pages = 6;
  for (std::int64_t b = 0; b < 5; ++b) {
    const std::int64_t len = lens[static_cast<std::size_t>(b)];
    const std::set<std::int32_t> pages(table.begin() + b * max_pages,
                                       table.begin() + b * max_pages + (len + page_size - 1) / page_size);
    std::int64_t valid = 0;
    for (std::int64_t j = 0; j < topk; ++j) {
      const std::int32_t id = ids[static_cast<std::size_t>(b * topk + j)];
      if (id < 0) continue;
      ++valid;
      EXPECT_TRUE(pages.count(static_cast<std::int32_t>(id / page_size))) << "row " << b << " id " << id;
    }
    EXPECT_EQ(valid, std::min(topk, len)) << "row " << b;
  }
}

TEST(SynthOracle, MoeOutputIsFiniteAndNonZero) {
  const Definition def = small_moe();
  Workload w = workload(kMoe, {{"seq_len", 16}});
  w.inputs.find("local_expert_offset")->scalar_value = 0;  // the first group: some tokens route here
  const auto in = synth(def, w, 1);
  const TensorMap out = run_oracle(def, in.axes, in.tensors);
  const auto o = to_float_vector(out.at("output"));
  EXPECT_TRUE(all_finite(out.at("output")));
  EXPECT_TRUE(std::any_of(o.begin(), o.end(), [](float x) { return x != 0.0f; }));
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(SynthErrors, MissingBlobWithoutSynthesisManifestNamesTheFile) {
  Dataset strict;
  strict.root = bundled().root;
  strict.manifest.synthesize_missing_blobs = false;
  const Workload w = workload(kMoe, {{"seq_len", 1}});
  const std::string file = fs::path(w.input("routing_logits").path).filename().string();
  const std::set<std::string> only{"routing_logits"};
  try {
    synthesize_inputs(definition(kMoe), w, &strict, 0, &only);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_EQ(e.field(), "inputs.routing_logits");
    EXPECT_NE(e.expected().find("missing_blobs"), std::string::npos);
  }
  // Random inputs need no blob even in a strict dataset.
  const std::set<std::string> random_only{"hidden_states"};
  EXPECT_NO_THROW(synthesize_inputs(definition(kMoe), w, &strict, 0, &random_only));
}

TEST(SynthErrors, BlobWithWrongShapeOrDtypeNamesExpected) {
  const TempDir dir;
  Dataset ds;
  ds.root = dir.path();
  const Definition def = definition(kMoe);
  Workload w = workload(kMoe, {{"seq_len", 3}});
  InputSpec* spec = w.inputs.find("routing_logits");
  ASSERT_TRUE(spec && spec->kind == InputSpec::Kind::kSafetensors);
  spec->path = "./blob/routing.safetensors";
  spec->tensor_key = "routing_logits";
  const fs::path file = dir.path() / "blob" / "routing.safetensors";
  fs::create_directories(file.parent_path());
  const std::set<std::string> only{"routing_logits"};

  const auto expect_rejected = [&](const Tensor& bad) {
    write_safetensors(file, {{"routing_logits", &bad}});
    try {
      synthesize_inputs(def, w, &ds, 0, &only);
      ADD_FAILURE() << "expected an Error for " << shape_to_string(bad.shape());
    } catch (const Error& e) {
      EXPECT_NE(e.expected().find("float32 [3, 256]"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("routing.safetensors"), std::string::npos) << e.what();
    }
  };
  expect_rejected(Tensor(DType::kFloat32, {4, 256}));
  expect_rejected(Tensor(DType::kFloat32, {256, 3}));
  expect_rejected(Tensor(DType::kFloat16, {3, 256}));

  // The right blob is used as is, and provenance says so.
  Tensor good(DType::kFloat32, {3, 256});
  for (std::int64_t i = 0; i < good.numel(); ++i) good.set(i, static_cast<double>(i % 7) - 3.0);
  write_safetensors(file, {{"routing_logits", &good}});
  const auto in = synthesize_inputs(def, w, &ds, 0, &only);
  EXPECT_TRUE(in.tensors.at("routing_logits").equals(good));
  EXPECT_EQ(*in.provenance.find("routing_logits"), "blob ./blob/routing.safetensors:routing_logits");
}

}  // namespace
}  // namespace kforge
