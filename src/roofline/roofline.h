// @brief Per-workload floors: the bytes an operator must move, the FLOPs it must do, and the
// time neither a perfect memory system nor perfect math units can beat.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "core/tensor.h"
#include "trace/axes.h"
#include "trace/definition.h"

namespace kforge {

struct DevicePeaks {
  std::string name;
  double bandwidth_gbps;   // DRAM, read + write
  double bf16_tflops;      // dense tensor-core rate
  double fp8_tflops;       // dense tensor-core rate
  double fp32_tflops;      // CUDA-core FMA rate
};

// "h100": rates measured on the lent H100 (2026-11-21, shared/notes/peers-h100.md): copy
// 2969 GB/s, bf16 GEMM 800 TFLOP/s, fp8 GEMM 1463 TFLOP/s; fp32 is the datasheet 67 TFLOP/s.
// "h100-spec": datasheet H100 SXM (3350 GB/s, 989, 1979, 67).
DevicePeaks device_peaks(const std::string& preset);
std::string device_preset_names();

struct RooflineEstimate {
  double bytes = 0;
  double flops = 0;
  std::string math;  // which rate bounds the FLOPs: "bf16", "fp8" or "fp32"
  double memory_floor_us = 0;
  double compute_floor_us = 0;
  double floor_us() const { return std::max(memory_floor_us, compute_floor_us); }
  std::string bound() const { return memory_floor_us >= compute_floor_us ? "memory" : "compute"; }
  std::string basis;  // what was counted, e.g. "8 of 32 local experts active, 13 token-expert pairs"
};

// Inputs whose values change the count (routing, valid indices, sequence lengths). The caller
// materializes them (synthesize_inputs with only = this set) or passes none for an upper bound.
std::set<std::string> roofline_value_inputs(const Definition& def);

RooflineEstimate estimate_roofline(const Definition& def, const Axes& axes, const TensorMap* values,
                                   const DevicePeaks& peaks);

}  // namespace kforge
