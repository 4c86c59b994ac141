#include "trace/validate.h"

#include "core/safetensors.h"
#include "trace/axes.h"
#include "trace/constraint.h"

namespace kforge {
namespace fs = std::filesystem;

fs::path blob_path(const Dataset& ds, const InputSpec& spec) {
  std::string rel = spec.path;
  if (rel.rfind("./", 0) == 0) rel = rel.substr(2);
  return ds.root / rel;
}

namespace {

void check_scalar(const TensorSpec& spec, const InputSpec& in) {
  if (!spec.is_scalar()) {
    throw Error("scalar value given for a tensor input", "\"random\" or \"safetensors\"").in_field("type");
  }
  const Json& v = in.scalar_value;
  if (spec.dtype == DType::kBool) {
    if (!v.is_boolean()) throw Error("got " + v.dump(), "true or false for a bool").in_field("value");
  } else if (!dtype_is_floating(spec.dtype)) {
    if (!v.is_number_integer()) {
      throw Error("got " + v.dump(), "an integer for " + std::string(dtype_name(spec.dtype))).in_field("value");
    }
  } else if (!v.is_number()) {
    throw Error("got " + v.dump(), "a number for " + std::string(dtype_name(spec.dtype))).in_field("value");
  }
}

// Returns a note when the blob is missing and synthesis is allowed.
std::string check_blob(const Dataset& ds, const std::string& name, const TensorSpec& spec,
                       const InputSpec& in, const Axes& axes) {
  if (spec.is_scalar()) throw Error("safetensors given for a scalar input", "a scalar or random spec").in_field("type");
  const fs::path file = blob_path(ds, in);
  if (!fs::exists(file)) {
    if (ds.manifest.synthesize_missing_blobs) {
      return name + ": blob " + in.path + " not bundled; synthesized";
    }
    throw Error("safetensors file not found: " + file.string(),
                "an existing file (or \"missing_blobs\": \"synthesize\" in kforge-dataset.json)").in_field("path");
  }
  const auto header = read_safetensors_header(file);
  auto it = header.find(in.tensor_key);
  if (it == header.end()) {
    std::string keys;
    for (const auto& [k, e] : header) keys += (keys.empty() ? "" : ", ") + k;
    throw Error("key '" + in.tensor_key + "' not in " + file.string(), "one of: " + (keys.empty() ? "(none)" : keys))
        .in_field("tensor_key");
  }
  const Shape want = resolve_shape(spec, axes);
  if (it->second.shape != want) {
    throw Error("blob tensor '" + in.tensor_key + "' has shape " + shape_to_string(it->second.shape),
                "shape " + shape_to_string(want) + " from the axes").in_field("tensor_key");
  }
  if (it->second.dtype != spec.dtype) {
    throw Error("blob tensor '" + in.tensor_key + "' has dtype " + std::string(dtype_name(it->second.dtype)),
                std::string(dtype_name(spec.dtype))).in_field("tensor_key");
  }
  return {};
}

}  // namespace

std::vector<std::string> value_constraint_inputs(const Definition& def) {
  std::vector<std::string> out;
  for (const auto& c : def.constraints) {
    for (const auto& [name, spec] : def.inputs) {
      if (c.find(name + "[") != std::string::npos) out.push_back(name);
    }
  }
  return out;
}

WorkloadCheck validate_workload(const Dataset& ds, const Located<Trace>& lw,
                                const std::function<const Tensor*(std::string_view)>& tensor_of) {
  WorkloadCheck out;
  const Workload& w = lw.value.workload;
  auto report = [&](Error e) { out.errors.push_back(e.at_file(lw.file).at_line(lw.line)); };
  const auto* ld = ds.definition(lw.value.definition);
  if (!ld) {
    report(Error("unknown definition '" + lw.value.definition + "'", "a definition under definitions/")
               .in_field("definition"));
    return out;
  }
  const Definition& def = ld->value;
  Axes axes;
  try {
    axes = resolve_axes(def, w);
  } catch (Error& e) {
    report(e.in_field("workload"));
    return out;
  }
  for (const auto& [name, in] : w.inputs) {
    const TensorSpec* spec = def.inputs.find(name);
    try {
      if (!spec) {
        throw Error("'" + name + "' is not an input of " + def.name, "one of the definition's inputs");
      }
      if (in.kind == InputSpec::Kind::kScalar) check_scalar(*spec, in);
      if (in.kind == InputSpec::Kind::kSafetensors) {
        if (auto note = check_blob(ds, name, *spec, in, axes); !note.empty()) out.notes.push_back(note);
      }
    } catch (Error& e) {
      report(e.in_field(name).in_field("workload.inputs"));
    }
  }
  ConstraintContext ctx;
  ctx.axes = &axes;
  ctx.shape_of = [&](std::string_view n) -> std::optional<Shape> {
    const TensorSpec* s = def.inputs.find(n);
    if (!s) return std::nullopt;
    return resolve_shape(*s, axes);
  };
  ctx.tensor_of = tensor_of;
  for (std::size_t i = 0; i < def.constraints.size(); ++i) {
    const std::string& c = def.constraints[i];
    try {
      auto r = check_constraint(c, ctx);
      if (!r || r->holds) continue;
      auto dw = ds.manifest.constraint_waivers.find(def.name);
      if (dw != ds.manifest.constraint_waivers.end() && dw->second.count(c)) {
        out.waived.push_back(c + ": " + dw->second.at(c));
        continue;
      }
      report(Error("constraint '" + c + "' does not hold: " + r->detail, "the definition's constraints to hold")
                 .in_field("workload.axes"));
    } catch (Error& e) {
      report(e.in_field("constraints[" + std::to_string(i) + "]"));
    }
  }
  return out;
}

}  // namespace kforge
