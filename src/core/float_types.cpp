#include "core/float_types.h"

#include <array>
#include <limits>

namespace kforge {
namespace {

// Decodes a minifloat code with kMan mantissa bits and bias kBias; kIeeeSpecials selects the
// IEEE rule (all-ones exponent = inf/NaN) versus e4m3fn's (only all-ones code is NaN).
template <int kExp, int kMan, int kBias, bool kIeeeSpecials>
float decode_minifloat(std::uint32_t code) {
  const bool negative = (code >> (kExp + kMan)) & 1u;
  const std::uint32_t exp_field = (code >> kMan) & ((1u << kExp) - 1u);
  const std::uint32_t mant = code & ((1u << kMan) - 1u);
  float mag;
  if (kIeeeSpecials && exp_field == (1u << kExp) - 1u) {
    mag = mant == 0 ? std::numeric_limits<float>::infinity()
                    : std::numeric_limits<float>::quiet_NaN();
  } else if (!kIeeeSpecials && exp_field == (1u << kExp) - 1u && mant == (1u << kMan) - 1u) {
    mag = std::numeric_limits<float>::quiet_NaN();
  } else if (exp_field == 0) {
    mag = std::ldexp(static_cast<float>(mant), 1 - kBias - kMan);
  } else {
    mag = std::ldexp(static_cast<float>(mant | (1u << kMan)),
                     static_cast<int>(exp_field) - kBias - kMan);
  }
  return negative ? -mag : mag;
}

template <int kExp, int kMan, int kBias, bool kIeeeSpecials>
std::array<float, 256> make_fp8_table() {
  std::array<float, 256> t{};
  for (std::uint32_t c = 0; c < 256; ++c) t[c] = decode_minifloat<kExp, kMan, kBias, kIeeeSpecials>(c);
  return t;
}

const std::array<float, 256> kE4M3Table = make_fp8_table<4, 3, 7, false>();
const std::array<float, 256> kE5M2Table = make_fp8_table<5, 2, 15, true>();

}  // namespace

float fp16_to_float(Fp16 v) { return decode_minifloat<5, 10, 15, true>(v.bits); }
float fp8e4m3_to_float(Fp8E4M3 v) { return kE4M3Table[v.bits]; }
float fp8e5m2_to_float(Fp8E5M2 v) { return kE5M2Table[v.bits]; }

}  // namespace kforge
