#include "trace/solution.h"

#include <array>

#include "core/error.h"

namespace kforge {
namespace {

constexpr std::array<std::string_view, 5> kLanguages{"python", "triton", "cpp", "cuda", "tilelang"};

BuildSpec parse_spec(const Json& j) {
  require_object(j, "a build spec");
  BuildSpec s;
  s.language = string_field(j, "language");
  bool known = false;
  for (auto l : kLanguages) known = known || l == s.language;
  if (!known) {
    throw Error("unknown language '" + s.language + "'", "one of python, triton, cpp, cuda, tilelang")
        .in_field("language");
  }
  s.target_hardware = string_list(j, "target_hardware", true);
  if (s.target_hardware.empty()) throw Error("empty list", "at least one target").in_field("target_hardware");
  s.entry_point = string_field(j, "entry_point");
  const auto sep = s.entry_point.find("::");
  if (sep == std::string::npos || sep == 0 || sep + 2 >= s.entry_point.size() ||
      s.entry_point.find("::", sep + 2) != std::string::npos) {
    throw Error("malformed entry point '" + s.entry_point + "'", "\"<file>::<symbol>\" with exactly one '::'")
        .in_field("entry_point");
  }
  s.dependencies = string_list(j, "dependencies", false);
  if (j.contains("destination_passing_style") && !j["destination_passing_style"].is_null()) {
    if (!j["destination_passing_style"].is_boolean()) {
      throw Error("got " + j["destination_passing_style"].dump(), "true or false").in_field("destination_passing_style");
    }
    s.destination_passing_style = j["destination_passing_style"].get<bool>();
  }
  s.binding = optional_string(j, "binding");
  if (s.binding && *s.binding != "tvm-ffi" && *s.binding != "torch") {
    throw Error("unknown binding '" + *s.binding + "'", "\"tvm-ffi\", \"torch\" or null").in_field("binding");
  }
  s.passthrough = JsonPassthrough::capture(j, {"language", "target_hardware", "entry_point", "dependencies",
                                               "destination_passing_style", "binding"});
  return s;
}

SourceFile parse_source(const Json& j) {
  require_object(j, "a source file {\"path\", \"content\"}");
  SourceFile f;
  f.path = string_field(j, "path");
  f.content = string_field(j, "content");
  if (f.path.empty() || f.path.front() == '/' || f.path.find("..") != std::string::npos) {
    throw Error("unsafe source path '" + f.path + "'", "a relative path without '..'").in_field("path");
  }
  f.passthrough = JsonPassthrough::capture(j, {"path", "content"});
  return f;
}

}  // namespace

std::string BuildSpec::entry_file() const { return entry_point.substr(0, entry_point.find("::")); }
std::string BuildSpec::entry_symbol() const { return entry_point.substr(entry_point.find("::") + 2); }

Solution parse_solution(const Json& j) {
  require_object(j, "a solution");
  Solution s;
  s.name = string_field(j, "name");
  s.definition = string_field(j, "definition");
  s.author = string_field(j, "author");
  s.description = optional_string(j, "description");
  try {
    s.spec = parse_spec(field(j, "spec", "a build spec object"));
  } catch (Error& e) {
    throw e.in_field("spec");
  }
  const Json& sources = field(j, "sources", "a non-empty list of {path, content}");
  if (!sources.is_array() || sources.empty()) {
    throw Error("no sources", "a non-empty list of {path, content}").in_field("sources");
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      s.sources.push_back(parse_source(sources[i]));
    } catch (Error& e) {
      throw e.in_field("[" + std::to_string(i) + "]").in_field("sources");
    }
    for (std::size_t k = 0; k + 1 < s.sources.size(); ++k) {
      if (s.sources[k].path == s.sources.back().path) {
        throw Error("duplicate source path '" + s.sources.back().path + "'", "unique paths")
            .in_field("sources[" + std::to_string(i) + "].path");
      }
    }
  }
  bool entry_found = false;
  for (const auto& f : s.sources) entry_found = entry_found || f.path == s.spec.entry_file();
  if (!entry_found) {
    throw Error("entry point file '" + s.spec.entry_file() + "' is not among the sources",
                "a path listed in sources").in_field("spec.entry_point");
  }
  s.passthrough = JsonPassthrough::capture(j, {"name", "definition", "author", "description", "spec", "sources"});
  return s;
}

Json to_json(const Solution& s) {
  Json spec = Json::object();
  spec["language"] = s.spec.language;
  spec["target_hardware"] = s.spec.target_hardware;
  spec["entry_point"] = s.spec.entry_point;
  if (!s.spec.dependencies.empty() || s.spec.passthrough.has_key("dependencies")) {
    spec["dependencies"] = s.spec.dependencies;
  }
  if (!s.spec.destination_passing_style || s.spec.passthrough.has_key("destination_passing_style")) {
    spec["destination_passing_style"] = s.spec.destination_passing_style;
  }
  if (s.spec.binding) spec["binding"] = *s.spec.binding;
  Json sources = Json::array();
  for (const auto& f : s.sources) sources.push_back(f.passthrough.emit(Json{{"path", f.path}, {"content", f.content}}));
  Json f = Json::object();
  f["name"] = s.name;
  f["definition"] = s.definition;
  f["author"] = s.author;
  if (s.description) f["description"] = *s.description;
  f["spec"] = s.spec.passthrough.emit(spec);
  f["sources"] = sources;
  return s.passthrough.emit(f);
}

}  // namespace kforge
