// @brief Materializes a workload's inputs: scalars from the workload, blobs from disk, structured
// generators where values must be valid, FlashInfer-Bench's random distributions otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/tensor.h"
#include "trace/axes.h"
#include "trace/dataset.h"

namespace kforge {

struct SynthesizedInputs {
  Axes axes;
  TensorMap tensors;
  // Per input, in definition order: where its values came from, e.g. "scalar 2.5",
  // "blob ./blob/x.safetensors:routing_logits", "random N(0,1)", "structured: <rule>".
  NamedList<std::string> provenance;
  std::uint64_t seed = 0;
};

// Deterministic: the same (definition, workload uuid, seed) gives the same bytes, whichever
// subset is requested (every input has its own counter-based stream). `dataset` may be null
// (no blobs: every safetensors input is synthesized). `only` restricts which inputs are made.
SynthesizedInputs synthesize_inputs(const Definition& def, const Workload& workload, const Dataset* dataset,
                                    std::uint64_t seed, const std::set<std::string>* only = nullptr);

// One line per structured rule: which definition family, which inputs, what it guarantees.
std::vector<std::string> describe_structured_rules();

}  // namespace kforge
