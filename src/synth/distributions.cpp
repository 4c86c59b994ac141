#include "synth/distributions.h"

#include <algorithm>

#include "core/parallel.h"

namespace kforge {
namespace {

constexpr std::int64_t kGrain = 1 << 16;

template <class T, class Make>
void fill(Tensor& t, Make&& make) {
  auto data = t.data<T>();
  parallel_for(static_cast<std::int64_t>(data.size()), kGrain, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) data[static_cast<std::size_t>(i)] = make(static_cast<std::uint64_t>(i));
  });
}

template <class T>
void fill_ints(Tensor& t, const CounterRng& rng, std::int64_t lo, std::int64_t hi) {
  fill<T>(t, [&](std::uint64_t i) { return static_cast<T>(rng.integer(i, lo, hi)); });
}

}  // namespace

void fill_normal(Tensor& t, const CounterRng& rng, double mean, double stddev) {
  auto value = [&](std::uint64_t i) { return static_cast<float>(mean + stddev * rng.normal(i)); };
  switch (t.dtype()) {
    case DType::kFloat32: fill<float>(t, value); return;
    case DType::kBFloat16: fill<Bf16>(t, [&](std::uint64_t i) { return float_to_bf16(value(i)); }); return;
    case DType::kFloat16: fill<Fp16>(t, [&](std::uint64_t i) { return float_to_fp16(value(i)); }); return;
    default: break;
  }
  throw Error("internal: fill_normal on " + std::string(dtype_name(t.dtype())));
}

void fill_fib_random(Tensor& t, const CounterRng& rng) {
  auto clamped = [&](std::uint64_t i) { return std::clamp(static_cast<float>(rng.normal(i)), -2.0f, 2.0f); };
  switch (t.dtype()) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: fill_normal(t, rng); return;
    case DType::kFloat8E4M3FN: fill<Fp8E4M3>(t, [&](std::uint64_t i) { return float_to_fp8e4m3(clamped(i)); }); return;
    case DType::kFloat8E5M2: fill<Fp8E5M2>(t, [&](std::uint64_t i) { return float_to_fp8e5m2(clamped(i)); }); return;
    case DType::kBool: fill<bool>(t, [&](std::uint64_t i) { return rng.integer(i, 0, 2) == 1; }); return;
    case DType::kInt8: fill_ints<std::int8_t>(t, rng, -128, 128); return;
    case DType::kInt16: fill_ints<std::int16_t>(t, rng, -1024, 1024); return;
    case DType::kInt32: fill_ints<std::int32_t>(t, rng, -1024, 1024); return;
    case DType::kInt64: fill_ints<std::int64_t>(t, rng, -1024, 1024); return;
    case DType::kFloat4E2M1: break;
  }
  throw Error("cannot synthesize dtype " + std::string(dtype_name(t.dtype())));
}

std::string fib_random_description(DType dtype) {
  switch (dtype) {
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2: return "random N(0,1) clamped to [-2,2]";
    case DType::kBool: return "random {0,1}";
    case DType::kInt8: return "random U[-128,128)";
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64: return "random U[-1024,1024)";
    default: return "random N(0,1)";
  }
}

}  // namespace kforge
