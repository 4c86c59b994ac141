// GDN decode for the CPU backend (kforge solution ABI): one recurrent step per (sequence, v-head).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kforge/solution_abi.h"

namespace {

float bf16(const void* p, int64_t i) {
  uint32_t bits = uint32_t(static_cast<const uint16_t*>(p)[i]) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return 0x7FC0;
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

extern "C" int32_t gdn_decode(const kforge_arg* in, int32_t n_in, const kforge_arg* out, int32_t n_out, void*, uint64_t,
                              void*) {
  if (n_in != 9 || n_out != 2) return 1;
  const kforge_arg &q = in[0], &k = in[1], &v = in[2], &state = in[3], &a_log = in[4], &a = in[5], &dt_bias = in[6],
                   &b = in[7], &scale_arg = in[8];
  const int64_t batch = q.shape[0], hq = q.shape[2], hv = v.shape[2], d = q.shape[3];
  float scale = static_cast<float>(scale_arg.scalar.f64);
  if (scale == 0.0f) scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float* s_in = static_cast<const float*>(state.data);
  float* s_out = static_cast<float*>(out[1].data);
  uint16_t* o = static_cast<uint16_t*>(out[0].data);
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t h = 0; h < hv; ++h) {
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
  return 0;
}
