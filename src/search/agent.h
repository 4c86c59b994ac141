// @brief The agent generator's step: a fresh workspace (TASK.md, solution/ holding the parent's
// files), any command line run there with a hard timeout, and what it left behind.
//
// The command runs under /bin/sh -c in the workspace, with KFORGE_TASK (TASK.md),
// KFORGE_SOLUTION (solution/), KFORGE_WORKSPACE and KFORGE_STEP in its environment.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "harness/solution_dir.h"
#include "store/records.h"

namespace kforge::search {

struct AgentStep {
  int exit_code = -1;    // the command's exit status; 128 + signal when killed
  bool timed_out = false;
  double seconds = 0;
  std::string output;    // its stdout and stderr (kept in the workspace as agent.log)
  std::string plan;      // PLAN.md, when written
  std::optional<SolutionDir> solution;  // solution/ as the agent left it
  std::string load_error;               // why solution/ could not be read, when it cannot
};

// Replaces `workspace` with: TASK.md, solution/ (the parent's solution.json and sources).
void prepare_workspace(const std::filesystem::path& workspace, const store::CandidateRecord& parent,
                       const std::string& task_md);

AgentStep run_agent(const std::string& command, const std::filesystem::path& workspace, int step,
                    double timeout_seconds);

}  // namespace kforge::search
