#include "kernels/gdn_decode/gdn_decode.h"

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "kernels/abi_args.h"
#include "kforge/solution_abi.h"

// The entry point of solutions/gdn_decode_hopper/gdn_decode_hopper.cu, compiled into this library.
extern "C" int32_t gdn_decode_hopper(const kforge_arg* inputs, int32_t num_inputs, const kforge_arg* outputs,
                                     int32_t num_outputs, void* workspace, uint64_t workspace_bytes, void* stream);

namespace kforge::kernels {
namespace {

constexpr std::string_view kOp = "gdn_decode";
constexpr std::int64_t kHeadSize = 128;  // the kernel's layout: a state row is 32 lanes x 4 floats

}  // namespace

void gdn_decode(const GdnDecodeArgs& a, cudaStream_t stream) {
  require(a.head_size == kHeadSize, "gdn_decode: head_size " + std::to_string(a.head_size), "128");
  require(a.num_q_heads > 0 && a.num_k_heads > 0 && a.num_v_heads > 0 && a.num_v_heads % a.num_q_heads == 0 &&
              a.num_v_heads % a.num_k_heads == 0,
          "gdn_decode: heads q=" + std::to_string(a.num_q_heads) + " k=" + std::to_string(a.num_k_heads) +
              " v=" + std::to_string(a.num_v_heads),
          "positive head counts, num_q_heads and num_k_heads dividing num_v_heads");
  // The kernel indexes (sequence, v-head) pairs with 31 bits.
  require(a.batch >= 0 && a.batch <= ((std::int64_t{1} << 31) - 1) / a.num_v_heads,
          "gdn_decode: batch " + std::to_string(a.batch), "0 <= batch * num_v_heads < 2^31");
  if (a.batch == 0) return;
  check_pointer(kOp, a.q, 8, "q");
  check_pointer(kOp, a.k, 8, "k");
  check_pointer(kOp, a.v, 2, "v");
  check_pointer(kOp, a.state, 16, "state", true);
  check_pointer(kOp, a.a_log, 4, "a_log");
  check_pointer(kOp, a.a, 2, "a");
  check_pointer(kOp, a.dt_bias, 4, "dt_bias");
  check_pointer(kOp, a.b, 2, "b");
  check_pointer(kOp, a.output, 2, "output");
  check_pointer(kOp, a.new_state, 16, "new_state");

  const std::int64_t n = a.batch, hq = a.num_q_heads, hk = a.num_k_heads, hv = a.num_v_heads, d = a.head_size;
  const kforge_arg scale = float_scalar_arg(a.scale);
  const kforge_arg inputs[] = {tensor_arg(a.q, KFORGE_BFLOAT16, {n, 1, hq, d}),
                               tensor_arg(a.k, KFORGE_BFLOAT16, {n, 1, hk, d}),
                               tensor_arg(a.v, KFORGE_BFLOAT16, {n, 1, hv, d}),
                               tensor_arg(a.state, KFORGE_FLOAT32, {n, hv, d, d}),
                               tensor_arg(a.a_log, KFORGE_FLOAT32, {hv}),
                               tensor_arg(a.a, KFORGE_BFLOAT16, {n, 1, hv}),
                               tensor_arg(a.dt_bias, KFORGE_FLOAT32, {hv}),
                               tensor_arg(a.b, KFORGE_BFLOAT16, {n, 1, hv}),
                               scale};
  const kforge_arg outputs[] = {tensor_arg(a.output, KFORGE_BFLOAT16, {n, 1, hv, d}),
                                tensor_arg(a.new_state, KFORGE_FLOAT32, {n, hv, d, d})};
  const std::int32_t rc = gdn_decode_hopper(inputs, static_cast<std::int32_t>(std::size(inputs)), outputs,
                                            static_cast<std::int32_t>(std::size(outputs)), nullptr, 0, stream);
  require(rc >= 0, "gdn_decode: the kernel's entry point rejected the arguments (code " + std::to_string(rc) + ")",
          "the arguments checked above");
  cuda_check(static_cast<cudaError_t>(rc), "gdn_decode_hopper launch", __FILE__, __LINE__);
}

}  // namespace kforge::kernels
