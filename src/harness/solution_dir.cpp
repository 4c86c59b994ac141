#include "harness/solution_dir.h"

#include <algorithm>

#include "core/error.h"
#include "core/json_locate.h"
#include "trace/dataset.h"

namespace kforge {
namespace fs = std::filesystem;

SolutionDir load_solution_dir(const fs::path& dir) {
  const fs::path file = dir / "solution.json";
  if (!fs::exists(file)) throw Error("no solution.json in folder", "a solution folder").at_file(dir.string());
  const std::string text = read_text_file(file);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(std::string("malformed JSON: ") + e.what(), "valid JSON").at_file(file.string())
        .at_line(line_of_offset(text, e.byte ? e.byte - 1 : 0));
  }
  try {
    if (j.is_object() && j.contains("sources") && j["sources"].is_array()) {
      for (std::size_t i = 0; i < j["sources"].size(); ++i) {
        Json& src = j["sources"][i];
        if (!src.is_object() || src.contains("content") || !src.contains("path") || !src["path"].is_string()) continue;
        const fs::path p = dir / src["path"].get<std::string>();
        if (!fs::exists(p)) {
          throw Error("source file " + p.string() + " not found", "the file, or an inline \"content\"")
              .in_field("sources[" + std::to_string(i) + "].path");
        }
        src["content"] = read_text_file(p);
      }
    }
    return {dir, parse_solution(j)};
  } catch (Error& e) {
    throw e.at_file(file.string()).at_line(std::max(1, json_line_of(text, e.field())));
  }
}

std::vector<fs::path> find_solution_dirs(const fs::path& root) {
  std::vector<fs::path> out;
  if (fs::exists(root / "solution.json")) out.push_back(root);
  if (fs::is_directory(root)) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file() && e.path().filename() == "solution.json" && e.path().parent_path() != root) {
        out.push_back(e.path().parent_path());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kforge
