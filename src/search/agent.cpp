#include "search/agent.h"

#include "core/atomic_file.h"
#include "harness/process.h"
#include "search/candidate_files.h"
#include "trace/dataset.h"

namespace kforge::search {

namespace fs = std::filesystem;

void prepare_workspace(const fs::path& workspace, const store::CandidateRecord& parent, const std::string& task_md) {
  fs::remove_all(workspace);
  fs::create_directories(workspace);
  write_candidate(parent, workspace / "solution");
  write_file_atomic(workspace / "TASK.md", task_md);
}

AgentStep run_agent(const std::string& command, const fs::path& workspace, int step, double timeout_seconds) {
  const fs::path ws = fs::absolute(workspace);
  ProcessOptions po;
  po.timeout_seconds = timeout_seconds;
  po.cwd = ws;
  po.env = {{"KFORGE_TASK", (ws / "TASK.md").string()},
            {"KFORGE_SOLUTION", (ws / "solution").string()},
            {"KFORGE_WORKSPACE", ws.string()},
            {"KFORGE_STEP", std::to_string(step)}};
  const ProcessResult pr = run_process({"/bin/sh", "-c", command}, po);
  AgentStep out;
  out.timed_out = pr.timed_out;
  out.exit_code = pr.signal != 0 ? 128 + pr.signal : pr.exit_code;
  out.seconds = pr.seconds;
  out.output = pr.output;
  write_file_atomic(ws / "agent.log", pr.output);
  if (fs::exists(ws / "PLAN.md")) out.plan = read_text_file(ws / "PLAN.md");
  try {
    out.solution = load_solution_dir(ws / "solution");
  } catch (const Error& e) {
    out.load_error = e.what();
  }
  return out;
}

}  // namespace kforge::search
