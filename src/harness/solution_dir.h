// @brief A solution on disk: a folder with solution.json and its source files.
#pragma once

#include <filesystem>

#include "trace/solution.h"

namespace kforge {

struct SolutionDir {
  std::filesystem::path dir;
  Solution solution;
};

// Reads dir/solution.json (the FlashInfer-Bench Solution schema). A source entry may omit
// "content": it is then read from dir/<path>, so sources live as ordinary files. Errors name
// the file, line and field.
SolutionDir load_solution_dir(const std::filesystem::path& dir);

// Every folder under `root` (recursively) that holds a solution.json, sorted.
std::vector<std::filesystem::path> find_solution_dirs(const std::filesystem::path& root);

}  // namespace kforge
