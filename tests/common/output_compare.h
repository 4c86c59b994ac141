// Elementwise comparison of computed outputs with reference outputs under the tolerance rules that
// the golden tests (tests/unit/golden_test.cpp: CPU oracles against PyTorch) and the GPU reference
// tests (tests/gpu/gpuref_test.cu: GPU references against the CPU oracles) share:
//   - float32: |got - ref| <= 1e-5 + 1e-4 |ref|; a non-finite reference (-inf, NaN) exactly;
//   - bfloat16: at most one representable step from the reference, or, for elements that are tiny
//     next to the rest of the tensor, |got - ref| <= 1e-5 * max|ref| (there the reference's own
//     float32 accumulation error spans several bf16 steps).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "core/tensor.h"

namespace kforge::test_support {

constexpr double kF32Atol = 1e-5;
constexpr double kF32Rtol = 1e-4;
// bf16: absolute floor, relative to the tensor's largest reference magnitude, for elements
// whose value is mostly float32 rounding noise of the reference.
constexpr double kBf16TensorFloor = 1e-5;
constexpr int kMaxReported = 5;  // mismatching elements spelled out per output

struct OutputComparison {
  std::int64_t failures = 0;   // elements outside the tolerance
  std::int64_t differing = 0;  // elements not bit-identical
  double max_abs = 0.0;
  double max_rel = 0.0;
  int max_bf16_steps = 0;            // bfloat16: the largest distance in representable steps
  std::int64_t bf16_by_floor = 0;    // bfloat16: elements more than one step off but within the floor
  std::string detail;  // the first few failures, spelled out
  std::string extra;   // summary text specific to the comparison (set by the caller)

  void note_error(double got, double want) {
    const double abs_err = std::fabs(got - want);
    max_abs = std::max(max_abs, abs_err);
    max_rel = std::max(max_rel, abs_err / (std::fabs(want) + 1e-8));  // FlashInfer-Bench's rel
  }
  void fail(const std::string& what) {
    if (failures++ < kMaxReported) detail += "\n    " + what;
  }
};

// "[1, 0, 7]" for flat index i of a tensor of this shape.
inline std::string index_string(const Shape& shape, std::int64_t i) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  std::string out = "[";
  for (std::size_t d = 0; d < idx.size(); ++d) out += (d ? ", " : "") + std::to_string(idx[d]);
  return out + "]";
}

inline OutputComparison compare_float32(const Tensor& got, const Tensor& want) {
  OutputComparison c;
  const auto g = got.data<float>();
  const auto w = want.data<float>();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double gv = g[i], wv = w[i];
    if (std::memcmp(&g[i], &w[i], sizeof(float)) != 0) ++c.differing;
    bool ok;
    if (std::isinf(wv) || std::isnan(wv)) {
      ok = std::isnan(wv) ? std::isnan(gv) : gv == wv;  // -inf (empty lse rows) exactly
    } else {
      ok = std::isfinite(gv) && std::fabs(gv - wv) <= kF32Atol + kF32Rtol * std::fabs(wv);
      if (std::isfinite(gv)) c.note_error(gv, wv);
    }
    if (!ok) {
      std::ostringstream s;
      s.precision(9);
      s << index_string(want.shape(), static_cast<std::int64_t>(i)) << ": expected " << wv << ", got " << gv;
      c.fail(s.str());
    }
  }
  return c;
}

// A bf16 bit pattern mapped to an integer that counts representable steps (+0 and -0 both 0).
inline int bf16_ordinal(std::uint16_t bits) {
  const int magnitude = bits & 0x7FFF;
  return (bits & 0x8000) ? -magnitude : magnitude;
}

inline OutputComparison compare_bfloat16(const Tensor& got, const Tensor& want) {
  OutputComparison c;
  const auto g = got.data<Bf16>();
  const auto w = want.data<Bf16>();
  double max_ref = 0.0;
  for (const Bf16 v : w) {
    if (std::isfinite(bf16_to_float(v))) max_ref = std::max(max_ref, std::fabs(double{bf16_to_float(v)}));
  }
  const double floor = kBf16TensorFloor * max_ref;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (g[i].bits == w[i].bits) continue;
    ++c.differing;
    const double gv = bf16_to_float(g[i]), wv = bf16_to_float(w[i]);
    const int steps = std::abs(bf16_ordinal(g[i].bits) - bf16_ordinal(w[i].bits));
    c.max_bf16_steps = std::max(c.max_bf16_steps, steps);
    const bool finite = std::isfinite(gv) && std::isfinite(wv);
    const bool near_zero = finite && steps > 1 && std::fabs(gv - wv) <= floor;
    c.bf16_by_floor += near_zero ? 1 : 0;
    if (finite) c.note_error(gv, wv);
    if (!(finite && (steps <= 1 || near_zero))) {
      std::ostringstream s;
      s.precision(9);
      s << index_string(want.shape(), static_cast<std::int64_t>(i)) << ": expected " << wv << ", got " << gv
        << " (" << steps << " bf16 steps)";
      c.fail(s.str());
    }
  }
  return c;
}

}  // namespace kforge::test_support
