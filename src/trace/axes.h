// @brief Axis values of a workload and the concrete tensor shapes they imply.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "trace/definition.h"
#include "trace/workload.h"

namespace kforge {

using Axes = std::map<std::string, std::int64_t, std::less<>>;

// Const axes from the definition plus var axes from the workload. Errors: a var axis without a
// value, an axis the definition does not have, a value given for a const axis that differs.
Axes resolve_axes(const Definition& def, const Workload& w);

// Shape of a tensor spec under the axes ({} for a scalar).
Shape resolve_shape(const TensorSpec& spec, const Axes& axes);

// Axis values as FlashInfer-Bench infers them at call time: each var axis from the first input
// that uses it; a later input that disagrees is an error naming both.
Axes infer_axes(const Definition& def, const std::vector<Shape>& input_shapes);

// "batch_size=64, num_pages=8462" for tables and messages (var axes only).
std::string format_var_axes(const Definition& def, const Axes& axes);

}  // namespace kforge
