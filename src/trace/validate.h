// @brief Cross-checks a workload against its definition and the dataset's blobs.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "trace/dataset.h"

namespace kforge {

struct WorkloadCheck {
  std::vector<Error> errors;
  std::vector<std::string> notes;  // e.g. inputs supplied by the synthesizer
  std::vector<std::string> waived;  // "<constraint>: <why>" for failing constraints the manifest waives
  bool ok() const { return errors.empty(); }
};

// Where a workload's safetensors path points (relative to the dataset root).
std::filesystem::path blob_path(const Dataset& ds, const InputSpec& spec);

// Checks: the definition exists; axes resolve; inputs are the definition's; scalar values fit
// their dtype; safetensors files exist (or the manifest allows synthesis), hold the key, and
// match the declared dtype and shape; constraints hold (value constraints such as
// cu_seqlens[-1] only when tensor_of supplies the tensor).
WorkloadCheck validate_workload(const Dataset& ds, const Located<Trace>& w,
                                const std::function<const Tensor*(std::string_view)>& tensor_of = {});

// Constraints of a definition that need tensor values (so callers know what to materialize).
std::vector<std::string> value_constraint_inputs(const Definition& def);

}  // namespace kforge
