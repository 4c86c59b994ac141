// @brief Saving and loading a workload's tensors with the metadata that makes them reproducible.
#pragma once

#include <filesystem>
#include <string>

#include "core/tensor.h"
#include "trace/json_fields.h"

namespace kforge {

// Writes tensors in definition order with __metadata__ {"kforge": <json>} (definition, workload
// uuid, seed, axes, where each input came from).
void save_tensors(const std::filesystem::path& file, const TensorMap& tensors, const std::vector<std::string>& order,
                  const Json& metadata);
TensorMap load_tensors(const std::filesystem::path& file, Json* metadata = nullptr);

// One row per tensor: dtype, shape, and value statistics (finite count, min, max, mean |x|).
Json tensor_summary(const std::string& name, const Tensor& t);

}  // namespace kforge
