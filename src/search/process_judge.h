// @brief A Judge that does its work in a separate `kforge search-worker` process per call, with
// extra environment: how the search evaluates on several GPUs at once (one slot per GPU,
// CUDA_VISIBLE_DEVICES set), so the parent process never touches a device.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "search/judge.h"

namespace kforge::search {

class ProcessJudge : public Judge {
 public:
  // `work_dir` holds the job and result files (one folder per call).
  ProcessJudge(std::filesystem::path kforge_exe, std::filesystem::path dataset_root, EvalConfig base,
               std::map<std::string, std::string> env, std::filesystem::path work_dir);
  ~ProcessJudge() override;
  BuildResult build(const Solution& solution) override;
  std::vector<WorkloadResult> evaluate(const SolutionDir& solution, const std::vector<const Located<Trace>*>& workloads,
                                       Stage stage, std::uint64_t seed) override;

 private:
  Json run_job(Json job, double timeout_seconds);

  std::filesystem::path m_exe, m_dataset, m_work;
  EvalConfig m_base;
  std::map<std::string, std::string> m_env;
  int m_calls = 0;
};

// The worker side (`kforge search-worker --job FILE`): reads the job, runs it with an
// EvaluatorJudge, writes result.json beside the job file.
void run_judge_job(const std::filesystem::path& job_file);

}  // namespace kforge::search
