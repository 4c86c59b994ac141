// Casts must be bit-identical to PyTorch's (2.12, the contest's version) CPU casts: hand-checked
// edge values here, and every one of the 2^32 float32 inputs against digests made by
// tools/casts/make_cast_digests.py.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/float_types.h"
#include "core/parallel.h"

namespace kforge {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(Fp8E4M3, EdgeValuesRoundAsTorch) {
  EXPECT_EQ(float_to_fp8e4m3(0.0f).bits, 0x00);
  EXPECT_EQ(float_to_fp8e4m3(-0.0f).bits, 0x80);
  EXPECT_EQ(float_to_fp8e4m3(1.0f).bits, 0x38);            // exponent 7 = bias, mantissa 0
  EXPECT_EQ(float_to_fp8e4m3(1.0625f).bits, 0x38);         // tie 1.0 | 1.125 -> even mantissa 000
  EXPECT_EQ(float_to_fp8e4m3(1.1875f).bits, 0x3A);         // tie 1.125 | 1.25 -> even mantissa 010
  EXPECT_EQ(float_to_fp8e4m3(448.0f).bits, 0x7E);          // largest finite
  EXPECT_EQ(float_to_fp8e4m3(464.0f).bits, 0x7E);          // tie 448 | 480 -> even, stays finite
  EXPECT_EQ(float_to_fp8e4m3(464.5f).bits, 0x7F);          // rounds onto the NaN code: no saturation
  EXPECT_EQ(float_to_fp8e4m3(480.0f).bits, 0x7F);
  EXPECT_EQ(float_to_fp8e4m3(-1000.0f).bits, 0xFF);
  EXPECT_EQ(float_to_fp8e4m3(kInf).bits, 0x7F);            // e4m3fn has no inf
  EXPECT_EQ(float_to_fp8e4m3(-kInf).bits, 0xFF);
  EXPECT_EQ(float_to_fp8e4m3(kNaN).bits, 0x7F);
  EXPECT_EQ(float_to_fp8e4m3(-kNaN).bits, 0xFF);           // NaN keeps its sign
  EXPECT_EQ(float_to_fp8e4m3(std::ldexp(1.0f, -6)).bits, 0x08);   // min normal
  EXPECT_EQ(float_to_fp8e4m3(std::ldexp(1.0f, -9)).bits, 0x01);   // min subnormal
  EXPECT_EQ(float_to_fp8e4m3(std::ldexp(1.0f, -10)).bits, 0x00);  // tie 0 | 2^-9 -> even
  EXPECT_EQ(float_to_fp8e4m3(std::ldexp(1.5f, -10)).bits, 0x01);
  EXPECT_EQ(float_to_fp8e4m3(std::ldexp(7.5f, -9)).bits, 0x08);   // top subnormal rounds to min normal
}

TEST(Fp8E4M3, DecodeAllCodes) {
  EXPECT_EQ(fp8e4m3_to_float({0x38}), 1.0f);
  EXPECT_EQ(fp8e4m3_to_float({0x7E}), 448.0f);
  EXPECT_EQ(fp8e4m3_to_float({0xFE}), -448.0f);
  EXPECT_EQ(fp8e4m3_to_float({0x01}), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(fp8e4m3_to_float({0x7F})));
  EXPECT_TRUE(std::isnan(fp8e4m3_to_float({0xFF})));
  for (int c = 0; c < 256; ++c) {  // every finite code survives a round trip
    const float f = fp8e4m3_to_float({static_cast<std::uint8_t>(c)});
    if (!std::isnan(f)) {
      EXPECT_EQ(float_to_fp8e4m3(f).bits, c) << c;
    }
  }
}

TEST(Fp8E5M2, EdgeValuesRoundAsTorch) {
  EXPECT_EQ(float_to_fp8e5m2(1.0f).bits, 0x3C);
  EXPECT_EQ(float_to_fp8e5m2(57344.0f).bits, 0x7B);   // largest finite
  EXPECT_EQ(float_to_fp8e5m2(61440.0f).bits, 0x7C);   // tie 57344 | 65536 -> even = inf
  EXPECT_EQ(float_to_fp8e5m2(kInf).bits, 0x7C);
  EXPECT_EQ(float_to_fp8e5m2(-kInf).bits, 0xFC);
  EXPECT_EQ(float_to_fp8e5m2(kNaN).bits, 0x7F);
  EXPECT_EQ(float_to_fp8e5m2(std::ldexp(1.0f, -16)).bits, 0x01);
  EXPECT_EQ(fp8e5m2_to_float({0x7C}), kInf);
  EXPECT_TRUE(std::isnan(fp8e5m2_to_float({0x7D})));
}

TEST(Bf16, EdgeValuesRoundAsTorch) {
  EXPECT_EQ(float_to_bf16(1.0f).bits, 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)).bits, 0x3F80);      // tie -> even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)).bits, 0x3F82);  // tie -> even
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()).bits, 0x7F80);  // rounds to inf
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(kNaN))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7F800001u)))));  // payload in low bits only
  EXPECT_EQ(bf16_to_float({0xC000}), -2.0f);
}

TEST(Fp16, EdgeValuesRoundAsTorch) {
  EXPECT_EQ(float_to_fp16(1.0f).bits, 0x3C00);
  EXPECT_EQ(float_to_fp16(65504.0f).bits, 0x7BFF);
  EXPECT_EQ(float_to_fp16(65520.0f).bits, 0x7C00);  // tie -> even = inf
  EXPECT_EQ(float_to_fp16(std::ldexp(1.0f, -24)).bits, 0x0001);
  EXPECT_EQ(float_to_fp16(std::ldexp(1.0f, -25)).bits, 0x0000);
  EXPECT_EQ(fp16_to_float({0x3C00}), 1.0f);
  EXPECT_TRUE(std::isnan(fp16_to_float(float_to_fp16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_EQ(fp16_to_float({0x0001}), std::ldexp(1.0f, -24));
}

// ---- exhaustive digests (see tools/casts/make_cast_digests.py for the definition) ----
// NaN inputs count as code 0 for the 16-bit formats, whose NaN payloads torch does not fix.

std::uint64_t weight(std::uint64_t i) { return ((i * 0x9E3779B97F4A7C15ull) ^ (i >> 7)) | 1u; }

template <class Code>
std::uint64_t encode_digest(Code&& code) {
  std::atomic<std::uint64_t> total{0};
  parallel_for(std::int64_t{1} << 32, std::int64_t{1} << 24, [&](std::int64_t b, std::int64_t e) {
    std::uint64_t sum = 0;
    for (std::int64_t i = b; i < e; ++i) {
      const auto u = static_cast<std::uint64_t>(i);
      sum += static_cast<std::uint64_t>(code(std::bit_cast<float>(static_cast<std::uint32_t>(u)))) * weight(u);
    }
    total += sum;
  });
  return total.load();
}

template <class Decode>
std::uint64_t decode_digest(int nbits, Decode&& decode) {
  std::uint64_t sum = 0;
  for (std::uint64_t c = 0; c < (1u << nbits); ++c) {
    const float f = decode(static_cast<std::uint32_t>(c));
    const std::uint32_t bits = std::isnan(f) ? 0x7FC00000u : std::bit_cast<std::uint32_t>(f);
    sum += bits * weight(c);
  }
  return sum;
}

nlohmann::json digests() {
  std::ifstream in(std::string(KFORGE_TEST_DATA_DIR) + "/cast_digests.json");
  return nlohmann::json::parse(in);
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

TEST(CastsExhaustive, DecodeMatchesTorch) {
  const auto d = digests()["decode"];
  EXPECT_EQ(hex(decode_digest(16, [](std::uint32_t c) { return bf16_to_float({static_cast<std::uint16_t>(c)}); })), d["bfloat16"].get<std::string>());
  EXPECT_EQ(hex(decode_digest(16, [](std::uint32_t c) { return fp16_to_float({static_cast<std::uint16_t>(c)}); })), d["float16"].get<std::string>());
  EXPECT_EQ(hex(decode_digest(8, [](std::uint32_t c) { return fp8e4m3_to_float({static_cast<std::uint8_t>(c)}); })), d["float8_e4m3fn"].get<std::string>());
  EXPECT_EQ(hex(decode_digest(8, [](std::uint32_t c) { return fp8e5m2_to_float({static_cast<std::uint8_t>(c)}); })), d["float8_e5m2"].get<std::string>());
}

TEST(CastsExhaustive, EncodeEveryFloat32MatchesTorch) {
  const auto d = digests()["encode"];
  EXPECT_EQ(hex(encode_digest([](float f) { return std::isnan(f) ? 0 : float_to_bf16(f).bits; })), d["bfloat16"].get<std::string>());
  EXPECT_EQ(hex(encode_digest([](float f) { return std::isnan(f) ? 0 : float_to_fp16(f).bits; })), d["float16"].get<std::string>());
  EXPECT_EQ(hex(encode_digest([](float f) { return float_to_fp8e4m3(f).bits; })), d["float8_e4m3fn"].get<std::string>());
  EXPECT_EQ(hex(encode_digest([](float f) { return float_to_fp8e5m2(f).bits; })), d["float8_e5m2"].get<std::string>());
}

}  // namespace
}  // namespace kforge
