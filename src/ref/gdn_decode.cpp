#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ref/gdn_common.h"
#include "ref/oracles.h"

namespace kforge::ref {

TensorMap gdn_decode(const Axes& axes, const TensorMap& inputs) {
  constexpr std::string_view kOp = "gdn_decode";
  const gdn::HeadLayout heads = gdn::head_layout(axes, kOp);
  const std::int64_t batch = gdn::axis(axes, kOp, "batch_size");
  const std::int64_t seq_len = gdn::axis(axes, kOp, "seq_len");
  // The reference asserts one token per sequence and squeezes that axis away.
  if (seq_len != 1) throw Error("gdn_decode: seq_len is " + std::to_string(seq_len), "1");
  const std::int64_t d = heads.head_size;
  const std::int64_t hv = heads.num_v_heads;

  const Tensor& q = gdn::input(inputs, kOp, "q", DType::kBFloat16, {batch, 1, heads.num_q_heads, d});
  const Tensor& k = gdn::input(inputs, kOp, "k", DType::kBFloat16, {batch, 1, heads.num_k_heads, d});
  const Tensor& v = gdn::input(inputs, kOp, "v", DType::kBFloat16, {batch, 1, hv, d});
  const Tensor* state = gdn::find_input(inputs, kOp, "state", DType::kFloat32, {batch, hv, d, d}, true);
  const Tensor& a_log = gdn::input(inputs, kOp, "A_log", DType::kFloat32, {hv});
  const Tensor& a = gdn::input(inputs, kOp, "a", DType::kBFloat16, {batch, 1, hv});
  const Tensor& dt_bias = gdn::input(inputs, kOp, "dt_bias", DType::kFloat32, {hv});
  const Tensor& b = gdn::input(inputs, kOp, "b", DType::kBFloat16, {batch, 1, hv});
  const float scale = gdn::read_scale(inputs, kOp, d);

  const std::vector<float> q_vals = to_float_vector(q);
  const std::vector<float> k_vals = to_float_vector(k);
  const std::vector<float> v_vals = to_float_vector(v);
  const gdn::Gates gates = gdn::compute_gates(a, b, a_log, dt_bias, hv);

  // An absent state is zeros, as in the reference; the input state is never modified.
  Tensor new_state = state ? *state : Tensor(DType::kFloat32, {batch, hv, d, d});
  Tensor output(DType::kBFloat16, {batch, 1, hv, d});
  float* const states = new_state.data<float>().data();
  Bf16* const out = output.data<Bf16>().data();
  const std::int64_t matrix = d * d;

  // Every (sequence, v-head) pair is one equal-cost step; chunks of about 2^16 state elements.
  parallel_for(batch * hv, std::max<std::int64_t>(1, (std::int64_t{1} << 16) / matrix),
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t i = begin; i < end; ++i) {
                   const std::int64_t n = i / hv, h = i % hv;
                   gdn::delta_rule_step(states + i * matrix,
                                        q_vals.data() + (n * heads.num_q_heads + heads.q_head(h)) * d,
                                        k_vals.data() + (n * heads.num_k_heads + heads.k_head(h)) * d,
                                        v_vals.data() + i * d, gates.g[static_cast<std::size_t>(i)],
                                        gates.beta[static_cast<std::size_t>(i)], scale, d, out + i * d);
                 }
               });

  TensorMap result;
  result.emplace("output", std::move(output));
  result.emplace("new_state", std::move(new_state));
  return result;
}

}  // namespace kforge::ref
