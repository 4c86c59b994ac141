// @brief Definition: an operator's axes, input/output tensor specs, constraints and reference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "trace/json_fields.h"

namespace kforge {

struct AxisSpec {
  bool is_const = false;
  std::int64_t value = 0;  // meaningful when is_const
  std::optional<std::string> description;
  JsonPassthrough passthrough;
};

struct TensorSpec {
  // Axis names; nullopt means a scalar (shape null in the schema).
  std::optional<std::vector<std::string>> shape;
  DType dtype = DType::kFloat32;
  std::optional<std::string> description;
  JsonPassthrough passthrough;  // keeps e.g. the GDN defs' "optional": true

  bool is_scalar() const { return !shape.has_value(); }
};

struct Definition {
  std::string name;
  std::string op_type;
  NamedList<AxisSpec> axes;
  NamedList<TensorSpec> inputs;   // call order
  NamedList<TensorSpec> outputs;  // call order
  std::string reference;
  std::vector<std::string> tags;
  std::optional<std::string> description;
  std::vector<std::string> constraints;
  JsonPassthrough passthrough;

  std::vector<std::string> var_axes() const;
  // Input or output spec by name, or nullptr.
  const TensorSpec* tensor(std::string_view name) const;
};

// Parses and validates (schema checks of FlashInfer-Bench's Definition model: non-empty name,
// every shape axis declared, inputs and outputs disjoint, reference defines `run`). Throws Error
// with the field path; the caller adds file and line.
Definition parse_definition(const Json& j);
Json to_json(const Definition& d);

}  // namespace kforge
