// A correct GDN decode step (gdn_decode_qk4_v8_d128_k_last, CPU backend): the implementation of
// this solution (gdn_decode.cpp is its entry point) and of the exploit solutions under
// tests/exploits, so that each exploit differs from an honest solution only by its trick. Each
// exploit's solution.json lists this file as a source; the exploit tests (and the exploit README's
// one-liner) stage it next to the exploit before loading, because a solution's source paths cannot
// leave its folder.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kforge/solution_abi.h"

namespace gdn_impl {

inline float bf16(const void* p, int64_t i) {
  uint32_t bits = uint32_t(static_cast<const uint16_t*>(p)[i]) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return 0x7FC0;
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// Bytes of a tensor argument (row-major contiguous, as the ABI hands them over).
inline std::size_t nbytes(const kforge_arg& a) {
  std::size_t n = a.dtype == KFORGE_FLOAT32 || a.dtype == KFORGE_INT32 ? 4 : a.dtype == KFORGE_INT64 ? 8 : 2;
  for (int32_t i = 0; i < a.rank; ++i) n *= static_cast<std::size_t>(a.shape[i]);
  return n;
}

// The (sequence, v-head) pairs of a call: the unit of work below.
inline int64_t num_heads(const kforge_arg* in) { return in[0].shape[0] * in[2].shape[2]; }

// Computes the (sequence, v-head) pairs [begin, end), flattened as sequence * num_v_heads + head.
inline void decode_heads(const kforge_arg* in, const kforge_arg* out, int64_t begin, int64_t end) {
  const kforge_arg &q = in[0], &k = in[1], &v = in[2], &state = in[3], &a_log = in[4], &a = in[5], &dt_bias = in[6],
                   &b = in[7], &scale_arg = in[8];
  const int64_t hq = q.shape[2], hv = v.shape[2], d = q.shape[3];
  float scale = static_cast<float>(scale_arg.scalar.f64);
  if (scale == 0.0f) scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float* s_in = static_cast<const float*>(state.data);
  float* s_out = static_cast<float*>(out[1].data);
  uint16_t* o = static_cast<uint16_t*>(out[0].data);
  for (int64_t pair = begin; pair < end; ++pair) {
    const int64_t bi = pair / hv, h = pair % hv;
    const int64_t qh = h / (hv / hq);
    const float g = std::exp(-std::exp(static_cast<const float*>(a_log.data)[h]) *
                             softplus(bf16(a.data, bi * hv + h) + static_cast<const float*>(dt_bias.data)[h]));
    const float beta = 1.0f / (1.0f + std::exp(-bf16(b.data, bi * hv + h)));
    const int64_t qk_base = (bi * hq + qh) * d;
    for (int64_t vi = 0; vi < d; ++vi) {  // state row vi holds S[:, vi] (k-last)
      const float* row = s_in + ((bi * hv + h) * d + vi) * d;
      float* new_row = s_out + ((bi * hv + h) * d + vi) * d;
      double kv = 0;
      for (int64_t ki = 0; ki < d; ++ki) kv += double(bf16(k.data, qk_base + ki)) * (g * row[ki]);
      const float delta = beta * (bf16(v.data, (bi * hv + h) * d + vi) - static_cast<float>(kv));
      double acc = 0;
      for (int64_t ki = 0; ki < d; ++ki) {
        new_row[ki] = g * row[ki] + bf16(k.data, qk_base + ki) * delta;
        acc += double(bf16(q.data, qk_base + ki)) * new_row[ki];
      }
      o[(bi * hv + h) * d + vi] = to_bf16(scale * static_cast<float>(acc));
    }
  }
}

// The whole step with the ABI's return convention (0 on success).
inline int32_t decode(const kforge_arg* in, int32_t n_in, const kforge_arg* out, int32_t n_out) {
  if (n_in != 9 || n_out != 2) return 1;
  decode_heads(in, out, 0, num_heads(in));
  return 0;
}

}  // namespace gdn_impl
