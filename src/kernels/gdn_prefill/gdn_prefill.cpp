#include "kernels/gdn_prefill/gdn_prefill.h"

#include <string>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "kernels/abi_args.h"
#include "kforge/solution_abi.h"

// The entry points of solutions/gdn_prefill_hopper/gdn_prefill_hopper.cu, compiled into this library.
extern "C" int32_t gdn_prefill_hopper(const kforge_arg* inputs, int32_t num_inputs, const kforge_arg* outputs,
                                      int32_t num_outputs, void* workspace, uint64_t workspace_bytes, void* stream);
extern "C" uint64_t gdn_prefill_hopper_workspace_size(const kforge_arg* inputs, int32_t num_inputs,
                                                      const kforge_arg* outputs, int32_t num_outputs);

namespace kforge::kernels {
namespace {

constexpr std::string_view kOp = "gdn_prefill";
constexpr std::int64_t kQkHeads = 4, kVHeads = 8, kHeadSize = 128;
constexpr std::int64_t kMaxSeqs = 65535;  // one grid row per sequence

void check_sizes(std::int64_t total, std::int64_t num_seqs) {
  require(total >= 0 && total <= (std::int64_t{1} << 40), "gdn_prefill: total_seq_len " + std::to_string(total),
          "0 <= total_seq_len <= 2^40");
  require(num_seqs >= 0 && num_seqs <= kMaxSeqs, "gdn_prefill: num_seqs " + std::to_string(num_seqs),
          "0 <= num_seqs <= " + std::to_string(kMaxSeqs));
}

// The ABI's descriptors of a call, in the definition's order.
struct Descriptors {
  kforge_arg inputs[10];
  kforge_arg outputs[2];
};

Descriptors describe(const GdnPrefillArgs& a) {
  const std::int64_t t = a.total_seq_len, n = a.num_seqs, d = kHeadSize;
  return {{tensor_arg(a.q, KFORGE_BFLOAT16, {t, kQkHeads, d}), tensor_arg(a.k, KFORGE_BFLOAT16, {t, kQkHeads, d}),
           tensor_arg(a.v, KFORGE_BFLOAT16, {t, kVHeads, d}), tensor_arg(a.state, KFORGE_FLOAT32, {n, kVHeads, d, d}),
           tensor_arg(a.a_log, KFORGE_FLOAT32, {kVHeads}), tensor_arg(a.a, KFORGE_BFLOAT16, {t, kVHeads}),
           tensor_arg(a.dt_bias, KFORGE_FLOAT32, {kVHeads}), tensor_arg(a.b, KFORGE_BFLOAT16, {t, kVHeads}),
           tensor_arg(a.cu_seqlens, KFORGE_INT64, {n + 1}), float_scalar_arg(a.scale)},
          {tensor_arg(a.output, KFORGE_BFLOAT16, {t, kVHeads, d}),
           tensor_arg(a.new_state, KFORGE_FLOAT32, {n, kVHeads, d, d})}};
}

}  // namespace

std::size_t gdn_prefill_workspace_bytes(std::int64_t total_seq_len, std::int64_t num_seqs) {
  check_sizes(total_seq_len, num_seqs);
  GdnPrefillArgs sizes;  // the query reads shapes only
  sizes.total_seq_len = total_seq_len;
  sizes.num_seqs = num_seqs;
  const Descriptors d = describe(sizes);
  return static_cast<std::size_t>(gdn_prefill_hopper_workspace_size(d.inputs, 10, d.outputs, 2));
}

void gdn_prefill(const GdnPrefillArgs& a, void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  check_sizes(a.total_seq_len, a.num_seqs);
  const bool tokens = a.total_seq_len > 0, seqs = a.num_seqs > 0;
  check_pointer(kOp, a.q, 16, "q", !tokens);
  check_pointer(kOp, a.k, 16, "k", !tokens);
  check_pointer(kOp, a.v, 16, "v", !tokens);
  check_pointer(kOp, a.state, 16, "state", true);
  check_pointer(kOp, a.a_log, 4, "a_log");
  check_pointer(kOp, a.a, 2, "a", !tokens);
  check_pointer(kOp, a.dt_bias, 4, "dt_bias");
  check_pointer(kOp, a.b, 2, "b", !tokens);
  check_pointer(kOp, a.cu_seqlens, 8, "cu_seqlens");
  check_pointer(kOp, a.output, 16, "output", !tokens);
  check_pointer(kOp, a.new_state, 16, "new_state", !seqs);
  const std::size_t needed = gdn_prefill_workspace_bytes(a.total_seq_len, a.num_seqs);
  require(workspace_bytes >= needed,
          "gdn_prefill: workspace of " + std::to_string(workspace_bytes) + " bytes",
          "at least " + std::to_string(needed) + " bytes (gdn_prefill_workspace_bytes)");
  if (needed > 0) check_pointer(kOp, workspace, 16, "workspace");

  const Descriptors d = describe(a);
  const std::int32_t rc = gdn_prefill_hopper(d.inputs, 10, d.outputs, 2, workspace, workspace_bytes, stream);
  require(rc >= 0, "gdn_prefill: the kernel's entry point rejected the arguments (code " + std::to_string(rc) + ")",
          "the arguments checked above");
  cuda_check(static_cast<cudaError_t>(rc), "gdn_prefill_hopper launch", __FILE__, __LINE__);
}

}  // namespace kforge::kernels
