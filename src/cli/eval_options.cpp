#include "cli/eval_options.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

#include "cli/common.h"
#include "core/atomic_file.h"
#include "trace/axes.h"

namespace kforge {
namespace fs = std::filesystem;

EvalConfig EvalCliOptions::to_config() const {
  EvalConfig c;
  c.trials = trials;
  c.timing.warmup = warmup;
  c.timing.iterations = iterations;
  c.timing.method = timing_method;
  c.timing.cold_cache = !warm_cache;
  c.timing_trials = timing_trials;
  c.timeout_seconds = timeout;
  c.reference = reference;
  // A fresh base seed per run keeps candidates from meeting inputs (or outputs left by other
  // runs) they have seen before; --seed reproduces a run exactly.
  c.seed = seed != 0 ? seed : std::random_device{}() | 1u;
  c.cpu_gflop_budget = cpu_gflop_budget;
  c.keep_work_dirs = keep_work;
  c.build.cuda_arch = arch;
  c.torch_reference = torch_reference;
  c.torch_warmup = torch_warmup;
  c.torch_iterations = torch_iterations;
  if (atol >= 0 || rtol >= 0 || matched_ratio >= 0) {
    Tolerance t;
    if (atol >= 0) t.atol = atol;
    if (rtol >= 0) t.rtol = rtol;
    if (matched_ratio >= 0) t.required_matched_ratio = matched_ratio;
    c.tolerance = t;
  }
  return c;
}

void add_eval_cli_options(CLI::App& cmd, EvalCliOptions& o) {
  cmd.add_option("--trials", o.trials, "Correctness trials, each on fresh inputs (default 3)")->check(CLI::Range(1, 100));
  cmd.add_option("--warmup", o.warmup, "Untimed calls before timing (default 10)")->check(CLI::Range(0, 100000));
  cmd.add_option("--iterations", o.iterations, "Timed calls per timing trial (default 50)")->check(CLI::Range(1, 100000));
  cmd.add_option("--timing-trials", o.timing_trials, "Timing trials; latency = mean of their medians (default 3)")
      ->check(CLI::Range(1, 100));
  cmd.add_option("--timing-method", o.timing_method, "cuda: cupti (first-to-last GPU activity), events, graph")
      ->check(CLI::IsMember({"cupti", "events", "graph"}));
  cmd.add_flag("--warm-cache", o.warm_cache, "Do not flush L2 / the CPU cache before each timed call");
  cmd.add_option("--timeout", o.timeout, "Seconds per worker phase before TIMEOUT (default 300)");
  cmd.add_option("--reference", o.reference, "Reference outputs: auto (gpu for cuda solutions), cpu, gpu")
      ->check(CLI::IsMember({"auto", "cpu", "gpu"}));
  cmd.add_option("--seed", o.seed, "First input seed; trial i uses seed+i (default: random, recorded in the traces)");
  cmd.add_option("--atol", o.atol, "Override the definition's absolute tolerance");
  cmd.add_option("--rtol", o.rtol, "Override the definition's relative tolerance");
  cmd.add_option("--required-matched-ratio", o.matched_ratio, "Override the fraction of elements that must match");
  cmd.add_option("--arch", o.arch, "CUDA architecture for cuda solutions (default sm_90a)");
  cmd.add_option("--cpu-gflop-budget", o.cpu_gflop_budget,
                 "CPU backend: skip workloads above this many GFLOP (default 50)");
  cmd.add_flag("--torch-reference", o.torch_reference,
               "Also check against the definition's own PyTorch reference and report speedup over it (needs "
               "python3 with torch and a GPU)");
  cmd.add_option("--torch-warmup", o.torch_warmup, "Warm-up calls of the PyTorch reference (default 1)");
  cmd.add_option("--torch-iterations", o.torch_iterations, "Timed calls of the PyTorch reference (default 3)");
  cmd.add_flag("--keep-work", o.keep_work, "Keep worker folders (job, result, candidate outputs) for debugging");
}

fs::path default_run_dir(const std::string& label) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return fs::path("runs") / (std::string(buf) + "-" + label);
}

fs::path trace_file(const fs::path& run_dir, const Solution& s, const Definition& def) {
  return run_dir / "traces" / s.author / def.op_type / (def.name + ".jsonl");
}

std::string result_line(const Definition& def, const WorkloadResult& r) {
  const Workload& w = r.trace.workload;
  const std::string head = fmt::format("{}  {:<28}", w.uuid.substr(0, 8), format_var_axes(def, resolve_axes(def, w)));
  if (r.skipped) return head + "  SKIPPED  " + r.skip_reason;
  const Evaluation& e = *r.trace.evaluation;
  if (e.status == EvalStatus::kPassed) {
    return head + fmt::format("  PASSED  {:>10.2f} us  ref {:>10.2f} us  x{:<8.2f} max_abs {:.2e}",
                              e.performance->latency_ms * 1e3, e.performance->reference_latency_ms * 1e3,
                              e.performance->speedup_factor, e.correctness->max_absolute_error);
  }
  std::string first;
  for (std::size_t i = 0; i < e.log.size() && e.log[i] != '\n'; ++i) first += e.log[i];
  if (first.size() > 160) first = first.substr(0, 157) + "...";
  return head + "  " + std::string(status_name(e.status)) + "  " + first;
}

std::vector<WorkloadResult> evaluate_with_progress(Evaluator& evaluator, const SolutionDir& solution,
                                                   const Definition& def,
                                                   const std::vector<const Located<Trace>*>& workloads,
                                                   const fs::path& traces, bool quiet) {
  std::size_t done = 0;
  return evaluator.evaluate(solution, workloads, [&](const WorkloadResult& r) {
    ++done;
    if (!r.skipped) append_traces(traces, {r.trace});
    if (!quiet) print_out(fmt::format("[{:>3}/{}] {}\n", done, workloads.size(), result_line(def, r)));
  });
}

Json summarize_run(const Definition& def, const Solution& s, const std::vector<WorkloadResult>& results) {
  int passed = 0, failed = 0, skipped = 0;
  double sum_us = 0;
  Json rows = Json::array();
  for (const auto& r : results) {
    Json row = {{"workload", r.trace.workload.uuid}};
    if (r.skipped) {
      ++skipped;
      row["status"] = "SKIPPED";
      row["reason"] = r.skip_reason;
    } else {
      const Evaluation& e = *r.trace.evaluation;
      row["status"] = status_name(e.status);
      if (e.status == EvalStatus::kPassed) {
        ++passed;
        sum_us += e.performance->latency_ms * 1e3;
        row["latency_us"] = e.performance->latency_ms * 1e3;
        row["reference_latency_us"] = e.performance->reference_latency_ms * 1e3;
      } else {
        ++failed;
      }
    }
    rows.push_back(row);
  }
  return {{"definition", def.name}, {"solution", s.name}, {"passed", passed}, {"failed", failed}, {"skipped", skipped},
          {"mean_latency_us", passed ? sum_us / passed : 0.0}, {"workloads", rows}};
}

void write_run_summary(const fs::path& run_dir, const Json& summary) {
  write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
}

}  // namespace kforge
