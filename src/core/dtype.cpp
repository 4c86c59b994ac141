#include "core/dtype.h"

#include <array>

#include "core/error.h"

namespace kforge {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::string_view st_code;
  std::size_t size;
  bool floating;
};

constexpr std::array<DTypeInfo, 11> kDTypes{{
    {DType::kFloat32, "float32", "F32", 4, true},
    {DType::kFloat16, "float16", "F16", 2, true},
    {DType::kBFloat16, "bfloat16", "BF16", 2, true},
    {DType::kFloat8E4M3FN, "float8_e4m3fn", "F8_E4M3", 1, true},
    {DType::kFloat8E5M2, "float8_e5m2", "F8_E5M2", 1, true},
    {DType::kFloat4E2M1, "float4_e2m1", "F4", 1, true},
    {DType::kInt64, "int64", "I64", 8, false},
    {DType::kInt32, "int32", "I32", 4, false},
    {DType::kInt16, "int16", "I16", 2, false},
    {DType::kInt8, "int8", "I8", 1, false},
    {DType::kBool, "bool", "BOOL", 1, false},
}};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes) {
    if (i.dtype == dtype) return i;
  }
  throw Error("internal: unknown DType value");
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::size_t dtype_size(DType dtype) { return info(dtype).size; }
bool dtype_is_floating(DType dtype) { return info(dtype).floating; }
std::string_view dtype_safetensors_code(DType dtype) { return info(dtype).st_code; }

DType parse_dtype(std::string_view name) {
  for (const auto& i : kDTypes) {
    if (i.name == name) return i.dtype;
  }
  throw Error("unknown dtype '" + std::string(name) + "'", "one of " + dtype_name_list());
}

std::optional<DType> dtype_from_safetensors_code(std::string_view code) {
  for (const auto& i : kDTypes) {
    if (i.st_code == code) return i.dtype;
  }
  return std::nullopt;
}

std::string dtype_name_list() {
  std::string out;
  for (const auto& i : kDTypes) {
    if (!out.empty()) out += ", ";
    out += i.name;
  }
  return out;
}

}  // namespace kforge
