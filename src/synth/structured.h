// @brief Structured generators: inputs whose values must satisfy invariants (valid indices,
// page tables, sequence offsets, packed caches) or stay numerically sane (GDN q/k norms).
#pragma once

#include <string_view>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "trace/axes.h"

namespace kforge {

struct StructuredRule {
  std::string_view family;               // definition-name prefix
  std::vector<std::string_view> inputs;  // produced together (they must agree with each other)
  std::string_view description;          // the invariant, for `kforge inputs` and data/README.md
  // Writes every tensor named in `inputs` into out, shaped as `def` and `axes` say.
  void (*generate)(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out);
};

const std::vector<StructuredRule>& structured_rules();

// Per family (one file each).
std::vector<StructuredRule> gdn_rules();
std::vector<StructuredRule> dsa_rules();
std::vector<StructuredRule> moe_rules();

// Helpers shared by the rule files.
Tensor make_input(const Definition& def, const Axes& axes, std::string_view name);
// First `count` entries of a seeded permutation of [0, n) (partial Fisher-Yates).
std::vector<std::int64_t> sample_distinct(std::int64_t n, std::int64_t count, const CounterRng& rng);

}  // namespace kforge
