// @brief Reference outputs and reference latency for the gate, computed in the evaluator's own
// process (never in the worker that runs candidate code).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "harness/backend.h"
#include "trace/axes.h"
#include "trace/definition.h"

namespace kforge {

class ReferenceProvider {
 public:
  virtual ~ReferenceProvider() = default;
  virtual std::string name() const = 0;  // "cpu-oracle" | "gpu-reference"
  virtual TensorMap outputs(const Definition& def, const Axes& axes, const TensorMap& inputs) = 0;
  // Per-call latency under the same protocol the candidate is timed with.
  virtual TimingStats time(const Definition& def, const Axes& axes, const TensorMap& inputs, const TimingConfig& cfg) = 0;
};

std::unique_ptr<ReferenceProvider> make_cpu_reference();
// Needs a CUDA build and device; throws Error otherwise.
std::unique_ptr<ReferenceProvider> make_gpu_reference();

}  // namespace kforge
