#include "trace/workload.h"

#include "core/error.h"

namespace kforge {
namespace {

InputSpec parse_input(const Json& j) {
  require_object(j, "an input spec: {\"type\": \"random\"|\"scalar\"|\"safetensors\", ...}");
  InputSpec s;
  const std::string type = string_field(j, "type");
  if (type == "random") {
    s.kind = InputSpec::Kind::kRandom;
  } else if (type == "scalar") {
    s.kind = InputSpec::Kind::kScalar;
    s.scalar_value = field(j, "value", "an int, float or bool");
    if (!s.scalar_value.is_number() && !s.scalar_value.is_boolean()) {
      throw Error("got " + s.scalar_value.dump(), "an int, float or bool").in_field("value");
    }
  } else if (type == "safetensors") {
    s.kind = InputSpec::Kind::kSafetensors;
    s.path = string_field(j, "path");
    s.tensor_key = string_field(j, "tensor_key");
  } else {
    throw Error("unknown input type '" + type + "'", "\"random\", \"scalar\" or \"safetensors\"").in_field("type");
  }
  s.passthrough = JsonPassthrough::capture(j, {"type", "value", "path", "tensor_key"});
  return s;
}

Json input_json(const InputSpec& s) {
  Json f = Json::object();
  switch (s.kind) {
    case InputSpec::Kind::kRandom: f["type"] = "random"; break;
    case InputSpec::Kind::kScalar:
      f["type"] = "scalar";
      f["value"] = s.scalar_value;
      break;
    case InputSpec::Kind::kSafetensors:
      f["type"] = "safetensors";
      f["path"] = s.path;
      f["tensor_key"] = s.tensor_key;
      break;
  }
  return s.passthrough.emit(f);
}

}  // namespace

InputSpec Workload::input(std::string_view name) const {
  if (const auto* s = inputs.find(name)) return *s;
  return InputSpec{};
}

Workload parse_workload(const Json& j) {
  require_object(j, "a workload");
  Workload w;
  w.uuid = string_field(j, "uuid");
  if (w.uuid.empty()) throw Error("empty uuid", "a non-empty string").in_field("uuid");
  const Json& axes = field(j, "axes", "an object of var-axis values");
  if (!axes.is_object()) throw Error("got JSON " + std::string(axes.type_name()), "an object").in_field("axes");
  for (const auto& [name, v] : axes.items()) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
      throw Error("got " + v.dump(), "an integer >= 0").in_field(name).in_field("axes");
    }
    w.axes.add(name, v.get<std::int64_t>());
  }
  const Json& inputs = field(j, "inputs", "an object of input specs");
  if (!inputs.is_object()) throw Error("got JSON " + std::string(inputs.type_name()), "an object").in_field("inputs");
  for (const auto& [name, v] : inputs.items()) {
    try {
      w.inputs.add(name, parse_input(v));
    } catch (Error& e) {
      throw e.in_field(name).in_field("inputs");
    }
  }
  w.passthrough = JsonPassthrough::capture(j, {"uuid", "axes", "inputs"});
  return w;
}

Json to_json(const Workload& w) {
  Json f = Json::object();
  f["uuid"] = w.uuid;
  Json axes = Json::object();
  for (const auto& [n, v] : w.axes) axes[n] = v;
  f["axes"] = axes;
  Json inputs = Json::object();
  for (const auto& [n, s] : w.inputs) inputs[n] = input_json(s);
  f["inputs"] = inputs;
  return w.passthrough.emit(f);
}

}  // namespace kforge
