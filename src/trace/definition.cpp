#include "trace/definition.h"

#include <regex>

#include "core/error.h"

namespace kforge {
namespace {

AxisSpec parse_axis(const Json& j) {
  require_object(j, "an axis: {\"type\": \"const\"|\"var\", ...}");
  AxisSpec a;
  const std::string type = string_field(j, "type");
  if (type == "const") {
    a.is_const = true;
    a.value = int_field(j, "value");
    if (a.value < 0) throw Error("negative value " + std::to_string(a.value), "an integer >= 0").in_field("value");
  } else if (type != "var") {
    throw Error("unknown axis type '" + type + "'", "\"const\" or \"var\"").in_field("type");
  }
  a.description = optional_string(j, "description");
  a.passthrough = JsonPassthrough::capture(j, {"type", "value", "description"});
  return a;
}

TensorSpec parse_tensor(const Json& j, const NamedList<AxisSpec>& axes) {
  require_object(j, "a tensor spec: {\"shape\": [...]|null, \"dtype\": ...}");
  TensorSpec t;
  const Json& shape = field(j, "shape", "a list of axis names, or null for a scalar");
  if (!shape.is_null()) {
    t.shape = string_list(j, "shape", true);
    for (std::size_t i = 0; i < t.shape->size(); ++i) {
      const auto& axis = (*t.shape)[i];
      if (!axes.find(axis)) {
        throw Error("axis '" + axis + "' is not declared in axes", "one of the definition's axes")
            .in_field("shape[" + std::to_string(i) + "]");
      }
    }
  }
  const std::string dtype = string_field(j, "dtype");
  try {
    t.dtype = parse_dtype(dtype);
  } catch (Error& e) {
    throw e.in_field("dtype");
  }
  t.description = optional_string(j, "description");
  t.passthrough = JsonPassthrough::capture(j, {"shape", "dtype", "description"});
  return t;
}

template <class V, class F>
NamedList<V> parse_named(const Json& obj, std::string_view key, F&& parse_one) {
  const Json& j = field(obj, key, "an object of named entries");
  if (!j.is_object()) throw Error("got JSON " + std::string(j.type_name()), "an object").in_field(std::string(key));
  NamedList<V> out;
  for (const auto& [name, v] : j.items()) {
    try {
      out.add(name, parse_one(v));
    } catch (Error& e) {
      throw e.in_field(name).in_field(std::string(key));
    }
  }
  return out;
}

Json axis_json(const AxisSpec& a) {
  Json f = Json::object();
  f["type"] = a.is_const ? "const" : "var";
  if (a.is_const) f["value"] = a.value;
  if (a.description) f["description"] = *a.description;
  return a.passthrough.emit(f);
}

Json tensor_json(const TensorSpec& t) {
  Json f = Json::object();
  f["shape"] = t.shape ? Json(*t.shape) : Json(nullptr);
  f["dtype"] = dtype_name(t.dtype);
  if (t.description) f["description"] = *t.description;
  return t.passthrough.emit(f);
}

}  // namespace

std::vector<std::string> Definition::var_axes() const {
  std::vector<std::string> out;
  for (const auto& [axis, a] : axes) {
    if (!a.is_const) out.push_back(axis);
  }
  return out;
}

const TensorSpec* Definition::tensor(std::string_view tensor_name) const {
  if (const auto* t = inputs.find(tensor_name)) return t;
  return outputs.find(tensor_name);
}

Definition parse_definition(const Json& j) {
  require_object(j, "a definition");
  Definition d;
  d.name = string_field(j, "name");
  if (d.name.empty()) throw Error("empty name", "a non-empty definition name").in_field("name");
  d.op_type = string_field(j, "op_type");
  d.axes = parse_named<AxisSpec>(j, "axes", parse_axis);
  d.inputs = parse_named<TensorSpec>(j, "inputs", [&](const Json& v) { return parse_tensor(v, d.axes); });
  d.outputs = parse_named<TensorSpec>(j, "outputs", [&](const Json& v) { return parse_tensor(v, d.axes); });
  for (const auto& [name, spec] : d.outputs) {
    if (d.inputs.find(name)) {
      throw Error("output '" + name + "' has the name of an input", "output names distinct from input names")
          .in_field(name).in_field("outputs");
    }
  }
  d.reference = string_field(j, "reference");
  // The reference is Python; the schema only requires that it defines a top-level run().
  static const std::regex kRunDef(R"((^|\n)def run\()");
  if (!std::regex_search(d.reference, kRunDef)) {
    throw Error("reference does not define a top-level run()", "Python source with 'def run('")
        .in_field("reference");
  }
  d.tags = string_list(j, "tags", false);
  d.description = optional_string(j, "description");
  d.constraints = string_list(j, "constraints", false);
  d.passthrough = JsonPassthrough::capture(
      j, {"name", "op_type", "axes", "inputs", "outputs", "reference", "tags", "description", "constraints"});
  return d;
}

Json to_json(const Definition& d) {
  Json f = Json::object();
  f["name"] = d.name;
  if (d.description) f["description"] = *d.description;
  f["op_type"] = d.op_type;
  if (!d.tags.empty() || d.passthrough.has_key("tags")) f["tags"] = d.tags;
  Json axes = Json::object();
  for (const auto& [n, a] : d.axes) axes[n] = axis_json(a);
  f["axes"] = axes;
  if (!d.constraints.empty() || d.passthrough.has_key("constraints")) f["constraints"] = d.constraints;
  Json in = Json::object();
  for (const auto& [n, t] : d.inputs) in[n] = tensor_json(t);
  f["inputs"] = in;
  Json out = Json::object();
  for (const auto& [n, t] : d.outputs) out[n] = tensor_json(t);
  f["outputs"] = out;
  f["reference"] = d.reference;
  return d.passthrough.emit(f);
}

}  // namespace kforge
