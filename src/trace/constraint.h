// @brief Evaluates a definition's constraints: Python expressions over axes and input tensors.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/tensor.h"
#include "trace/axes.h"

namespace kforge {

// Supported subset (all the contest definitions use): integer and float literals, axis names,
// + - * / // % **, comparisons (chainable), and/or/not, parentheses, and on input tensors
// `x.shape[i]`, `x[i]` (1-D, negative i from the end) and `.item()`.
struct ConstraintContext {
  const Axes* axes = nullptr;
  // Shape of an input by name, or nullopt if no such input.
  std::function<std::optional<Shape>(std::string_view)> shape_of;
  // Values of an input, or nullptr when only shapes are known.
  std::function<const Tensor*(std::string_view)> tensor_of;
};

struct ConstraintOutcome {
  bool holds = true;
  std::string detail;  // the failing comparison with values, e.g. "2048 <= 64"
};

// nullopt when the expression needs tensor values and tensor_of gave none. Throws Error for
// syntax outside the subset or unknown names.
std::optional<ConstraintOutcome> check_constraint(const std::string& expr, const ConstraintContext& ctx);

}  // namespace kforge
