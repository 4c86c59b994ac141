#include <array>

#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {
namespace {

using Launcher = void (*)(const Axes&, const DeviceTensorMap&, const TensorMap&, DeviceTensorMap&, cudaStream_t);

struct Entry {
  std::string_view family;
  Launcher launch;
};

constexpr std::array<Entry, 5> kEntries{{
    {"gdn_decode_", gdn_decode},
    {"gdn_prefill_", gdn_prefill},
    {"dsa_topk_indexer_", dsa_topk_indexer},
    {"dsa_sparse_attention_", dsa_sparse_attention},
    {"moe_fp8_block_scale_ds_routing_", moe_fp8_block_scale},
}};

const Entry* find(std::string_view name) {
  for (const auto& e : kEntries) {
    if (name.starts_with(e.family)) return &e;
  }
  return nullptr;
}

}  // namespace

bool has_gpu_reference(std::string_view definition_name) { return find(definition_name) != nullptr; }

void run(const Definition& def, const Axes& axes, const DeviceTensorMap& inputs, const TensorMap& scalars,
         DeviceTensorMap& outputs, cudaStream_t stream) {
  const Entry* e = find(def.name);
  if (!e) throw Error("no GPU reference for definition '" + def.name + "'", "one of the five contest families");
  for (const auto& [name, spec] : def.outputs) {
    auto it = outputs.find(name);
    if (it == outputs.end() || it->second.dtype != spec.dtype || it->second.shape != resolve_shape(spec, axes)) {
      throw Error("output '" + name + "' missing or of the wrong dtype/shape",
                  std::string(dtype_name(spec.dtype)) + " " + shape_to_string(resolve_shape(spec, axes)));
    }
  }
  e->launch(axes, inputs, scalars, outputs, stream);
}

}  // namespace kforge::gpuref
