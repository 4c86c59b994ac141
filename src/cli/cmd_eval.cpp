#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_options.h"
#include "cli/table.h"
#include "harness/evaluator.h"
#include "trace/axes.h"

namespace kforge {
namespace fs = std::filesystem;

namespace {

struct EvalOptions {
  std::string data, solution, definition, workloads = "all", out;
  bool json = false;
  EvalCliOptions common;
};

void run_eval(const EvalOptions& o) {
  const Dataset ds = open_dataset(o.data);
  const SolutionDir sd = load_solution_dir(o.solution);
  const Definition& def = pick_definition(ds, o.definition.empty() ? sd.solution.definition : o.definition);
  const auto workloads = select_workloads(ds, def, o.workloads);
  const fs::path run_dir = o.out.empty() ? default_run_dir("eval-" + sd.solution.name) : fs::path(o.out);
  const fs::path traces = trace_file(run_dir, sd.solution, def);
  Evaluator evaluator(ds, o.common.to_config());
  if (!o.json) {
    print_out(fmt::format("evaluating {} ({}, {} backend) on {} workloads of {}\ntraces -> {}\n", sd.solution.name,
                          sd.solution.spec.language, evaluator.backend_for(sd.solution), workloads.size(), def.name,
                          traces.string()));
  }
  const auto results = evaluate_with_progress(evaluator, sd, def, workloads, traces, o.json);
  const Json summary = summarize_run(def, sd.solution, results);
  write_run_summary(run_dir, summary);
  if (o.json) {
    print_out(summary.dump(2) + "\n");
  } else {
    print_out(fmt::format("{} passed, {} failed, {} skipped; mean latency {:.3f} us; run folder {}\n",
                          summary["passed"].get<int>(), summary["failed"].get<int>(), summary["skipped"].get<int>(),
                          summary["mean_latency_us"].get<double>(), run_dir.string()));
  }
  if (summary["failed"].get<int>() > 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand(
      "eval", "Evaluate one solution folder on a definition's workloads: build (cached), correctness trials on fresh "
              "inputs in an isolated worker, timing, one FlashInfer-Bench trace per workload (JSONL in a run folder). "
              "Exit 1 if any workload fails");
  add_data_option(*cmd, o->data);
  cmd->add_option("-s,--solution", o->solution, "Solution folder (solution.json and sources)")->required();
  cmd->add_option("-d,--definition", o->definition, "Definition (default: the solution's)");
  cmd->add_option("-w,--workloads", o->workloads, "Comma-separated uuids, prefixes or indices, or 'all' (default)");
  cmd->add_option("-o,--out", o->out, "Run folder (default: runs/<date>-eval-<solution>)");
  add_eval_cli_options(*cmd, o->common);
  add_json_flag(*cmd, o->json);
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace kforge
