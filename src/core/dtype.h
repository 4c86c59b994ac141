// @brief Element types of the FlashInfer-Bench schema, with their names and storage sizes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kforge {

enum class DType {
  kFloat32,
  kFloat16,
  kBFloat16,
  kFloat8E4M3FN,
  kFloat8E5M2,
  kFloat4E2M1,  // in the schema; no contest operator uses it, so tensors of it are refused
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kBool,
};

// The schema's name, e.g. "float8_e4m3fn".
std::string_view dtype_name(DType dtype);
// Parses a schema name; throws Error naming the value and listing the accepted names.
DType parse_dtype(std::string_view name);

// Bytes per element of host storage.
std::size_t dtype_size(DType dtype);
bool dtype_is_floating(DType dtype);

// safetensors' dtype codes ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtype_safetensors_code(DType dtype);
std::optional<DType> dtype_from_safetensors_code(std::string_view code);

// "float32, float16, ..." for error messages.
std::string dtype_name_list();

}  // namespace kforge
