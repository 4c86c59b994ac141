// @brief Internal to the GDN oracles: input checks, gates and the per-token delta-rule step.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/float_types.h"
#include "core/tensor.h"
#include "ref/oracle.h"

namespace kforge::ref::gdn {

// Size of a named axis of the definition.
inline std::int64_t axis(const Axes& axes, std::string_view op, std::string_view name) {
  const auto it = axes.find(name);
  if (it == axes.end()) {
    throw Error(std::string(op) + ": axis '" + std::string(name) + "' missing", "a value for every axis");
  }
  if (it->second < 0) {
    throw Error(std::string(op) + ": axis '" + std::string(name) + "' is " + std::to_string(it->second),
                "a non-negative size");
  }
  return it->second;
}

// The named input, checked for dtype and shape (oracles may be called without run_oracle's checks),
// or nullptr when it is absent and optional.
inline const Tensor* find_input(const TensorMap& inputs, std::string_view op, std::string_view name,
                                DType dtype, const Shape& shape, bool optional = false) {
  const auto it = inputs.find(name);
  const std::string what = std::string(op) + ": input '" + std::string(name) + "'";
  if (it == inputs.end()) {
    if (optional) return nullptr;
    throw Error(what + " missing", "every input of the definition");
  }
  const Tensor& t = it->second;
  if (t.dtype() != dtype) {
    throw Error(what + " has dtype " + std::string(dtype_name(t.dtype())), std::string(dtype_name(dtype)));
  }
  if (t.shape() != shape) {
    throw Error(what + " has shape " + shape_to_string(t.shape()), shape_to_string(shape));
  }
  return &t;
}

inline const Tensor& input(const TensorMap& inputs, std::string_view op, std::string_view name, DType dtype,
                           const Shape& shape) {
  return *find_input(inputs, op, name, dtype, shape);
}

// GVA as the reference's repeat_interleave: v-head h reads q/k head h / (num_v_heads / num_qk_heads).
struct HeadLayout {
  std::int64_t num_q_heads;
  std::int64_t num_k_heads;
  std::int64_t num_v_heads;
  std::int64_t head_size;

  std::int64_t q_head(std::int64_t v_head) const { return v_head / (num_v_heads / num_q_heads); }
  std::int64_t k_head(std::int64_t v_head) const { return v_head / (num_v_heads / num_k_heads); }
};

inline HeadLayout head_layout(const Axes& axes, std::string_view op) {
  const HeadLayout h{axis(axes, op, "num_q_heads"), axis(axes, op, "num_k_heads"),
                     axis(axes, op, "num_v_heads"), axis(axes, op, "head_size")};
  // Otherwise repeat_interleave would not yield exactly num_v_heads heads.
  if (h.num_q_heads <= 0 || h.num_k_heads <= 0 || h.num_v_heads <= 0 || h.num_v_heads % h.num_q_heads != 0 ||
      h.num_v_heads % h.num_k_heads != 0) {
    throw Error(std::string(op) + ": head counts num_q_heads=" + std::to_string(h.num_q_heads) +
                    ", num_k_heads=" + std::to_string(h.num_k_heads) + ", num_v_heads=" + std::to_string(h.num_v_heads),
                "positive head counts, num_q_heads and num_k_heads dividing num_v_heads");
  }
  if (h.head_size <= 0) throw Error(std::string(op) + ": head_size is 0", "a positive head_size");
  return h;
}

// The `scale` scalar; 0 selects the reference's default 1/sqrt(head_size), rounded to float32
// as torch does when it multiplies a float32 tensor by a Python float.
inline float read_scale(const TensorMap& inputs, std::string_view op, std::int64_t head_size) {
  const auto scale = static_cast<float>(input(inputs, op, "scale", DType::kFloat32, {}).get(0));
  if (scale == 0.0f) return static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_size)));
  return scale;
}

// torch.nn.functional.softplus with beta 1, threshold 20.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// torch.sigmoid's formula on CPU.
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// g = exp(-exp(A_log) * softplus(a + dt_bias)), every op in float32 as the reference's tensors.
inline float decay_gate(float a, float a_log, float dt_bias) {
  const float rate = -std::exp(a_log);
  return std::exp(rate * softplus(a + dt_bias));
}

// g and beta of every (row, v-head), laid out as the bf16 `a` and `b` inputs: [rows, num_v_heads].
struct Gates {
  std::vector<float> g;
  std::vector<float> beta;
};

inline Gates compute_gates(const Tensor& a, const Tensor& b, const Tensor& a_log, const Tensor& dt_bias,
                           std::int64_t num_v_heads) {
  const auto a_vals = a.data<Bf16>();
  const auto b_vals = b.data<Bf16>();
  const auto a_log_vals = a_log.data<float>();
  const auto dt_bias_vals = dt_bias.data<float>();
  const auto heads = static_cast<std::size_t>(num_v_heads);
  Gates gates{std::vector<float>(a_vals.size()), std::vector<float>(b_vals.size())};
  for (std::size_t i = 0; i < a_vals.size(); ++i) {
    const std::size_t h = i % heads;
    gates.g[i] = decay_gate(bf16_to_float(a_vals[i]), a_log_vals[h], dt_bias_vals[h]);
    gates.beta[i] = sigmoid(bf16_to_float(b_vals[i]));
  }
  return gates;
}

// Dot product of float32 vectors accumulated in double (each product is exact in double); four
// partial sums keep the loop from serializing on one accumulator.
inline float dot(const float* x, const float* y, std::int64_t n) {
  double acc[4] = {};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(y[i + j]);
  }
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  return static_cast<float>((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

// One token of one v-head. `state` is the k-last [V, K] fp32 state, updated in place; q, k, v
// have head_size elements. The reference works on S = state^T ([K, V]); element (k, v) of each
// of its [K, V] tensors is element (v, k) here, so every row v depends only on row v:
//   old = g*S;  u = k.old;  new_v = beta*v + (1-beta)*u;  S = (old - k*u) + k*new_v;  o = scale*(q.S)
// with each float32 op rounded as torch rounds it.
inline void delta_rule_step(float* state, const float* q, const float* k, const float* v, float g,
                            float beta, float scale, std::int64_t head_size, Bf16* out) {
  const float keep = 1.0f - beta;
  for (std::int64_t row = 0; row < head_size; ++row) {
    float* s = state + row * head_size;
    for (std::int64_t c = 0; c < head_size; ++c) s[c] = g * s[c];
    const float old_v = dot(k, s, head_size);
    const float new_v = beta * v[row] + keep * old_v;
    for (std::int64_t c = 0; c < head_size; ++c) {
      const float removed = s[c] - k[c] * old_v;
      s[c] = removed + k[c] * new_v;
    }
    out[row] = float_to_bf16(scale * dot(q, s, head_size));
  }
}

}  // namespace kforge::ref::gdn
