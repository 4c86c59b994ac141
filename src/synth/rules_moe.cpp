// MoE: the routing blobs are not available; logits N(0,1) (as FlashInfer-Bench's fp32 random)
// and a small bias, so group selection depends on both as in real routing data.
#include "synth/distributions.h"
#include "synth/structured.h"

namespace kforge {
namespace {

void gen_routing_bias(const Definition& def, const Axes& axes, const CounterRng& rng, TensorMap& out) {
  Tensor t = make_input(def, axes, "routing_bias");
  fill_normal(t, rng, 0.0, 0.1);
  out.insert_or_assign("routing_bias", std::move(t));
}

}  // namespace

std::vector<StructuredRule> moe_rules() {
  return {{"moe_", {"routing_bias"}, "0.1 * N(0,1), then bf16", gen_routing_bias}};
}

}  // namespace kforge
