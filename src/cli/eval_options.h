// @brief Options shared by `eval` and `bench` (protocol, isolation, references), run folders
// and result lines.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/evaluator.h"

namespace kforge {

struct EvalCliOptions {
  int trials = 3, warmup = 10, iterations = 50, timing_trials = 3;
  std::string timing_method = "cupti", reference = "auto", arch = "sm_90a";
  double timeout = 300, cpu_gflop_budget = 50;
  double atol = -1, rtol = -1, matched_ratio = -1;
  std::uint64_t seed = 0;  // 0: a fresh random base seed per run (recorded in every trace)
  bool warm_cache = false, keep_work = false, torch_reference = false;
  int torch_warmup = 1, torch_iterations = 3;

  EvalConfig to_config() const;
};

void add_eval_cli_options(CLI::App& cmd, EvalCliOptions& o);

// runs/<YYYYmmdd-HHMMSS>-<label>
std::filesystem::path default_run_dir(const std::string& label);
// <run>/traces/<author>/<op_type>/<definition>.jsonl, FlashInfer-Bench's layout.
std::filesystem::path trace_file(const std::filesystem::path& run_dir, const Solution& s, const Definition& def);
// "3daa0974 batch_size=1  PASSED  12.34 us  ref 1.2e+03 us  x97.3" or the failure and its first log line.
std::string result_line(const Definition& def, const WorkloadResult& r);
// Evaluates the solution on the workloads of `def`, appending each evaluated workload's trace to
// `traces` as it comes and, unless `quiet`, printing "[  3/54] <result line>"; returns the results.
std::vector<WorkloadResult> evaluate_with_progress(Evaluator& evaluator, const SolutionDir& solution,
                                                   const Definition& def,
                                                   const std::vector<const Located<Trace>*>& workloads,
                                                   const std::filesystem::path& traces, bool quiet);
Json summarize_run(const Definition& def, const Solution& s, const std::vector<WorkloadResult>& results);
void write_run_summary(const std::filesystem::path& run_dir, const Json& summary);

}  // namespace kforge
