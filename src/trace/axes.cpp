#include "trace/axes.h"

#include "core/error.h"

namespace kforge {

Axes resolve_axes(const Definition& def, const Workload& w) {
  Axes axes;
  for (const auto& [name, spec] : def.axes) {
    if (spec.is_const) axes[name] = spec.value;
  }
  for (const auto& [name, value] : w.axes) {
    const AxisSpec* spec = def.axes.find(name);
    if (!spec) {
      throw Error("axis '" + name + "' is not an axis of " + def.name,
                  "one of the definition's var axes").in_field(name).in_field("axes");
    }
    if (spec->is_const && spec->value != value) {
      throw Error("const axis '" + name + "' given " + std::to_string(value),
                  std::to_string(spec->value) + " (the definition's value)").in_field(name).in_field("axes");
    }
    axes[name] = value;
  }
  for (const auto& name : def.var_axes()) {
    if (!axes.count(name)) {
      throw Error("var axis '" + name + "' has no value", "an integer for every var axis of " + def.name)
          .in_field("axes");
    }
  }
  return axes;
}

Shape resolve_shape(const TensorSpec& spec, const Axes& axes) {
  Shape out;
  if (!spec.shape) return out;
  for (const auto& name : *spec.shape) {
    auto it = axes.find(name);
    if (it == axes.end()) throw Error("axis '" + name + "' has no value", "a resolved axis");
    out.push_back(it->second);
  }
  return out;
}

Axes infer_axes(const Definition& def, const std::vector<Shape>& input_shapes) {
  Axes axes;
  std::map<std::string, std::string, std::less<>> source;  // axis -> input that fixed it
  for (const auto& [name, spec] : def.axes) {
    if (spec.is_const) axes[name] = spec.value;
  }
  require(input_shapes.size() == def.inputs.size(),
          std::to_string(input_shapes.size()) + " inputs given",
          std::to_string(def.inputs.size()) + " inputs of " + def.name);
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    const auto& [input, spec] = def.inputs[i];
    if (!spec.shape) continue;
    const Shape& shape = input_shapes[i];
    if (shape.size() != spec.shape->size()) {
      throw Error("input '" + input + "' has rank " + std::to_string(shape.size()),
                  "rank " + std::to_string(spec.shape->size()) + " " + shape_to_string(shape));
    }
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const std::string& axis = (*spec.shape)[d];
      auto it = axes.find(axis);
      if (it == axes.end()) {
        axes[axis] = shape[d];
        source[axis] = input;
      } else if (it->second != shape[d]) {
        const std::string from = source.count(axis) ? "input '" + source[axis] + "'" : "the definition";
        throw Error("input '" + input + "' dim " + std::to_string(d) + " is " + std::to_string(shape[d]) +
                        " but axis '" + axis + "' is " + std::to_string(it->second) + " from " + from,
                    "consistent axis values");
      }
    }
  }
  return axes;
}

std::string format_var_axes(const Definition& def, const Axes& axes) {
  std::string out;
  for (const auto& name : def.var_axes()) {
    if (!out.empty()) out += ", ";
    auto it = axes.find(name);
    out += name + "=" + (it == axes.end() ? std::string("?") : std::to_string(it->second));
  }
  return out;
}

}  // namespace kforge
