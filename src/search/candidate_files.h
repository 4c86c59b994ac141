// @brief A candidate between disk and store: a solution folder as a record (sources, content
// hash, solution.json without contents) and back, and what changed from its parent.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/solution_dir.h"
#include "store/records.h"

namespace kforge::search {

// SHA-256 over the build spec and the sources (path and content): what decides the kernel. The
// name and description are left out, so a renamed copy is the same candidate.
std::string content_hash(const Solution& solution);

// definition, name, solution (sources without contents), files and content_hash set; the
// caller fills run, step, generator, parents and plan.
store::CandidateRecord candidate_record(const Solution& solution);

// The record's solution with each source's content taken from its files.
Solution solution_of(const store::CandidateRecord& candidate);

// Writes solution.json and the sources into `dir` (replacing what is there) and returns the
// folder as the evaluator reads it.
SolutionDir write_candidate(const store::CandidateRecord& candidate, const std::filesystem::path& dir);

// "gdn_decode.cpp: +3 -1 lines; new kforge_tune.h", or "no change".
std::string describe_changes(const std::vector<store::SourceFileRecord>& before,
                             const std::vector<store::SourceFileRecord>& after);

}  // namespace kforge::search
