#include "ref/oracle.h"

#include <array>

#include "core/error.h"
#include "ref/oracles.h"

namespace kforge {
namespace {

constexpr std::array<OracleInfo, 5> kOracles{{
    {"gdn_decode_", ref::gdn_decode},
    {"gdn_prefill_", ref::gdn_prefill},
    {"dsa_topk_indexer_", ref::dsa_topk_indexer},
    {"dsa_sparse_attention_", ref::dsa_sparse_attention},
    {"moe_fp8_block_scale_ds_routing_", ref::moe_fp8_block_scale},
}};

void check_tensor(const std::string& kind, const std::string& name, const TensorSpec& spec,
                  const Tensor& t, const Axes& axes) {
  const Shape want = resolve_shape(spec, axes);
  if (t.dtype() != spec.dtype) {
    throw Error(kind + " '" + name + "' has dtype " + std::string(dtype_name(t.dtype())),
                std::string(dtype_name(spec.dtype)));
  }
  if (t.shape() != want) {
    throw Error(kind + " '" + name + "' has shape " + shape_to_string(t.shape()), shape_to_string(want));
  }
}

}  // namespace

const OracleInfo* find_oracle(std::string_view definition_name) {
  for (const auto& o : kOracles) {
    if (definition_name.starts_with(o.family)) return &o;
  }
  return nullptr;
}

TensorMap run_oracle(const Definition& def, const Axes& axes, const TensorMap& inputs) {
  const OracleInfo* oracle = find_oracle(def.name);
  if (!oracle) {
    throw Error("no CPU oracle for definition '" + def.name + "'",
                "a definition of the five contest families (gdn_decode_, gdn_prefill_, dsa_topk_indexer_, "
                "dsa_sparse_attention_, moe_fp8_block_scale_ds_routing_)");
  }
  for (const auto& [name, spec] : def.inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end()) throw Error("input '" + name + "' missing", "every input of " + def.name);
    check_tensor("input", name, spec, it->second, axes);
  }
  TensorMap out = oracle->run(axes, inputs);
  for (const auto& [name, spec] : def.outputs) {
    auto it = out.find(name);
    if (it == out.end()) throw Error("internal: oracle did not produce output '" + name + "'");
    check_tensor("output", name, spec, it->second, axes);
  }
  return out;
}

}  // namespace kforge
