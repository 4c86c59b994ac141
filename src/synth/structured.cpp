#include "synth/structured.h"

#include <numeric>

#include "core/error.h"

namespace kforge {

const std::vector<StructuredRule>& structured_rules() {
  static const std::vector<StructuredRule> rules = [] {
    std::vector<StructuredRule> all;
    for (auto family : {gdn_rules(), dsa_rules(), moe_rules()}) all.insert(all.end(), family.begin(), family.end());
    return all;
  }();
  return rules;
}

Tensor make_input(const Definition& def, const Axes& axes, std::string_view name) {
  const TensorSpec* spec = def.inputs.find(name);
  if (!spec) throw Error("internal: structured rule for unknown input '" + std::string(name) + "'");
  return Tensor(spec->dtype, resolve_shape(*spec, axes));
}

std::vector<std::int64_t> sample_distinct(std::int64_t n, std::int64_t count, const CounterRng& rng) {
  std::vector<std::int64_t> pool(static_cast<std::size_t>(n));
  std::iota(pool.begin(), pool.end(), std::int64_t{0});
  count = std::min(count, n);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto j = static_cast<std::size_t>(rng.integer(static_cast<std::uint64_t>(i), i, n));
    std::swap(pool[static_cast<std::size_t>(i)], pool[j]);
  }
  pool.resize(static_cast<std::size_t>(count));
  return pool;
}

}  // namespace kforge
