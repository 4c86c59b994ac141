// @brief The correctness gate: a candidate's outputs against the reference's, by FlashInfer-Bench's
// per-definition rules, with non-finite values judged element by element.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "trace/axes.h"
#include "trace/definition.h"
#include "trace/trace.h"

namespace kforge {

// An element fails when |got - want| > atol AND |got - want| / (|want| + 1e-8) > rtol; an output
// fails when the fraction of elements that pass is below required_matched_ratio.
struct Tolerance {
  double atol = 1e-2;
  double rtol = 1e-2;
  double required_matched_ratio = 1.0;
};

// The contest's tolerances: the MoE definitions (FlashInfer-Bench's LowBitEvaluator, names
// containing "moe_fp8_block_scale") atol 1, rtol 0.3, 90% of elements; every other one
// atol = rtol = 1e-2 and every element.
Tolerance default_tolerance(const Definition& def);

struct OutputComparison {
  std::string name;
  EvalStatus status = EvalStatus::kPassed;
  // Over element pairs that are both finite; inf when a non-finite mismatch (or, for the indexer,
  // an invalid selection) occurred, or when the output could not be compared at all.
  double max_abs_error = 0;
  double max_rel_error = 0;
  double matched_ratio = 1;   // 1 - mismatches / numel (0 when not compared)
  std::int64_t numel = 0;
  std::int64_t mismatches = 0;   // elements (indexer: positions) that break a rule
  // Mismatching elements that still hold the worker's poison (harness/worker.h: poison_byte).
  std::int64_t not_written = 0;
  // One line on the first mismatch and the totals; empty when nothing mismatches. Set even
  // when the output passes within its matched ratio.
  std::string first_failure;
};

struct Comparison {
  // kPassed, kIncorrectShape, kIncorrectDtype or kIncorrectNumerical: the status of the first
  // failing output in definition order, as FlashInfer-Bench stops at the first failing output.
  EvalStatus status = EvalStatus::kPassed;
  // Over all outputs: max, max, min.
  double max_abs_error = 0;
  double max_rel_error = 0;
  double matched_ratio = 1;
  std::vector<OutputComparison> outputs;  // definition order, every output
  // Empty on a pass; otherwise the first failing output's first_failure, and which other
  // outputs fail too.
  std::string message;

  bool passed() const { return status == EvalStatus::kPassed; }
};

// Compares `actual` (the candidate's outputs) with `expected` (the reference's) for every output
// of the definition, in FlashInfer-Bench's order: missing or differently shaped -> INCORRECT_SHAPE,
// different dtype -> INCORRECT_DTYPE, then values (INCORRECT_NUMERICAL):
//  - floats, decoded exactly to double: NaN passes only where the reference has NaN, +-inf only
//    where it has the same inf, a finite value only where the reference is finite (the tolerance
//    test). Any non-finite mismatch fails the output whatever the matched ratio.
//  - integers: exact equality, counted against the matched ratio.
//  - dsa_topk_indexer_* topk_indices: a set rule, not elementwise (see compare.cpp).
// `inputs` and `axes` are those of the call; the indexer rule recomputes scores from them.
// Throws Error when the reference itself is unusable (an output missing, an invalid indexer row),
// or the tolerance is out of range.
Comparison compare_outputs(const Definition& def, const Axes& axes, const TensorMap& inputs,
                           const TensorMap& expected, const TensorMap& actual, const Tolerance& tol);

}  // namespace kforge
