// The Hopper GDN prefill kernels (solutions/gdn_prefill_hopper through
// kforge::kernels::gdn_prefill) against the CPU oracle (src/ref), and the same solution through the
// evaluator's full gate (the kforge binary's `eval`) on bundled and extra workloads.
//
// Typed-API cases: inputs synthesized as the evaluator does (L2-normalised q and k, N(0,1)
// elsewhere) with chosen segment lengths: both paths (the recurrence for tiny calls, the chunked
// path), chunk-boundary lengths, empty sequences, rows no segment covers, 256 sequences, single
// sequences up to 65536 tokens, with and without a state. The kernel runs twice on a non-blocking
// stream, its outputs and workspace poisoned first with 0xFF and then with 0x00 bytes: the two
// results must be bit-identical (every element written, no workspace byte read before the call
// wrote it, deterministic) and pass the evaluator's own gate (harness/compare.h: every element
// within atol or rtol, the contest's 1e-2); every input must be unchanged afterwards. The kernel
// multiplies bf16 operands on tensor cores, so the GPU references' tighter rule does not apply;
// tests/unit/gdn_chunked_math_test.cpp bounds the same numerics on the CPU (worst element about
// half the tolerance at 8192 tokens), and each case prints its largest errors. The 65536-token
// sequence is judged against the GPU reference (src/gpuref, itself proven against the oracle),
// which takes a fraction of a second there. Argument checks run without a GPU; every other test
// skips without one.
//
// One line per case and output goes to stdout: "[kernel] gdn_prefill <case> <output>: ...".
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "common/cuda_stream.h"
#include "common/exploit_staging.h"
#include "common/kernel_call.h"
#include "common/kforge_cli.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "gpu/cuda_check.h"
#include "gpu/device_buffer.h"
#include "gpuref/gpu_reference.h"
#include "harness/compare.h"
#include "kernels/gdn_prefill/gdn_prefill.h"
#include "ref/oracles.h"
#include "synth/synthesizer.h"
#include "trace/axes.h"
#include "unit/test_support.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using kernels::GdnPrefillArgs;
using test_support::kGdnPrefill;
using test_support::Stream;

#define SKIP_WITHOUT_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

// This process's scratch folder (datasets, run folders), removed after the last test.
const fs::path g_scratch = test_support::scratch_folder("kforge-kernel-gdn-prefill-test");

constexpr double kTolerance = 1e-2;  // the contest's atol = rtol

// ---------------------------------------------------------------- cases

using Case = test_support::KernelCase;

std::string describe_lengths(const std::vector<std::int64_t>& lengths) {
  if (lengths.size() > 8) return std::to_string(lengths.size()) + " sequences";
  std::string s;
  for (const std::int64_t l : lengths) s += (s.empty() ? "" : ",") + std::to_string(l);
  return "[" + s + "]";
}

// Inputs synthesized for `total` tokens and `num_seqs` sequences with the evaluator's own segment
// boundaries.
Case synthesized_case(std::int64_t total, std::int64_t num_seqs, std::uint64_t seed, bool with_state) {
  SynthesizedInputs s = synthesize_inputs(
      test_support::definition(kGdnPrefill),
      test_support::workload(kGdnPrefill,
                             {{"total_seq_len", total}, {"num_seqs", num_seqs}, {"len_cu_seqlens", num_seqs + 1}}),
      nullptr, seed);
  if (!with_state) s.tensors.erase("state");
  std::string label = "T=" + std::to_string(total) + " N=" + std::to_string(num_seqs) + (with_state ? "" : " no-state");
  return {std::move(label), std::move(s.axes), std::move(s.tensors)};
}

// Sequences of the given lengths, after `lead` and before `tail` tokens that no segment covers.
Case make_case(const std::vector<std::int64_t>& lengths, std::uint64_t seed, bool with_state, std::int64_t lead = 0,
               std::int64_t tail = 0) {
  const std::int64_t total = lead + std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0}) + tail;
  Case c = synthesized_case(total, static_cast<std::int64_t>(lengths.size()), seed, with_state);
  auto cu = c.inputs.at("cu_seqlens").data<std::int64_t>();
  cu[0] = lead;
  for (std::size_t i = 0; i < lengths.size(); ++i) cu[i + 1] = cu[i] + lengths[i];
  c.label += " " + describe_lengths(lengths);
  if (lead || tail) c.label += " uncovered " + std::to_string(lead) + "+" + std::to_string(tail);
  return c;
}

// Device buffers of a case, a workspace, and the typed arguments over them.
class DeviceCall {
 public:
  explicit DeviceCall(const Case& c) : m_buffers(c) {
    GdnPrefillArgs& a = m_args;
    a.total_seq_len = c.axes.at("total_seq_len");
    a.num_seqs = c.axes.at("num_seqs");
    test_support::bind_gdn_inputs(a, m_buffers, c);
    a.cu_seqlens = m_buffers.input<std::int64_t>("cu_seqlens");
    a.output = m_buffers.add_output<Bf16>("output", DType::kBFloat16, {a.total_seq_len, 8, 128});
    a.new_state = m_buffers.add_output<float>("new_state", DType::kFloat32, {a.num_seqs, 8, 128, 128});
    m_workspace = DeviceBuffer(kernels::gdn_prefill_workspace_bytes(a.total_seq_len, a.num_seqs));
  }

  const GdnPrefillArgs& args() const { return m_args; }
  const DeviceTensor& input_tensor(const std::string& name) const { return m_buffers.input_tensor(name); }

  // Poisons the outputs and the workspace with `poison` bytes, calls the kernels with `args`
  // (default: this call's) on `stream`, waits for that stream alone and returns the outputs.
  TensorMap run(int poison, cudaStream_t stream) { return run(m_args, poison, stream); }
  TensorMap run(const GdnPrefillArgs& args, int poison, cudaStream_t stream) {
    if (m_workspace.bytes()) KFORGE_CUDA_CHECK(cudaMemset(m_workspace.get(), poison, m_workspace.bytes()));
    m_buffers.poison(poison);
    kernels::gdn_prefill(args, m_workspace.get(), m_workspace.bytes(), stream);
    return m_buffers.collect(stream);
  }

  void expect_inputs_unchanged(const Case& c) const { m_buffers.expect_inputs_unchanged(c); }

 private:
  test_support::KernelBuffers m_buffers;
  DeviceBuffer m_workspace;
  GdnPrefillArgs m_args;
};

// The evaluator's gate at kTolerance on every element of every output.
void expect_matches(const Case& c, const TensorMap& got, const TensorMap& want) {
  const Comparison cmp = compare_outputs(test_support::definition(kGdnPrefill), c.axes, c.inputs, want, got,
                                         Tolerance{kTolerance, kTolerance, 1.0});
  for (const OutputComparison& o : cmp.outputs) {
    std::printf("[kernel] gdn_prefill %-44s %-9s max_abs=%-10.3g max_rel=%-10.3g mismatches=%lld/%lld\n",
                c.label.c_str(), o.name.c_str(), o.max_abs_error, o.max_rel_error, static_cast<long long>(o.mismatches),
                static_cast<long long>(o.numel));
  }
  EXPECT_TRUE(cmp.passed()) << c.label << ": " << cmp.message;
}

// The GPU reference's outputs for the case.
TensorMap gpu_reference(const Case& c) {
  const Definition& def = test_support::definition(kGdnPrefill);
  gpuref::DeviceTensorMap inputs, outputs;
  TensorMap scalars;
  for (const auto& [name, t] : c.inputs) {
    if (t.is_scalar()) {
      scalars.emplace(name, t);
    } else {
      inputs.emplace(name, to_device(t));
    }
  }
  for (const auto& [name, spec] : def.outputs) outputs.emplace(name, device_empty(spec.dtype, resolve_shape(spec, c.axes)));
  const Stream stream;
  gpuref::run(def, c.axes, inputs, scalars, outputs, stream.get());
  KFORGE_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  TensorMap out;
  for (const auto& [name, t] : outputs) out.emplace(name, to_host(t));
  return out;
}

enum class Reference { kOracle, kGpu };

// The kernels on the case (twice, differently poisoned) against the reference; returns their
// outputs.
TensorMap expect_matches_reference(const Case& c, Reference reference = Reference::kOracle) {
  DeviceCall call(c);
  const Stream stream;
  const TensorMap first = call.run(0xFF, stream.get());
  const TensorMap second = call.run(0x00, stream.get());
  for (const auto& [name, t] : first) {
    EXPECT_TRUE(t.equals(second.at(name)))
        << c.label << ": output '" << name
        << "' differs between runs poisoned with 0xFF and 0x00: an element is not written, a workspace byte is read "
           "before it is written, or the result is not deterministic";
  }
  call.expect_inputs_unchanged(c);
  expect_matches(c, first, reference == Reference::kOracle ? ref::gdn_prefill(c.axes, c.inputs) : gpu_reference(c));
  return first;
}

// ---------------------------------------------------------------- typed API against the oracle

// Lengths around the chunk (64) and the tiny-call limit (32 tokens in total by default): single
// sequences, then several sequences whose total takes the chunked path.
TEST(KernelGdnPrefill, MatchesOracleOnChunkBoundaries) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 1001;
  const std::vector<std::vector<std::int64_t>> shapes = {{1},   {6},   {32},  {33},      {63},
                                                         {64},  {65},  {127}, {128},     {129},
                                                         {1, 1, 40}, {1, 63, 64, 65, 2, 130}};
  for (const auto& lengths : shapes) {
    for (const bool with_state : {true, false}) expect_matches_reference(make_case(lengths, seed++, with_state));
  }
}

// Empty sequences and rows before cu[0] and after cu[N] (zeros, as the reference's), on both
// paths; no sequence at all; no token at all.
TEST(KernelGdnPrefill, MatchesOracleOnOddSplits) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 2001;
  expect_matches_reference(make_case({4, 0, 7}, seed++, true, 2, 5));             // 18 tokens: the recurrence
  expect_matches_reference(make_case({5, 0, 70, 1, 0}, seed++, true, 3, 9));      // 88 tokens: chunked
  expect_matches_reference(make_case({0, 0, 200, 0}, seed++, false, 0, 64));
  expect_matches_reference(make_case({}, seed++, true, 10, 0));                   // no sequence
  expect_matches_reference(make_case({0, 0, 0}, seed++, true));                   // no token
}

// 256 sequences: random lengths of 1 to 100 tokens, and 256 single tokens (chunked path, every
// chunk partial).
TEST(KernelGdnPrefill, MatchesOracleOnManySequences) {
  SKIP_WITHOUT_GPU();
  const CounterRng rng(3001);
  std::vector<std::int64_t> random_lengths(256);
  for (std::size_t i = 0; i < random_lengths.size(); ++i) random_lengths[i] = rng.integer(i, 1, 101);
  expect_matches_reference(make_case(random_lengths, 3002, true));
  expect_matches_reference(make_case(std::vector<std::int64_t>(256, 1), 3003, true));
}

// The contest's shapes with the evaluator's own segment boundaries: one 2107-token sequence,
// 8192 tokens over 20 and over 57 sequences, and 4124 over 15.
TEST(KernelGdnPrefill, MatchesOracleOnContestShapes) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 4001;
  for (const auto& [total, seqs] : std::vector<std::pair<std::int64_t, std::int64_t>>{{2107, 1}, {8192, 20}, {8192, 57}, {4124, 15}}) {
    expect_matches_reference(synthesized_case(total, seqs, seed++, true));
  }
  expect_matches_reference(synthesized_case(8192, 32, seed++, false));
}

// Single sequences of 4096 and 65536 tokens: 64 and 1024 chunks in one chain.
TEST(KernelGdnPrefill, MatchesReferencesOnLongSingleSequences) {
  SKIP_WITHOUT_GPU();
  expect_matches_reference(make_case({4096}, 5001, true));
  expect_matches_reference(make_case({65536}, 5002, true), Reference::kGpu);
}

// A sequence cut at a chunk boundary and run as two calls, the second starting from the first's
// new_state, gives bit for bit the single call's outputs: the state crosses calls exactly and no
// result depends on a token's absolute position.
TEST(KernelGdnPrefill, SplitSequenceContinuesFromItsState) {
  SKIP_WITHOUT_GPU();
  constexpr std::int64_t kHalf = 4096;
  const Case whole = make_case({2 * kHalf}, 6001, true);
  DeviceCall whole_call(whole);
  const Stream stream;
  const TensorMap want = whole_call.run(0xFF, stream.get());

  const auto half_case = [&](std::int64_t first_token, const Tensor& state) {
    Case c = make_case({kHalf}, 6001, true);
    for (const char* name : {"q", "k", "v", "a", "b"}) {
      const Tensor& full = whole.inputs.at(name);
      Tensor& part = c.inputs.at(name);
      const std::size_t row = full.nbytes() / static_cast<std::size_t>(2 * kHalf);
      std::copy_n(full.bytes().begin() + static_cast<std::ptrdiff_t>(first_token * static_cast<std::int64_t>(row)),
                  part.nbytes(), part.bytes().begin());
    }
    for (const char* name : {"A_log", "dt_bias"}) c.inputs.insert_or_assign(name, whole.inputs.at(name));
    c.inputs.insert_or_assign("state", state);
    return c;
  };
  const Case first = half_case(0, whole.inputs.at("state"));
  DeviceCall first_call(first);
  const TensorMap first_out = first_call.run(0x00, stream.get());
  const Case second = half_case(kHalf, first_out.at("new_state"));
  DeviceCall second_call(second);
  const TensorMap second_out = second_call.run(0x00, stream.get());

  const Tensor& out = want.at("output");
  const std::size_t half_bytes = out.nbytes() / 2;
  EXPECT_TRUE(std::equal(first_out.at("output").bytes().begin(), first_out.at("output").bytes().end(),
                         out.bytes().begin()));
  EXPECT_TRUE(std::equal(second_out.at("output").bytes().begin(), second_out.at("output").bytes().end(),
                         out.bytes().begin() + static_cast<std::ptrdiff_t>(half_bytes)));
  EXPECT_TRUE(second_out.at("new_state").equals(want.at("new_state")));
}

// scale 0 selects 1/sqrt(head_size), as the reference; another scale scales the output only.
TEST(KernelGdnPrefill, ScaleZeroIsInverseSqrtHeadSize) {
  SKIP_WITHOUT_GPU();
  for (const std::int64_t len : {20, 150}) {  // both paths
    Case c = make_case({len}, 7001 + static_cast<std::uint64_t>(len), true);
    c.inputs.insert_or_assign("scale", Tensor::scalar(0.0f));
    const TensorMap zero = expect_matches_reference(c);
    c.inputs.insert_or_assign("scale", Tensor::scalar(static_cast<float>(1.0 / std::sqrt(128.0))));
    const TensorMap explicit_scale = expect_matches_reference(c);
    EXPECT_TRUE(zero.at("output").equals(explicit_scale.at("output")));
    EXPECT_TRUE(zero.at("new_state").equals(explicit_scale.at("new_state")));
    c.inputs.insert_or_assign("scale", Tensor::scalar(0.5f));
    const TensorMap half = expect_matches_reference(c);
    EXPECT_TRUE(zero.at("new_state").equals(half.at("new_state")));
  }
}

// new_state may be the state buffer itself: the in-place result is the out-of-place one.
TEST(KernelGdnPrefill, InPlaceUpdateEqualsOutOfPlace) {
  SKIP_WITHOUT_GPU();
  for (const auto& lengths : std::vector<std::vector<std::int64_t>>{{3, 9}, {100, 0, 300}}) {
    const Case c = make_case(lengths, 8001, true);
    DeviceCall call(c);
    const Stream stream;
    const TensorMap separate = call.run(0xFF, stream.get());
    GdnPrefillArgs in_place = call.args();
    in_place.new_state = const_cast<float*>(in_place.state);
    const TensorMap out = call.run(in_place, 0xFF, stream.get());
    EXPECT_TRUE(out.at("output").equals(separate.at("output"))) << c.label;
    EXPECT_TRUE(to_host(call.input_tensor("state")).equals(separate.at("new_state"))) << c.label;
  }
}

// ---------------------------------------------------------------- arguments (no GPU needed)

// Calls of up to 32 tokens take the recurrence and need no workspace; the chunked path one
// record (two 64 x 64 bf16 matrices and three 64-float vectors, 17152 bytes) per v-head and
// chunk slot, slots = total / 64 + num_seqs, then the sequence order (int32, 16-byte padded).
TEST(KernelGdnPrefill, WorkspaceBytes) {
  EXPECT_EQ(kernels::gdn_prefill_workspace_bytes(0, 4), 0u);
  EXPECT_EQ(kernels::gdn_prefill_workspace_bytes(8192, 57), std::size_t{185} * 8 * 17152 + 240);
  EXPECT_EQ(kernels::gdn_prefill_workspace_bytes(65536, 1), std::size_t{1025} * 8 * 17152 + 16);
}

// Arguments the kernels cannot take are refused before any CUDA call (pointers never dereferenced).
TEST(KernelGdnPrefill, RejectsBadArguments) {
  alignas(16) static float fake[64];
  alignas(16) static std::int64_t cu[2] = {0, 100};
  GdnPrefillArgs good;
  good.total_seq_len = 100;
  good.num_seqs = 1;
  good.q = good.k = good.v = good.a = good.b = reinterpret_cast<const Bf16*>(fake);
  good.state = good.a_log = good.dt_bias = fake;
  good.cu_seqlens = cu;
  good.output = reinterpret_cast<Bf16*>(fake);
  good.new_state = fake;
  const std::size_t need = kernels::gdn_prefill_workspace_bytes(100, 1);
  const auto expect_refused = [&](GdnPrefillArgs a, const std::string& why, std::size_t workspace_bytes,
                                  void* workspace) {
    try {
      kernels::gdn_prefill(a, workspace, workspace_bytes, nullptr);
      ADD_FAILURE() << "accepted; expected an error containing '" << why << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  GdnPrefillArgs a = good;
  a.num_seqs = 65536;
  expect_refused(a, "num_seqs 65536", need, fake);
  a = good;
  a.total_seq_len = -1;
  expect_refused(a, "total_seq_len -1", need, fake);
  a = good;
  a.q = nullptr;
  expect_refused(a, "q is null", need, fake);
  a = good;
  a.cu_seqlens = nullptr;
  expect_refused(a, "cu_seqlens is null", need, fake);
  a = good;
  a.new_state = nullptr;
  expect_refused(a, "new_state is null", need, fake);
  a = good;
  a.v = reinterpret_cast<const Bf16*>(fake + 2);
  expect_refused(a, "v is not 16-byte aligned", need, fake);
  a = good;
  a.output = reinterpret_cast<Bf16*>(fake + 1);
  expect_refused(a, "output is not 16-byte aligned", need, fake);
  expect_refused(good, "workspace of " + std::to_string(need - 1) + " bytes", need - 1, fake);
  expect_refused(good, "workspace is null", need, nullptr);
}

// ---------------------------------------------------------------- the evaluator's gate

const fs::path kSolution = fs::path(KFORGE_SOURCE_DIR) / "solutions" / "gdn_prefill_hopper";

test_support::CliRun eval_solution(const fs::path& data, const std::string& workloads, const std::string& run_name) {
  return test_support::eval_solution_briefly(kSolution, data, workloads, g_scratch, run_name, 600);
}
using test_support::expect_all_passed;

// Bundled workloads of each kind: T=6 and T=32 (the recurrence), T=40 over 2 sequences, T=134,
// one 2107-token sequence, 4124 tokens over 15, 8192 over 20 and over 57.
TEST(KernelGdnPrefill, EvaluatorPassesBundledWorkloads) {
  SKIP_WITHOUT_GPU();
  expect_all_passed(eval_solution(fs::path(KFORGE_SOURCE_DIR) / "data", "0,21,24,1,38,6,12,18", "bundled"), 8);
}

// Shapes outside the bundled set, from a dataset of the definition with one workload each: a
// single token, 65536 tokens in one sequence, 256 sequences.
TEST(KernelGdnPrefill, EvaluatorPassesOtherShapes) {
  SKIP_WITHOUT_GPU();
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1}, {65536, 1}, {8192, 256}};
  const fs::path data = g_scratch / "data-other-shapes";
  fs::create_directories(data / "definitions" / "gdn");
  fs::copy_file(fs::path(KFORGE_SOURCE_DIR) / "data" / "definitions" / "gdn" / (kGdnPrefill + ".json"),
                data / "definitions" / "gdn" / (kGdnPrefill + ".json"), fs::copy_options::overwrite_existing);
  std::string lines;
  for (const auto& [total, seqs] : shapes) {
    Trace t;
    t.definition = kGdnPrefill;
    t.workload = test_support::workload(kGdnPrefill,
                                        {{"total_seq_len", total}, {"num_seqs", seqs}, {"len_cu_seqlens", seqs + 1}});
    t.workload.uuid = "kernel-gdn-prefill-test-t" + std::to_string(total) + "-n" + std::to_string(seqs);
    lines += to_json(t).dump() + "\n";
  }
  write_file_atomic(data / "workloads" / "gdn" / (kGdnPrefill + ".jsonl"), lines);
  expect_all_passed(eval_solution(data, "", "other-shapes"), shapes.size());
}

}  // namespace
}  // namespace kforge
