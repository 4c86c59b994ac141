// GPU references (src/gpuref) against the CPU oracles (src/ref) on synthesized inputs: small and
// odd shapes, hand-made edge cases and one full contest size per operator.
//
// Every case runs the GPU reference twice, its outputs poisoned first with 0xFF bytes and then
// with 0x00 bytes; the two results must be bit-identical (every element written, deterministic).
// Tolerances, as tests/unit/golden_test.cpp (tests/common/output_compare.h): float32 |got - ref| <= 1e-5 + 1e-4 |ref| (-inf and
// NaN exactly); bfloat16 at most one representable step from the oracle, or within 1e-5 *
// max|ref| of it (elements that are float32 rounding noise); indexer ids as the oracle's, or, in
// rows where they differ, the same number of valid ids, well formed, in descending order and
// with the same sorted oracle scores within 1e-5 + 1e-4 * max|score of the row| (float32
// against the oracle's double scores reorders near ties).
// One line per case and output goes to stdout: "[gpuref] <case> <output>: ..." with the errors
// and the GPU time of the first run (outputs allocated, call, synchronize).
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/output_compare.h"
#include "gpu/cuda_check.h"
#include "gpu/device_buffer.h"
#include "gpuref/gpu_reference.h"
#include "ref/oracles.h"
#include "synth/synthesizer.h"
#include "trace/dataset.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

using test_support::compare_float32;
using test_support::kF32Atol;
using test_support::kF32Rtol;
using test_support::OutputComparison;

#define SKIP_WITHOUT_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

// ---------------------------------------------------------------- cases

// data/definitions, found upward from the working directory (ctest runs in the build tree, a
// device run in the repository root) or from this source file.
fs::path definitions_dir() {
  for (fs::path start : {fs::current_path(), fs::path(__FILE__).parent_path()}) {
    for (fs::path p = start;; p = p.parent_path()) {
      if (fs::is_directory(p / "data" / "definitions")) return p / "data" / "definitions";
      if (p == p.parent_path()) break;
    }
  }
  throw Error("data/definitions not found above " + fs::current_path().string() + " or " + __FILE__);
}

Definition load_definition(const std::string& name) {
  for (const auto& entry : fs::recursive_directory_iterator(definitions_dir())) {
    if (entry.path().filename() == name + ".json") return load_definition_file(entry.path()).value;
  }
  throw Error("definition " + name + " not found under " + definitions_dir().string());
}

constexpr char kGdnDecode[] = "gdn_decode_qk4_v8_d128_k_last";
constexpr char kGdnPrefill[] = "gdn_prefill_qk4_v8_d128_k_last";
constexpr char kDsaAttention[] = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
constexpr char kDsaIndexer[] = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
constexpr char kMoe[] = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

struct Case {
  std::string label;
  Definition def;
  Axes axes;
  TensorMap inputs;  // host tensors, scalars as rank-0 tensors
};

// Inputs synthesized for the given var axes (every scalar random until the caller sets it).
Case synthesize(const Definition& def, std::initializer_list<std::pair<const char*, std::int64_t>> var_axes,
                std::uint64_t seed, std::string label) {
  Workload w;
  w.uuid = "gpuref-" + label;
  for (const auto& [name, value] : var_axes) w.axes.add(name, value);
  SynthesizedInputs s = synthesize_inputs(def, w, nullptr, seed);
  return {std::move(label), def, std::move(s.axes), std::move(s.tensors)};
}

// A copy of `def` with some const axes changed (small MoE geometries).
Definition with_const_axes(Definition def, std::initializer_list<std::pair<const char*, std::int64_t>> values) {
  for (const auto& [name, value] : values) {
    AxisSpec* spec = def.axes.find(name);
    if (!spec || !spec->is_const) throw Error(std::string("no const axis ") + name + " in " + def.name);
    spec->value = value;
  }
  return def;
}

double free_gpu_gib() {
  std::size_t free = 0, total = 0;
  KFORGE_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return static_cast<double>(free) / (1u << 30);
}

// ---------------------------------------------------------------- running

struct GpuResult {
  TensorMap outputs;
  double milliseconds = 0.0;
};

GpuResult run_gpu(const Case& c) {
  gpuref::DeviceTensorMap inputs;
  TensorMap scalars;
  for (const auto& [name, spec] : c.def.inputs) {
    const auto it = c.inputs.find(name);
    if (it == c.inputs.end()) continue;  // an absent optional input
    if (spec.is_scalar()) {
      scalars.emplace(name, it->second);
    } else {
      inputs.emplace(name, to_device(it->second));
    }
  }
  GpuResult result;
  for (const int poison : {0xFF, 0x00}) {
    gpuref::DeviceTensorMap outputs;
    for (const auto& [name, spec] : c.def.outputs) {
      DeviceTensor t = device_empty(spec.dtype, resolve_shape(spec, c.axes));
      if (t.nbytes()) KFORGE_CUDA_CHECK(cudaMemset(t.data(), poison, t.nbytes()));
      outputs.emplace(name, std::move(t));
    }
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
    const auto start = std::chrono::steady_clock::now();
    gpuref::run(c.def, c.axes, inputs, scalars, outputs, nullptr);
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    for (const auto& [name, t] : outputs) {
      Tensor host = to_host(t);
      if (poison == 0xFF) {
        result.outputs.emplace(name, std::move(host));
        result.milliseconds = elapsed.count();
      } else {
        EXPECT_TRUE(host.equals(result.outputs.at(name)))
            << c.label << ": output '" << name
            << "' differs between runs poisoned with 0xFF and 0x00: an element is not written or the "
               "result is not deterministic";
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------- comparisons

// The shared bfloat16 rule, summarized by the largest distance in steps and the elements that differ.
OutputComparison compare_bfloat16(const Tensor& got, const Tensor& want) {
  OutputComparison c = test_support::compare_bfloat16(got, want);
  c.extra = " bf16_steps<=" + std::to_string(c.max_bf16_steps) + " differing=" + std::to_string(c.differing) + "/" +
            std::to_string(want.numel());
  return c;
}

// DSA indexer ids, checked row by row against the oracle's double scores (see the file comment).
// Rows that differ from the oracle's are counted as reordered (same id set: near-equal scores in
// another order) or as differing at near ties (another id set, same sorted scores within the
// tolerance).
OutputComparison compare_topk_indices(const Case& k, const Tensor& got, const Tensor& want) {
  OutputComparison c;
  const std::int64_t rows = want.dim(0), topk = want.dim(1);
  const std::int64_t page_size = k.axes.at("page_size"), max_pages = k.axes.at("max_num_pages");
  const auto table = k.inputs.at("block_table").data<std::int32_t>();
  std::int64_t identical = 0, reordered = 0, other_set = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::string row = "row " + std::to_string(r) + ": ";
    const auto g = got.data<std::int32_t>().subspan(static_cast<std::size_t>(r * topk), static_cast<std::size_t>(topk));
    const auto w = want.data<std::int32_t>().subspan(static_cast<std::size_t>(r * topk), static_cast<std::size_t>(topk));
    if (std::equal(g.begin(), g.end(), w.begin())) {
      ++identical;
      continue;
    }
    const std::vector<double> scores = ref::dsa_indexer_token_scores(k.axes, k.inputs, r);
    std::unordered_map<std::int32_t, double> score_of;  // by global id
    double max_score = 0.0;
    for (std::size_t t = 0; t < scores.size(); ++t) {
      const auto page = table[static_cast<std::size_t>(r * max_pages) + t / static_cast<std::size_t>(page_size)];
      score_of[static_cast<std::int32_t>(page * page_size + static_cast<std::int64_t>(t) % page_size)] = scores[t];
      if (std::isfinite(scores[t])) max_score = std::max(max_score, std::fabs(scores[t]));
    }
    const auto valid = std::min<std::int64_t>(topk, static_cast<std::int64_t>(scores.size()));
    if (std::any_of(g.begin() + valid, g.end(), [](std::int32_t id) { return id != -1; })) {
      c.fail(row + "a valid id past the first " + std::to_string(valid));
      continue;
    }
    const std::set<std::int32_t> got_set(g.begin(), g.begin() + valid), want_set(w.begin(), w.begin() + valid);
    if (static_cast<std::int64_t>(got_set.size()) != valid ||
        std::any_of(got_set.begin(), got_set.end(), [&](std::int32_t id) { return !score_of.contains(id); })) {
      c.fail(row + "an id repeated or not a token of the row's context");
      continue;
    }
    const double tol = kF32Atol + kF32Rtol * max_score;
    std::vector<double> got_scores, want_scores;
    for (std::int64_t i = 0; i < valid; ++i) {
      got_scores.push_back(score_of.at(g[static_cast<std::size_t>(i)]));
      want_scores.push_back(score_of.at(w[static_cast<std::size_t>(i)]));
    }
    const auto unordered = std::adjacent_find(got_scores.begin(), got_scores.end(),
                                              [&](double a, double b) { return b > a + tol; });
    if (unordered != got_scores.end()) {
      c.fail(row + "not in descending score order at column " + std::to_string(unordered - got_scores.begin() + 1));
      continue;
    }
    if (got_set == want_set) {
      ++reordered;
      continue;
    }
    std::sort(got_scores.rbegin(), got_scores.rend());
    bool close = true;
    for (std::size_t i = 0; i < got_scores.size() && close; ++i) {
      c.note_error(got_scores[i], want_scores[i]);
      if (std::fabs(got_scores[i] - want_scores[i]) > tol) {
        c.fail(row + "selected scores differ at rank " + std::to_string(i) + ": " + std::to_string(got_scores[i]) +
               " vs " + std::to_string(want_scores[i]));
        close = false;
      }
    }
    other_set += close ? 1 : 0;
  }
  c.extra = " rows: identical=" + std::to_string(identical) + "/" + std::to_string(rows) +
            " reordered=" + std::to_string(reordered) + " other_set_at_near_ties=" + std::to_string(other_set);
  return c;
}

void print_summary(const std::string& label, const std::string& output, const OutputComparison& cmp, double gpu_ms) {
  std::printf("[gpuref] %-34s %-13s max_abs=%-10.3g max_rel=%-10.3g%s gpu_ms=%.2f\n", label.c_str(), output.c_str(),
              cmp.max_abs, cmp.max_rel, cmp.extra.c_str(), gpu_ms);
}

// Runs the GPU reference and the oracle on the case, compares every output and returns the GPU's.
TensorMap expect_matches_oracle(const Case& c) {
  const GpuResult gpu = run_gpu(c);
  const OracleInfo* oracle = find_oracle(c.def.name);
  if (!oracle) throw Error("no oracle for " + c.def.name);
  const TensorMap want = oracle->run(c.axes, c.inputs);
  for (const auto& [name, spec] : c.def.outputs) {
    const Tensor& g = gpu.outputs.at(name);
    const Tensor& w = want.at(name);
    OutputComparison cmp;
    if (spec.dtype == DType::kFloat32) {
      cmp = compare_float32(g, w);
    } else if (spec.dtype == DType::kBFloat16) {
      cmp = compare_bfloat16(g, w);
    } else {
      cmp = compare_topk_indices(c, g, w);
    }
    print_summary(c.label, name, cmp, gpu.milliseconds);
    EXPECT_EQ(cmp.failures, 0) << c.label << ": output '" << name << "': " << cmp.failures
                               << " elements out of tolerance:" << cmp.detail;
  }
  return gpu.outputs;
}

// ---------------------------------------------------------------- GDN

TEST(GpuRefGdnDecode, MatchesOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kGdnDecode);
  struct Shape {
    std::int64_t batch;
    float scale;  // 0 selects 1/sqrt(head_size)
    bool with_state;
  };
  std::uint64_t seed = 101;
  for (const Shape& s : {Shape{1, 0.0f, true}, Shape{3, 0.5f, true}, Shape{5, 0.0f, false}, Shape{64, 0.0f, true}}) {
    Case c = synthesize(def, {{"batch_size", s.batch}}, seed++,
                        "gdn_decode B=" + std::to_string(s.batch) + (s.with_state ? "" : " no-state"));
    c.inputs.insert_or_assign("scale", Tensor::scalar(s.scale));
    if (!s.with_state) c.inputs.erase("state");
    expect_matches_oracle(c);
  }
}

TEST(GpuRefGdnPrefill, MatchesOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kGdnPrefill);
  struct Shape {
    std::int64_t total, seqs;
    float scale;
    bool with_state;
  };
  std::uint64_t seed = 201;
  // One token; odd sizes; more sequences than tokens (some empty); long sequences; no state;
  // the largest contest shape (8192 tokens in 20 sequences).
  for (const Shape& s : {Shape{1, 1, 0.0f, true}, Shape{37, 3, 0.25f, true}, Shape{5, 8, 0.0f, true},
                         Shape{2048, 2, 0.0f, true}, Shape{100, 4, 0.0f, false}, Shape{8192, 20, 0.0f, true}}) {
    Case c = synthesize(def, {{"total_seq_len", s.total}, {"num_seqs", s.seqs}, {"len_cu_seqlens", s.seqs + 1}},
                        seed++,
                        "gdn_prefill T=" + std::to_string(s.total) + " N=" + std::to_string(s.seqs) +
                            (s.with_state ? "" : " no-state"));
    c.inputs.insert_or_assign("scale", Tensor::scalar(s.scale));
    if (!s.with_state) c.inputs.erase("state");
    expect_matches_oracle(c);
  }
}

// Segments that leave rows uncovered (before, between none, after) and an empty first sequence:
// uncovered output rows are zero, the empty sequence's state is zero.
TEST(GpuRefGdnPrefill, UncoveredRowsAndEmptySequence) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kGdnPrefill);
  Case c = synthesize(def, {{"total_seq_len", 20}, {"num_seqs", 3}, {"len_cu_seqlens", 4}}, 301,
                      "gdn_prefill cu=[2,2,9,15] T=20");
  Tensor cu(DType::kInt64, {4});
  const std::int64_t offsets[] = {2, 2, 9, 15};
  for (std::int64_t i = 0; i < 4; ++i) cu.set(i, static_cast<double>(offsets[i]));
  c.inputs.insert_or_assign("cu_seqlens", std::move(cu));
  c.inputs.insert_or_assign("scale", Tensor::scalar(0.0f));
  expect_matches_oracle(c);
}

// ---------------------------------------------------------------- DSA sparse attention

constexpr float kContestSmScale = 0.1352337788608801f;  // every contest workload's sm_scale

TEST(GpuRefDsaSparseAttention, MatchesOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kDsaAttention);
  struct Shape {
    std::int64_t tokens, pages;
  };
  std::uint64_t seed = 401;
  // Contexts shorter than topk pad with -1; the last shape is the contest's largest.
  for (const Shape& s : {Shape{1, 40}, Shape{3, 100}, Shape{7, 300}, Shape{8, 8462}}) {
    Case c = synthesize(def, {{"num_tokens", s.tokens}, {"num_pages", s.pages}}, seed++,
                        "dsa_attention N=" + std::to_string(s.tokens) + " P=" + std::to_string(s.pages));
    c.inputs.insert_or_assign("sm_scale", Tensor::scalar(kContestSmScale));
    expect_matches_oracle(c);
  }
}

// A token with no valid index (zeros and lse -inf), one with a single index, one untouched.
TEST(GpuRefDsaSparseAttention, PaddingRows) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kDsaAttention);
  Case c = synthesize(def, {{"num_tokens", 3}, {"num_pages", 64}}, 411, "dsa_attention padding rows");
  c.inputs.insert_or_assign("sm_scale", Tensor::scalar(kContestSmScale));
  Tensor& indices = c.inputs.at("sparse_indices");
  const std::int64_t topk = indices.dim(1);
  for (std::int64_t j = 0; j < topk; ++j) indices.set(j, -1);
  for (std::int64_t j = 0; j < topk; ++j) indices.set(topk + j, j == topk / 2 ? 4000 : -1);
  expect_matches_oracle(c);
}

// ---------------------------------------------------------------- DSA top-k indexer

TEST(GpuRefDsaTopkIndexer, MatchesOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kDsaIndexer);
  struct Shape {
    std::int64_t batch, max_pages, pages;
  };
  std::uint64_t seed = 501;
  // Every context shorter than topk; odd batch with row 0 over topk; contexts just over topk;
  // the contest's largest (batch 30, 91 pages of 64 tokens per row, 11923 cache pages).
  for (const Shape& s : {Shape{1, 1, 4}, Shape{3, 40, 200}, Shape{4, 33, 140}, Shape{30, 91, 11923}}) {
    Case c = synthesize(def, {{"batch_size", s.batch}, {"max_num_pages", s.max_pages}, {"num_pages", s.pages}}, seed++,
                        "dsa_indexer B=" + std::to_string(s.batch) + " M=" + std::to_string(s.max_pages) +
                            " P=" + std::to_string(s.pages));
    expect_matches_oracle(c);
  }
}

// seq_len exactly topk (row 0, whose table the synthesizer fills), 0 (all -1) and 1.
TEST(GpuRefDsaTopkIndexer, EdgeLengths) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kDsaIndexer);
  Case c = synthesize(def, {{"batch_size", 3}, {"max_num_pages", 32}, {"num_pages", 100}}, 511,
                      "dsa_indexer seq_len 2048/0/1");
  Tensor& lens = c.inputs.at("seq_lens");
  lens.set(0, 2048);
  lens.set(1, 0);
  lens.set(2, 1);
  expect_matches_oracle(c);
}

// Keys with an fp8 NaN make their token's score NaN, which ranks first (ties by position).
TEST(GpuRefDsaTopkIndexer, NanScoresRankFirst) {
  SKIP_WITHOUT_GPU();
  const Definition def = load_definition(kDsaIndexer);
  Case c = synthesize(def, {{"batch_size", 2}, {"max_num_pages", 40}, {"num_pages", 90}}, 521,
                      "dsa_indexer NaN keys");
  const std::int64_t page_size = c.axes.at("page_size"), dim = c.axes.at("index_head_dim");
  const std::int64_t page_bytes = page_size * c.axes.at("head_dim_with_scale");
  Tensor& cache = c.inputs.at("k_index_cache_fp8");
  const std::int64_t nan_tokens[] = {5, 700, 701, 2400};  // logical tokens of row 0 (it has >= 2497)
  std::vector<std::int64_t> nan_ids;
  for (const std::int64_t t : nan_tokens) {
    const auto page = static_cast<std::int64_t>(c.inputs.at("block_table").get(t / page_size));
    cache.set(page * page_bytes + (t % page_size) * dim + 3, 127);  // 0x7F: e4m3 NaN
    nan_ids.push_back(page * page_size + t % page_size);
  }
  const Tensor ids = expect_matches_oracle(c).at("topk_indices");
  for (std::size_t i = 0; i < nan_ids.size(); ++i) {
    EXPECT_EQ(ids.get(static_cast<std::int64_t>(i)), static_cast<double>(nan_ids[i])) << "column " << i;
  }
}

// ---------------------------------------------------------------- MoE

Case moe_case(const Definition& def, std::int64_t tokens, std::int32_t offset, std::uint64_t seed,
              const std::string& what) {
  Case c = synthesize(def, {{"seq_len", tokens}}, seed,
                      "moe " + what + " T=" + std::to_string(tokens) + " off=" + std::to_string(offset));
  c.inputs.insert_or_assign("local_expert_offset", Tensor::scalar<std::int32_t>(offset));
  c.inputs.insert_or_assign("routed_scaling_factor", Tensor::scalar(2.5f));
  return c;
}

std::int64_t tokens_without_local_expert(const Case& c) {
  const ref::MoeRouting routing = ref::moe_ds_routing(c.axes, c.inputs);
  const auto first = static_cast<std::int64_t>(c.inputs.at("local_expert_offset").get(0));
  const std::int64_t last = first + c.axes.at("num_local_experts");
  std::int64_t count = 0;
  for (std::size_t t = 0; t < routing.topk_ids.size(); t += ref::MoeRouting::kTopK) {
    const auto begin = routing.topk_ids.begin() + static_cast<std::ptrdiff_t>(t);
    count += std::none_of(begin, begin + ref::MoeRouting::kTopK,
                          [&](std::int32_t e) { return e >= first && e < last; });
  }
  return count;
}

// Small expert matrices (the oracle's cost grows with them); routing over the contest's 256
// experts. Offsets: the first local window, a middle one, windows reaching past the last expert
// and before the first (those local experts contribute nothing); the longer cases are checked to
// hold tokens without any local expert.
TEST(GpuRefMoe, SmallExpertsMatchOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = with_const_axes(load_definition(kMoe), {{"hidden_size", 256},
                                                                 {"intermediate_size", 128},
                                                                 {"gemm1_out_size", 256},
                                                                 {"num_hidden_blocks", 2},
                                                                 {"num_intermediate_blocks", 1},
                                                                 {"num_gemm1_out_blocks", 2}});
  struct Shape {
    std::int64_t tokens;
    std::int32_t offset;
  };
  std::uint64_t seed = 601;
  for (const Shape& s : {Shape{1, 0}, Shape{7, 96}, Shape{57, 240}, Shape{300, -8}, Shape{80, 32}}) {
    const Case c = moe_case(def, s.tokens, s.offset, seed++, "H=256 I=128");
    if (s.tokens >= 57) EXPECT_GT(tokens_without_local_expert(c), 0) << c.label;
    expect_matches_oracle(c);
  }
}

// Sizes that are not multiples of the GEMM tiles (64 x 64, 32 deep), block size 16, 64 experts.
TEST(GpuRefMoe, OddGeometryMatchesOracle) {
  SKIP_WITHOUT_GPU();
  const Definition def = with_const_axes(load_definition(kMoe), {{"num_experts", 64},
                                                                 {"num_local_experts", 16},
                                                                 {"hidden_size", 208},
                                                                 {"intermediate_size", 80},
                                                                 {"gemm1_out_size", 160},
                                                                 {"num_hidden_blocks", 13},
                                                                 {"num_intermediate_blocks", 5},
                                                                 {"num_gemm1_out_blocks", 10}});
  expect_matches_oracle(moe_case(def, 150, 8, 611, "E=64 H=208 I=80"));
  expect_matches_oracle(moe_case(def, 3, 56, 612, "E=64 H=208 I=80"));
}

TEST(GpuRefMoe, ContestSizeMatchesOracle) {
  SKIP_WITHOUT_GPU();
  if (free_gpu_gib() < 8.0) GTEST_SKIP() << "needs 8 GiB of free GPU memory";
  const Definition def = load_definition(kMoe);
  expect_matches_oracle(moe_case(def, 16, 32, 621, "contest"));
}

// The contest's longest sequence (T=14107): the GPU output of 16 sampled tokens against the
// oracle run on those tokens alone (a token's output depends only on its own routing and
// activations). Its time is printed, not asserted: tests carry no speed thresholds.
TEST(GpuRefMoe, LongSequenceSampledTokens) {
  SKIP_WITHOUT_GPU();
  if (free_gpu_gib() < 16.0) GTEST_SKIP() << "needs 16 GiB of free GPU memory";
  const Definition def = load_definition(kMoe);
  const Case full = moe_case(def, 14107, 96, 631, "contest");
  const GpuResult gpu = run_gpu(full);

  const std::int64_t tokens = full.axes.at("seq_len"), samples = 16;
  const std::int64_t hidden = full.axes.at("hidden_size"), hidden_blocks = full.axes.at("num_hidden_blocks");
  const std::int64_t experts = full.axes.at("num_experts");
  std::vector<std::int64_t> picked;
  for (std::int64_t i = 0; i < samples; ++i) picked.push_back(i * (tokens - 1) / (samples - 1));

  Case part{"moe contest T=14107 sampled", def, full.axes, full.inputs};
  part.axes["seq_len"] = samples;
  Tensor logits(DType::kFloat32, {samples, experts}), x(DType::kFloat8E4M3FN, {samples, hidden});
  Tensor x_scale(DType::kFloat32, {hidden_blocks, samples});
  const Tensor &full_logits = full.inputs.at("routing_logits"), &full_x = full.inputs.at("hidden_states");
  const Tensor& full_scale = full.inputs.at("hidden_states_scale");
  for (std::int64_t i = 0; i < samples; ++i) {
    const std::int64_t t = picked[static_cast<std::size_t>(i)];
    for (std::int64_t e = 0; e < experts; ++e) logits.set(i * experts + e, full_logits.get(t * experts + e));
    std::copy_n(full_x.data<Fp8E4M3>().begin() + t * hidden, hidden, x.data<Fp8E4M3>().begin() + i * hidden);
    for (std::int64_t b = 0; b < hidden_blocks; ++b) x_scale.set(b * samples + i, full_scale.get(b * tokens + t));
  }
  part.inputs.insert_or_assign("routing_logits", std::move(logits));
  part.inputs.insert_or_assign("hidden_states", std::move(x));
  part.inputs.insert_or_assign("hidden_states_scale", std::move(x_scale));
  const TensorMap want = find_oracle(def.name)->run(part.axes, part.inputs);

  Tensor got(DType::kBFloat16, {samples, hidden});
  const auto gpu_out = gpu.outputs.at("output").data<Bf16>();
  for (std::int64_t i = 0; i < samples; ++i) {
    std::copy_n(gpu_out.begin() + picked[static_cast<std::size_t>(i)] * hidden, hidden,
                got.data<Bf16>().begin() + i * hidden);
  }
  const OutputComparison cmp = compare_bfloat16(got, want.at("output"));
  print_summary(part.label, "output", cmp, gpu.milliseconds);
  EXPECT_EQ(cmp.failures, 0) << part.label << ": " << cmp.failures << " elements out of tolerance:" << cmp.detail;
}

}  // namespace
}  // namespace kforge
