// @brief The launch side that GDN decode and prefill share: their common kernel arguments, read
// and checked on the host from the axes, inputs, scalars and outputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "gpuref/device_math.cuh"

namespace kforge::gpuref {

// Kernel arguments of a GDN step. "tokens" are the leading dimensions of the per-token tensors
// ([batch, 1] in decode, [total_seq_len] in prefill), "states" the number of states (batch in
// decode, num_seqs in prefill).
struct GdnArgs {
  const Bf16* q;         // [tokens, num_q_heads, d]
  const Bf16* k;         // [tokens, num_k_heads, d]
  const Bf16* v;         // [tokens, num_v_heads, d]
  const float* state;    // [states, num_v_heads, d, d] or nullptr (zeros)
  const float* a_log;    // [num_v_heads]
  const Bf16* a;         // [tokens, num_v_heads]
  const float* dt_bias;  // [num_v_heads]
  const Bf16* b;         // [tokens, num_v_heads]
  float scale;
  int num_q_heads, num_k_heads, num_v_heads, d;
  Bf16* out;             // [tokens, num_v_heads, d]
  float* new_state;      // [states, num_v_heads, d, d]
};

// Reads the head axes (checked as gdn::head_layout does), the inputs and outputs above (shapes
// checked: `tokens` leads the per-token ones, `states` the state) and the scale.
inline GdnArgs gdn_args(std::string_view op, const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars,
                        DeviceTensorMap& out, const Shape& tokens, std::int64_t states) {
  const std::int64_t hq = axis(axes, op, "num_q_heads"), hk = axis(axes, op, "num_k_heads");
  const std::int64_t hv = axis(axes, op, "num_v_heads"), d = axis(axes, op, "head_size");
  // repeat_interleave must map the q/k heads onto exactly hv heads.
  require(hq > 0 && hk > 0 && hv > 0 && hv % hq == 0 && hv % hk == 0 && d > 0,
          std::string(op) + ": heads q=" + std::to_string(hq) + " k=" + std::to_string(hk) +
              " v=" + std::to_string(hv) + ", head_size " + std::to_string(d),
          "positive sizes, num_q_heads and num_k_heads dividing num_v_heads");
  const auto per_token = [&](std::initializer_list<std::int64_t> tail) {
    Shape shape = tokens;
    shape.insert(shape.end(), tail);
    return shape;
  };

  GdnArgs p{};
  p.q = input<Bf16>(in, op, "q", DType::kBFloat16, per_token({hq, d}));
  p.k = input<Bf16>(in, op, "k", DType::kBFloat16, per_token({hk, d}));
  p.v = input<Bf16>(in, op, "v", DType::kBFloat16, per_token({hv, d}));
  p.state = input<float>(in, op, "state", DType::kFloat32, {states, hv, d, d}, /*optional=*/true);
  p.a_log = input<float>(in, op, "A_log", DType::kFloat32, {hv});
  p.a = input<Bf16>(in, op, "a", DType::kBFloat16, per_token({hv}));
  p.dt_bias = input<float>(in, op, "dt_bias", DType::kFloat32, {hv});
  p.b = input<Bf16>(in, op, "b", DType::kBFloat16, per_token({hv}));
  // 0 selects 1/sqrt(head_size), rounded to float as torch does (gdn::read_scale).
  const auto scale = static_cast<float>(scalar(scalars, op, "scale", DType::kFloat32));
  p.scale = scale == 0.0f ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))) : scale;
  p.num_q_heads = static_cast<int>(hq);
  p.num_k_heads = static_cast<int>(hk);
  p.num_v_heads = static_cast<int>(hv);
  p.d = static_cast<int>(d);
  p.out = output<Bf16>(out, op, "output");
  p.new_state = output<float>(out, op, "new_state");
  return p;
}

}  // namespace kforge::gpuref
