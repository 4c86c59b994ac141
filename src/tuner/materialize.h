// @brief Turns a configuration into a candidate: a copy of the solution folder whose tunable
// header defines the configuration's values.
#pragma once

#include <filesystem>
#include <string>

#include "harness/solution_dir.h"
#include "tuner/tunable_space.h"

namespace kforge::tuner {

// "<name>@ROWS_PER_WARP=2,WARPS_PER_BLOCK=8", where <name> is the solution's name without an
// earlier "@..." suffix (tuning a tuned candidate does not stack suffixes).
std::string candidate_name(const std::string& solution_name, const Config& config);

// Writes <into>/<candidate folder> (the candidate name, characters outside [A-Za-z0-9._@=,-]
// replaced by '_'): every file of the solution folder, with solution.json's "name" set to
// candidate_name and the tunable header (a file, or an inline "content") rewritten by
// rewrite_defines. An existing candidate folder of that name is replaced; the folder appears
// whole or not at all (written under a temporary name, then renamed); the solution folder is
// never touched. Returns the candidate folder. Throws Error when the solution has no usable
// tunables, a config param is not one of the space's, or `into` lies inside the solution folder.
std::filesystem::path materialize(const SolutionDir& solution, const Config& config, const std::filesystem::path& into);

}  // namespace kforge::tuner
