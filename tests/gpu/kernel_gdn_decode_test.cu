// The Hopper GDN decode kernel (solutions/gdn_decode_hopper through kforge::kernels::gdn_decode)
// against the CPU oracle (src/ref), and the same solution through the evaluator's full gate (the
// kforge binary's `eval`) on bundled workloads and extra batch sizes. The default configuration
// runs the direct pipeline below STAGED_MIN_BATCH (24) sequences or without a state and the staged
// (TMA) pipeline from there on, with bulk stores from BULK_STORE_MIN_BATCH (40), so batch sizes on
// every side are tested; the evaluator tests also
// force each pipeline on every batch size through the tuner's candidate folders.
//
// Typed-API cases: inputs synthesized per case with a fresh seed; the kernel runs on a
// non-blocking stream, its outputs poisoned first with 0xFF and then with 0x00 bytes: the two
// results must be bit-identical (every element written, deterministic) and match the oracle
// under tests/common/output_compare.h (float32 |got - ref| <= 1e-5 + 1e-4 |ref|; bfloat16 one
// representable step, or within 1e-5 * max|ref| for elements that are float32 noise); every
// input must be unchanged afterwards. Argument checks run without a GPU (they throw before any
// CUDA call); every other test skips without one.
//
// One line per case and output goes to stdout: "[kernel] gdn_decode <case> <output>: ...".
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/cuda_stream.h"
#include "common/exploit_staging.h"
#include "common/kernel_call.h"
#include "common/kforge_cli.h"
#include "common/output_compare.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/device_buffer.h"
#include "gpu/environment.h"
#include "kernels/gdn_decode/gdn_decode.h"
#include "ref/oracles.h"
#include "synth/synthesizer.h"
#include "tuner/materialize.h"
#include "unit/test_support.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using kernels::GdnDecodeArgs;
using test_support::kGdnDecode;
using test_support::OutputComparison;
using test_support::Stream;

#define SKIP_WITHOUT_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

// This process's scratch folder (datasets, run folders), removed after the last test.
const fs::path g_scratch = test_support::scratch_folder("kforge-kernel-gdn-decode-test");

// ---------------------------------------------------------------- cases

using Case = test_support::KernelCase;

// Inputs synthesized for `batch` sequences and the given head counts (default: the definition's).
Case make_case(std::int64_t batch, std::uint64_t seed, bool with_state, const test_support::AxisValues& heads = {}) {
  const Definition def = test_support::shrunk(test_support::definition(kGdnDecode), heads);
  SynthesizedInputs s =
      synthesize_inputs(def, test_support::workload(kGdnDecode, {{"batch_size", batch}}), nullptr, seed);
  if (!with_state) s.tensors.erase("state");
  std::string label = "B=" + std::to_string(batch) + (with_state ? "" : " no-state");
  for (const auto& [name, value] : heads) label += " " + name + "=" + std::to_string(value);
  return {std::move(label), std::move(s.axes), std::move(s.tensors)};
}

// Device buffers of a case and the typed arguments over them.
class DeviceCall {
 public:
  explicit DeviceCall(const Case& c) : m_buffers(c) {
    GdnDecodeArgs& a = m_args;
    a.batch = c.axes.at("batch_size");
    a.num_q_heads = c.axes.at("num_q_heads");
    a.num_k_heads = c.axes.at("num_k_heads");
    a.num_v_heads = c.axes.at("num_v_heads");
    a.head_size = c.axes.at("head_size");
    test_support::bind_gdn_inputs(a, m_buffers, c);
    a.output = m_buffers.add_output<Bf16>("output", DType::kBFloat16, {a.batch, 1, a.num_v_heads, a.head_size});
    a.new_state = m_buffers.add_output<float>("new_state", DType::kFloat32,
                                              {a.batch, a.num_v_heads, a.head_size, a.head_size});
  }

  const GdnDecodeArgs& args() const { return m_args; }
  const DeviceTensor& input_tensor(const std::string& name) const { return m_buffers.input_tensor(name); }

  // Poisons the outputs with `poison` bytes, calls the kernel with `args` (default: this call's)
  // on `stream`, waits for that stream alone and returns the outputs.
  TensorMap run(int poison, cudaStream_t stream) { return run(m_args, poison, stream); }
  TensorMap run(const GdnDecodeArgs& args, int poison, cudaStream_t stream) {
    m_buffers.poison(poison);
    kernels::gdn_decode(args, stream);
    return m_buffers.collect(stream);
  }

  void expect_inputs_unchanged(const Case& c) const { m_buffers.expect_inputs_unchanged(c); }

 private:
  test_support::KernelBuffers m_buffers;
  GdnDecodeArgs m_args;
};

void expect_matches(const std::string& label, const TensorMap& got, const TensorMap& want) {
  for (const std::string name : {"output", "new_state"}) {
    const Tensor& g = got.at(name);
    const Tensor& w = want.at(name);
    OutputComparison c = name == "output" ? test_support::compare_bfloat16(g, w) : test_support::compare_float32(g, w);
    std::printf("[kernel] gdn_decode %-36s %-9s max_abs=%-10.3g max_rel=%-10.3g bf16_steps<=%d differing=%lld/%lld\n",
                label.c_str(), name.c_str(), c.max_abs, c.max_rel, c.max_bf16_steps,
                static_cast<long long>(c.differing), static_cast<long long>(w.numel()));
    EXPECT_EQ(c.failures, 0) << label << ": output '" << name << "': " << c.failures
                             << " elements out of tolerance:" << c.detail;
  }
}

// The kernel on the case (twice, differently poisoned) against the oracle; returns its outputs.
TensorMap expect_matches_oracle(const Case& c) {
  DeviceCall call(c);
  const Stream stream;
  const TensorMap first = call.run(0xFF, stream.get());
  const TensorMap second = call.run(0x00, stream.get());
  for (const auto& [name, t] : first) {
    EXPECT_TRUE(t.equals(second.at(name))) << c.label << ": output '" << name
                                           << "' differs between runs poisoned with 0xFF and 0x00: an element is "
                                              "not written or the result is not deterministic";
  }
  call.expect_inputs_unchanged(c);
  expect_matches(c.label, first, ref::gdn_decode(c.axes, c.inputs));
  return first;
}

// ---------------------------------------------------------------- typed API against the oracle

// Odd batch sizes (partial last blocks, one pair or many), the contest's largest, with and
// without a state.
TEST(KernelGdnDecode, MatchesOracleOnBatchSizes) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 1001;
  for (const std::int64_t batch : {1, 3, 7, 33, 64, 100, 257}) {
    for (const bool with_state : {true, false}) expect_matches_oracle(make_case(batch, seed++, with_state));
  }
}

// GVA groups of 1, 2, 4 and 8 v-heads per q/k head, and more v-heads than the definition's.
TEST(KernelGdnDecode, MatchesOracleOnHeadLayouts) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 2001;
  for (const auto& [hqk, hv] :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{8, 8}, {2, 8}, {1, 8}, {4, 16}, {3, 6}}) {
    for (const std::int64_t batch : {5, 29}) {  // direct and staged pipelines
      expect_matches_oracle(
          make_case(batch, seed++, true, {{"num_q_heads", hqk}, {"num_k_heads", hqk}, {"num_v_heads", hv}}));
    }
  }
}

// scale 0 selects 1/sqrt(head_size), as the reference; another scale scales the output only.
TEST(KernelGdnDecode, ScaleZeroIsInverseSqrtHeadSize) {
  SKIP_WITHOUT_GPU();
  Case c = make_case(4, 3001, true);
  c.inputs.insert_or_assign("scale", Tensor::scalar(0.0f));
  const TensorMap zero = expect_matches_oracle(c);
  c.inputs.insert_or_assign("scale", Tensor::scalar(static_cast<float>(1.0 / std::sqrt(128.0))));
  const TensorMap explicit_scale = expect_matches_oracle(c);
  EXPECT_TRUE(zero.at("output").equals(explicit_scale.at("output")));
  EXPECT_TRUE(zero.at("new_state").equals(explicit_scale.at("new_state")));
  c.inputs.insert_or_assign("scale", Tensor::scalar(0.5f));
  const TensorMap half = expect_matches_oracle(c);
  EXPECT_TRUE(zero.at("new_state").equals(half.at("new_state")));
}

// new_state may be the state buffer itself: the in-place result is the out-of-place one.
TEST(KernelGdnDecode, InPlaceUpdateEqualsOutOfPlace) {
  SKIP_WITHOUT_GPU();
  std::uint64_t seed = 4001;
  for (const std::int64_t batch : {9, 29, 40}) {  // direct; staged with register and bulk stores
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Case c = make_case(batch, seed++, true);
    DeviceCall call(c);
    const Stream stream;
    const TensorMap separate = call.run(0xFF, stream.get());
    GdnDecodeArgs in_place = call.args();
    in_place.new_state = const_cast<float*>(in_place.state);
    const TensorMap out = call.run(in_place, 0xFF, stream.get());
    EXPECT_TRUE(out.at("output").equals(separate.at("output")));
    EXPECT_TRUE(to_host(call.input_tensor("state")).equals(separate.at("new_state")));
  }
}

// Batch 0 launches nothing and is not an error.
TEST(KernelGdnDecode, EmptyBatchIsANoOp) {
  GdnDecodeArgs a;
  a.batch = 0;
  EXPECT_NO_THROW(kernels::gdn_decode(a, nullptr));
}

// Arguments the kernel cannot take are refused before any CUDA call (pointers never dereferenced).
TEST(KernelGdnDecode, RejectsBadArguments) {
  alignas(16) static float fake[64];
  GdnDecodeArgs good;
  good.batch = 2;
  good.q = good.k = good.v = good.a = good.b = reinterpret_cast<const Bf16*>(fake);
  good.state = good.a_log = good.dt_bias = fake;
  good.output = reinterpret_cast<Bf16*>(fake);
  good.new_state = fake;
  const auto expect_refused = [](GdnDecodeArgs a, const std::string& why) {
    try {
      kernels::gdn_decode(a, nullptr);
      ADD_FAILURE() << "accepted; expected an error containing '" << why << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  GdnDecodeArgs a = good;
  a.head_size = 64;
  expect_refused(a, "head_size 64");
  a = good;
  a.num_q_heads = 3;
  expect_refused(a, "heads q=3 k=4 v=8");
  a = good;
  a.num_k_heads = 0;
  expect_refused(a, "heads q=4 k=0 v=8");
  a = good;
  a.batch = -1;
  expect_refused(a, "batch -1");
  a = good;
  a.batch = std::int64_t{1} << 28;  // 2^31 (sequence, v-head) pairs
  expect_refused(a, "batch 268435456");
  a = good;
  a.q = nullptr;
  expect_refused(a, "q is null");
  a = good;
  a.new_state = nullptr;
  expect_refused(a, "new_state is null");
  a = good;
  a.state = fake + 1;
  expect_refused(a, "state is not 16-byte aligned");
  a = good;
  a.k = reinterpret_cast<const Bf16*>(fake + 1) + 1;
  expect_refused(a, "k is not 8-byte aligned");
}

// ---------------------------------------------------------------- the evaluator's gate

const fs::path kSolution = fs::path(KFORGE_SOURCE_DIR) / "solutions" / "gdn_decode_hopper";

test_support::CliRun eval_solution(const fs::path& data, const std::string& workloads, const std::string& run_name,
                                   const fs::path& solution = kSolution) {
  return test_support::eval_solution_briefly(solution, data, workloads, g_scratch, run_name, 300);
}
using test_support::expect_all_passed;

// One bundled workload of each contest batch size (1, 4, 8, 16, 32, 48, 64); each trace names
// the GPU it ran on (the worker inherits this process's devices, so device 0 is the same).
TEST(KernelGdnDecode, EvaluatorPassesBundledWorkloads) {
  SKIP_WITHOUT_GPU();
  const auto run = eval_solution(fs::path(KFORGE_SOURCE_DIR) / "data", "0,10,18,25,32,39,46", "bundled");
  expect_all_passed(run, 7);
  const std::string uuid = snapshot_environment(0).uuid;
  ASSERT_EQ(uuid.rfind("GPU-", 0), 0u) << uuid;
  for (const auto& t : run.traces) EXPECT_EQ(to_json(t)["evaluation"]["kforge"]["environment"]["gpu_uuid"], uuid);
}

// Batch sizes outside the contest's, from a dataset of the definition and one workload each.
TEST(KernelGdnDecode, EvaluatorPassesOtherBatchSizes) {
  SKIP_WITHOUT_GPU();
  const std::vector<std::int64_t> batches = {2, 3, 7, 33, 100, 257};
  const fs::path data = g_scratch / "data-other-batches";
  fs::create_directories(data / "definitions" / "gdn");
  fs::copy_file(fs::path(KFORGE_SOURCE_DIR) / "data" / "definitions" / "gdn" / (kGdnDecode + ".json"),
                data / "definitions" / "gdn" / (kGdnDecode + ".json"), fs::copy_options::overwrite_existing);
  std::string lines;
  for (const std::int64_t batch : batches) {
    Trace t;
    t.definition = kGdnDecode;
    t.workload = test_support::workload(kGdnDecode, {{"batch_size", batch}});
    t.workload.uuid = "kernel-gdn-decode-test-b" + std::to_string(batch);
    lines += to_json(t).dump() + "\n";
  }
  write_file_atomic(data / "workloads" / "gdn" / (kGdnDecode + ".jsonl"), lines);
  expect_all_passed(eval_solution(data, "", "other-batches"), batches.size());
}

// Each pipeline on every batch size, as the tuner would build it: direct only (PIPELINE=0), and
// staged from one sequence on (partial grids: fewer tiles than CTAs) with each way of storing the
// new state, on one bundled workload of each contest batch size.
TEST(KernelGdnDecode, EvaluatorPassesEachPipelineOnEveryBatchSize) {
  SKIP_WITHOUT_GPU();
  const SolutionDir solution = load_solution_dir(kSolution);
  for (const tuner::Config& config :
       {tuner::Config{{{"PIPELINE", 0}}},
        tuner::Config{{{"PIPELINE", 1}, {"STAGED_MIN_BATCH", 1}, {"BULK_STORE_MIN_BATCH", 1073741824}}},
        tuner::Config{{{"PIPELINE", 1}, {"STAGED_MIN_BATCH", 1}, {"BULK_STORE_MIN_BATCH", 0}}}}) {
    SCOPED_TRACE(config.label());
    const fs::path candidate = tuner::materialize(solution, config, g_scratch / "pipelines");
    expect_all_passed(eval_solution(fs::path(KFORGE_SOURCE_DIR) / "data", "0,10,18,25,32,39,46",
                                    "pipeline-" + candidate.filename().string(), candidate),
                      7);
  }
}

}  // namespace
}  // namespace kforge
