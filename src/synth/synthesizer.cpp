#include "synth/synthesizer.h"

#include <filesystem>

#include "core/safetensors.h"
#include "synth/distributions.h"
#include "synth/structured.h"
#include "trace/validate.h"

namespace kforge {
namespace {

Tensor scalar_from_workload(const TensorSpec& spec, const Json& v) {
  Tensor t(spec.dtype, {});
  t.set(0, v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>());
  return t;
}

const StructuredRule* rule_for(const Definition& def, std::string_view input) {
  for (const auto& r : structured_rules()) {
    if (!def.name.starts_with(r.family)) continue;
    for (auto n : r.inputs) {
      if (n == input) return &r;
    }
  }
  return nullptr;
}

}  // namespace

SynthesizedInputs synthesize_inputs(const Definition& def, const Workload& workload, const Dataset* dataset,
                                    std::uint64_t seed, const std::set<std::string>* only) {
  SynthesizedInputs out;
  out.seed = seed;
  out.axes = resolve_axes(def, workload);
  const CounterRng base = CounterRng(seed).derive(workload.uuid);
  for (const auto& [name, spec] : def.inputs) {
    if (only && !only->count(name)) continue;
    const InputSpec in = workload.input(name);
    std::string why;  // prefix explaining a substitution
    if (in.kind == InputSpec::Kind::kScalar) {
      out.tensors.insert_or_assign(name, scalar_from_workload(spec, in.scalar_value));
      out.provenance.add(name, "scalar " + in.scalar_value.dump());
      continue;
    }
    if (in.kind == InputSpec::Kind::kSafetensors) {
      if (dataset && std::filesystem::exists(blob_path(*dataset, in))) {
        Tensor t = read_safetensors_tensor(blob_path(*dataset, in), in.tensor_key);
        const Shape want = resolve_shape(spec, out.axes);
        if (t.shape() != want || t.dtype() != spec.dtype) {
          throw Error("blob tensor '" + in.tensor_key + "' is " + std::string(dtype_name(t.dtype())) + " " +
                          shape_to_string(t.shape()),
                      std::string(dtype_name(spec.dtype)) + " " + shape_to_string(want))
              .at_file(blob_path(*dataset, in).string());
        }
        out.tensors.insert_or_assign(name, std::move(t));
        out.provenance.add(name, "blob " + in.path + ":" + in.tensor_key);
        continue;
      }
      if (dataset && !dataset->manifest.synthesize_missing_blobs) {
        throw Error("safetensors file not found: " + blob_path(*dataset, in).string(),
                    "the blob, or \"missing_blobs\": \"synthesize\" in kforge-dataset.json")
            .in_field(name).in_field("inputs");
      }
      why = "blob not bundled; ";
    }
    if (const StructuredRule* rule = rule_for(def, name)) {
      // The rule makes its whole group from one stream so members agree (seq_lens/block_table).
      std::string group;
      for (auto n : rule->inputs) group += std::string(n) + "+";
      TensorMap made;
      rule->generate(def, out.axes, base.derive(group), made);
      out.tensors.insert_or_assign(name, std::move(made.at(name)));
      out.provenance.add(name, why + "structured: " + std::string(rule->description));
      continue;
    }
    Tensor t(spec.dtype, resolve_shape(spec, out.axes));
    fill_fib_random(t, base.derive(name));
    out.tensors.insert_or_assign(name, std::move(t));
    out.provenance.add(name, why + fib_random_description(spec.dtype));
  }
  return out;
}

std::vector<std::string> describe_structured_rules() {
  std::vector<std::string> out;
  for (const auto& r : structured_rules()) {
    std::string names;
    for (auto n : r.inputs) names += (names.empty() ? "" : ", ") + std::string(n);
    out.push_back(std::string(r.family) + "* " + names + ": " + std::string(r.description));
  }
  return out;
}

}  // namespace kforge
