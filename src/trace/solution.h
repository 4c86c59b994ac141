// @brief Solution: a named implementation of a definition, its build spec and source files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "trace/json_fields.h"

namespace kforge {

struct BuildSpec {
  std::string language;  // python | triton | cpp | cuda | tilelang
  std::vector<std::string> target_hardware;
  std::string entry_point;  // "<file>::<symbol>"
  std::vector<std::string> dependencies;
  bool destination_passing_style = true;
  std::optional<std::string> binding;  // "tvm-ffi" | "torch" | null
  JsonPassthrough passthrough;

  std::string entry_file() const;
  std::string entry_symbol() const;
};

struct SourceFile {
  std::string path;  // relative, no ".."
  std::string content;
  JsonPassthrough passthrough;
};

struct Solution {
  std::string name;
  std::string definition;
  std::string author;
  std::optional<std::string> description;
  BuildSpec spec;
  std::vector<SourceFile> sources;
  JsonPassthrough passthrough;
};

// Validates as FlashInfer-Bench's Solution model does: known language, at least one target and
// one source, entry point "<file>::<symbol>" naming a source, relative source paths without "..".
Solution parse_solution(const Json& j);
Json to_json(const Solution& s);

}  // namespace kforge
