// @brief Evaluates a solution on workloads: build, correctness trials in an isolated worker,
// comparison against references, timing in a second worker, and one FlashInfer-Bench Trace per
// workload.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "harness/builder.h"
#include "harness/compare.h"
#include "harness/reference_provider.h"
#include "harness/solution_dir.h"
#include "trace/dataset.h"

namespace kforge {

struct EvalConfig {
  int trials = 3;  // correctness trials, each on fresh inputs (new seed)
  TimingConfig timing;
  int timing_trials = 3;
  double timeout_seconds = 300;  // per worker phase
  std::string backend = "auto";    // auto | cpu | cuda
  std::string reference = "auto";  // auto | cpu | gpu
  std::uint64_t seed = 1;
  std::optional<Tolerance> tolerance;  // default: the definition's contest tolerance
  BuildOptions build;
  std::filesystem::path work_dir;  // worker job folders (default: a temp folder)
  // The CPU backend skips workloads above this many GFLOP (the CPU oracle would take minutes).
  double cpu_gflop_budget = 50;
  bool keep_work_dirs = false;
  // The kforge binary whose hidden `worker` verb runs candidates (default: this process's own
  // executable, right for the CLI; tests point it at the built kforge).
  std::filesystem::path worker_exe;
  // Also run the definition's own PyTorch reference (tools/torch_ref/run_reference.py, needs
  // python3 with torch and a GPU): check the candidate against it and report speedups over it,
  // as the contest did. Its timing uses few calls: the Python references take up to seconds.
  bool torch_reference = false;
  std::filesystem::path torch_script;  // default: <source tree>/tools/torch_ref/run_reference.py
  std::string python = "python3";
  int torch_warmup = 1, torch_iterations = 3;
};

struct WorkloadResult {
  Trace trace;
  bool skipped = false;
  std::string skip_reason;
};

class Evaluator {
 public:
  Evaluator(const Dataset& dataset, EvalConfig config);
  ~Evaluator();

  // The backend a solution runs on under this config ("cpu" or "cuda").
  std::string backend_for(const Solution& s) const;

  // Builds once per solution (cached on disk), then evaluates each workload. `progress` is
  // called after each workload.
  std::vector<WorkloadResult> evaluate(const SolutionDir& solution, const std::vector<const Located<Trace>*>& workloads,
                                       const std::function<void(const WorkloadResult&)>& progress = {});

 private:
  struct RefCache;
  WorkloadResult evaluate_one(const SolutionDir& s, const BuildResult& build, const Located<Trace>& w);
  ReferenceProvider& reference_for(const std::string& backend);

  const Dataset& m_dataset;
  EvalConfig m_config;
  std::unique_ptr<ReferenceProvider> m_cpu_ref, m_gpu_ref;
  std::unique_ptr<RefCache> m_cache;
};

}  // namespace kforge
