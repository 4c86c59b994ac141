#include "tuner/tunable_space.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/json_locate.h"
#include "trace/axes.h"
#include "trace/constraint.h"
#include "trace/dataset.h"
#include "tuner/tune_header.h"

namespace kforge::tuner {
namespace {

constexpr const char* kTunablesShape = "an object {\"header\", \"params\", \"constraints\"}";

bool is_c_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  // The constraint language's keywords cannot name a param.
  if (s == "and" || s == "or" || s == "not") return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

Axes as_axes(const Config& config) {
  Axes axes;
  for (const auto& [name, value] : config.values) axes[name] = value;
  return axes;
}

// Whether constraint i holds; Error (field constraints[i]) when it cannot be evaluated.
bool holds(const std::string& expr, std::size_t i, const Axes& axes) {
  ConstraintContext ctx;
  ctx.axes = &axes;
  try {
    // Without tensors the evaluator never asks for values, so there is always an outcome.
    return check_constraint(expr, ctx)->holds;
  } catch (Error& e) {
    throw e.in_field("constraints[" + std::to_string(i) + "]");
  }
}

Param parse_param(const std::string& name, const Json& list) {
  if (!is_c_identifier(name)) {
    throw Error("param name '" + name + "' is not a C identifier", "a macro name such as TILE_M (not and/or/not)")
        .in_field(name);
  }
  if (!list.is_array() || list.empty()) {
    throw Error("got " + list.dump(), "a non-empty list of integers").in_field(name);
  }
  Param p{name, {}};
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_number_integer()) {
      throw Error("got " + list[i].dump(), "an integer").in_field(name + "[" + std::to_string(i) + "]");
    }
    const auto v = list[i].get<std::int64_t>();
    if (std::find(p.values.begin(), p.values.end(), v) != p.values.end()) {
      throw Error("duplicate value " + std::to_string(v), "distinct values").in_field(name + "[" + std::to_string(i) + "]");
    }
    p.values.push_back(v);
  }
  return p;
}

TunableSpace parse_space(const Solution& solution, const Json& t) {
  if (!t.is_object()) throw Error("got " + t.dump(), kTunablesShape);
  for (const auto& [key, value] : t.items()) {
    if (key != "header" && key != "params" && key != "constraints") {
      throw Error("unknown key '" + key + "'", "header, params, constraints").in_field(key);
    }
  }
  TunableSpace space;
  space.header = string_field(t, "header");
  const SourceFile* header = nullptr;
  for (const auto& src : solution.sources) {
    if (src.path == space.header) header = &src;
  }
  if (!header) {
    throw Error("header '" + space.header + "' is not among the sources", "the path of one of the solution's sources")
        .in_field("header");
  }
  const Json& params = field(t, "params", "an object {NAME: [integers]}");
  if (!params.is_object() || params.empty()) {
    throw Error("got " + params.dump(), "a non-empty object {NAME: [integers]}").in_field("params");
  }
  for (const auto& [name, list] : params.items()) {
    try {
      space.params.push_back(parse_param(name, list));
    } catch (Error& e) {
      throw e.in_field("params");
    }
    try {
      space.defaults.values.emplace_back(name, read_define(header->content, name));
    } catch (const Error& e) {
      throw Error("in " + space.header + ": " + e.message(), e.expected()).in_field("header");
    }
  }
  space.constraints = string_list(t, "constraints", false);
  // Evaluating each constraint once (on the first values) finds syntax errors and unknown names
  // here, where the error can name the file.
  Config first;
  for (const auto& p : space.params) first.values.emplace_back(p.name, p.values.front());
  const Axes axes = as_axes(first);
  for (std::size_t i = 0; i < space.constraints.size(); ++i) holds(space.constraints[i], i, axes);
  return space;
}

}  // namespace

std::optional<std::int64_t> Config::get(std::string_view name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string Config::label() const {
  std::string out;
  for (const auto& [name, value] : values) {
    if (!out.empty()) out += ',';
    out += name + "=" + std::to_string(value);
  }
  return out;
}

bool has_tunables(const SolutionDir& solution) { return to_json(solution.solution).contains("tunables"); }

TunableSpace parse_tunables(const SolutionDir& solution) {
  const std::filesystem::path file = solution.dir / "solution.json";
  try {
    const Json j = to_json(solution.solution);
    if (!j.contains("tunables")) throw Error("no tunables", kTunablesShape);
    return parse_space(solution.solution, j["tunables"]);
  } catch (Error& e) {
    e.in_field("tunables").at_file(file.string());
    if (std::filesystem::exists(file)) e.at_line(std::max(1, json_line_of(read_text_file(file), e.field())));
    throw;
  }
}

bool satisfies(const TunableSpace& space, const Config& config) {
  const Axes axes = as_axes(config);
  for (std::size_t i = 0; i < space.constraints.size(); ++i) {
    try {
      if (!holds(space.constraints[i], i, axes)) return false;
    } catch (Error& e) {
      throw e.in_field("tunables");
    }
  }
  return true;
}

std::vector<Config> enumerate(const TunableSpace& space) {
  std::size_t total = 1;
  for (const auto& p : space.params) {
    if (p.values.empty()) return {};
    if (total > kMaxConfigs / p.values.size()) {
      throw Error("more than " + std::to_string(kMaxConfigs) + " configurations", "a smaller space")
          .in_field("tunables.params");
    }
    total *= p.values.size();
  }
  std::vector<Config> out;
  std::vector<std::size_t> index(space.params.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    Config c;
    for (std::size_t k = 0; k < space.params.size(); ++k) c.values.emplace_back(space.params[k].name, space.params[k].values[index[k]]);
    if (satisfies(space, c)) out.push_back(std::move(c));
    // Odometer step: the last param varies fastest.
    for (std::size_t k = space.params.size(); k-- > 0;) {
      if (++index[k] < space.params[k].values.size()) break;
      index[k] = 0;
    }
  }
  return out;
}

}  // namespace kforge::tuner
