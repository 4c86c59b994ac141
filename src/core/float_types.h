// @brief Reduced-precision float storage types and conversions bit-identical to PyTorch's CPU casts.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace kforge {

// Storage types: a tensor of dtype bfloat16 holds Bf16 values, and so on. They carry raw bits
// only; arithmetic happens in float after decoding, as in the references.
struct Bf16 {
  std::uint16_t bits;
};
struct Fp16 {
  std::uint16_t bits;
};
struct Fp8E4M3 {
  std::uint8_t bits;
};
struct Fp8E5M2 {
  std::uint8_t bits;
};

namespace detail {

// Round-to-nearest-even of |f| (given as bits, finite, below the format's overflow threshold)
// into a minifloat with kMan mantissa bits and exponent bias kBias; returns the unsigned code.
// Normals: re-bias the exponent and round the mantissa on the bits. Subnormals: adding a power
// of two whose ulp equals the subnormal quantum makes the FPU do the rounding.
template <int kMan, int kBias>
inline std::uint32_t round_to_minifloat(std::uint32_t abs_bits) {
  constexpr int kMinNormalExp = 1 - kBias;                      // unbiased exponent of min normal
  constexpr std::uint32_t kMinNormalBits = std::uint32_t(kMinNormalExp + 127) << 23;
  constexpr int kDrop = 23 - kMan;
  if (abs_bits < kMinNormalBits) {
    // Quantum of subnormals is 2^(kMinNormalExp - kMan); a float of exponent q+23 has that ulp.
    constexpr std::uint32_t kMagicBits = std::uint32_t(kMinNormalExp - kMan + 23 + 127) << 23;
    const float sum = std::bit_cast<float>(abs_bits) + std::bit_cast<float>(kMagicBits);
    return std::bit_cast<std::uint32_t>(sum) - kMagicBits;
  }
  const std::uint32_t odd = (abs_bits >> kDrop) & 1u;
  std::uint32_t b = abs_bits - (std::uint32_t(127 - kBias) << 23);
  b += (1u << (kDrop - 1)) - 1u + odd;
  return b >> kDrop;
}

}  // namespace detail

// ---- bfloat16 (round to nearest even). NaN payloads differ between torch's scalar (0x7FC0),
// vectorized CPU (0xFFFF) and CUDA (0x7FFF) casts; only "NaN stays NaN" is a contract. ----
inline float bf16_to_float(Bf16 v) { return std::bit_cast<float>(std::uint32_t(v.bits) << 16); }
inline Bf16 float_to_bf16(float f) {
  if (std::isnan(f)) return Bf16{0x7FC0};
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t bias = 0x7FFFu + ((u >> 16) & 1u);
  return Bf16{static_cast<std::uint16_t>((u + bias) >> 16)};
}

// ---- float16 (IEEE binary16, round to nearest even, overflow to inf; NaN stays NaN) ----
float fp16_to_float(Fp16 v);
inline Fp16 float_to_fp16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return Fp16{static_cast<std::uint16_t>(sign | 0x7E00u)};  // NaN
  if (a >= 0x47800000u) return Fp16{static_cast<std::uint16_t>(sign | 0x7C00u)};  // >= 2^16
  return Fp16{static_cast<std::uint16_t>(sign | detail::round_to_minifloat<10, 15>(a))};
}

// ---- float8_e4m3fn (no inf; S.1111.111 is NaN). As torch 2.11/2.12 (the contest's and the GPU
// machine's versions, CPU and CUDA alike): |x| >= 480, +-inf and NaN become NaN (sign kept);
// values in (464, 480) round onto the NaN code too; 464 rounds to even, 448. (torch 2.15
// saturates to +-448 instead; kforge follows the contest.) ----
float fp8e4m3_to_float(Fp8E4M3 v);
inline Fp8E4M3 float_to_fp8e4m3(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint8_t>((u >> 24) & 0x80u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a >= 0x43F00000u) return Fp8E4M3{static_cast<std::uint8_t>(sign | 0x7Fu)};  // >= 480, inf, NaN
  return Fp8E4M3{static_cast<std::uint8_t>(sign | detail::round_to_minifloat<3, 7>(a))};
}

// ---- float8_e5m2 (IEEE-like: inf and NaN; overflow to inf) ----
float fp8e5m2_to_float(Fp8E5M2 v);
inline Fp8E5M2 float_to_fp8e5m2(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint8_t>((u >> 24) & 0x80u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return Fp8E5M2{static_cast<std::uint8_t>(sign | 0x7Fu)};  // NaN
  if (a >= 0x47800000u) return Fp8E5M2{static_cast<std::uint8_t>(sign | 0x7Cu)};  // >= 2^16
  return Fp8E5M2{static_cast<std::uint8_t>(sign | detail::round_to_minifloat<2, 15>(a))};
}

}  // namespace kforge
