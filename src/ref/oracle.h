// @brief CPU reference oracles: compute a definition's outputs exactly as its `reference` code.
#pragma once

#include <string>
#include <string_view>

#include "core/tensor.h"
#include "trace/axes.h"
#include "trace/definition.h"

namespace kforge {

// An oracle takes every input by name (scalars as rank-0 tensors) and the resolved axes, and
// returns every output by name. Oracles read sizes from the axes, never from constants, so the
// same code runs the contest shapes and small test shapes.
using OracleFn = TensorMap (*)(const Axes& axes, const TensorMap& inputs);

struct OracleInfo {
  std::string_view family;  // definition-name prefix, e.g. "gdn_decode_"
  OracleFn run;
};

// The oracle for a definition (matched by name prefix), or nullptr.
const OracleInfo* find_oracle(std::string_view definition_name);

// Checks every input against the definition (present, dtype, shape from axes), runs the
// oracle and checks the outputs the same way. Throws Error naming the offending tensor.
TensorMap run_oracle(const Definition& def, const Axes& axes, const TensorMap& inputs);

}  // namespace kforge
