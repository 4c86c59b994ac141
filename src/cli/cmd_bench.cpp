#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_options.h"
#include "cli/leaderboard.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "harness/evaluator.h"

namespace kforge {
namespace fs = std::filesystem;

namespace {

struct BenchOptions {
  std::string data, definition, workloads = "all", baseline = "reference", out, markdown;
  std::vector<std::string> paths;
  std::vector<std::string> trace_paths;
  bool json = false;
  EvalCliOptions common;
};

void run_bench(const BenchOptions& o) {
  const Dataset ds = open_dataset(o.data);
  if (o.workloads != "all" && o.definition.empty()) {
    throw Error("--workloads without --definition", "-d DEFINITION: uuids, prefixes and indices are per definition");
  }
  // The chosen workloads' uuids; empty means all.
  std::set<std::string> chosen;
  if (!o.definition.empty() && o.workloads != "all") {
    for (const auto* w : select_workloads(ds, pick_definition(ds, o.definition), o.workloads)) {
      chosen.insert(w->value.workload.uuid);
    }
  }
  // External traces first: a bad line is reported before any evaluation runs.
  std::vector<Trace> traces;
  for (auto& t : load_ranked_traces(ds, std::vector<fs::path>(o.trace_paths.begin(), o.trace_paths.end()))) {
    if (!o.definition.empty() && t.definition != o.definition) continue;
    if (!chosen.empty() && !chosen.count(t.workload.uuid)) continue;
    traces.push_back(std::move(t));
  }
  std::vector<fs::path> roots;
  // solutions/ always takes part, except when only traces are given: then they are just ranked.
  const bool rank_only = o.paths.empty() && !o.trace_paths.empty();
  if (!rank_only && (o.paths.empty() || fs::is_directory("solutions"))) roots.push_back("solutions");
  for (const auto& p : o.paths) roots.push_back(p);
  std::vector<SolutionDir> solutions;
  std::set<std::string> names;
  for (const auto& root : roots) {
    if (!fs::exists(root)) continue;
    for (const auto& dir : find_solution_dirs(root)) {
      SolutionDir sd = load_solution_dir(dir);
      if (!o.definition.empty() && sd.solution.definition != o.definition) continue;
      if (!names.insert(sd.solution.name).second) continue;  // the same folder reached twice
      solutions.push_back(std::move(sd));
    }
  }
  if (solutions.empty() && traces.empty() && rank_only) {
    throw Error("the --traces files hold no trace" + (o.definition.empty() ? std::string() : " of " + o.definition) +
                    (chosen.empty() ? "" : " on the chosen workloads"),
                "traces to rank");
  }
  if (solutions.empty() && traces.empty()) {
    throw Error("no solutions found under " + (roots.empty() ? std::string("solutions/") : roots.front().string()),
                "folders with a solution.json (or --traces files)");
  }
  const fs::path run_dir = o.out.empty() ? default_run_dir("bench") : fs::path(o.out);
  Evaluator evaluator(ds, o.common.to_config());
  for (const auto& sd : solutions) {
    const auto* ld = ds.definition(sd.solution.definition);
    if (!ld) {
      print_out(fmt::format("skipping {}: definition '{}' not in the dataset\n", sd.solution.name, sd.solution.definition));
      continue;
    }
    auto workloads = ds.workloads_of(ld->value.name);
    if (!chosen.empty()) {
      std::erase_if(workloads, [&](const Located<Trace>* w) { return !chosen.count(w->value.workload.uuid); });
    }
    const fs::path file = trace_file(run_dir, sd.solution, ld->value);
    if (!o.json) {
      print_out(fmt::format("== {} ({}, {} backend): {} workloads of {}\n", sd.solution.name, sd.solution.spec.language,
                            evaluator.backend_for(sd.solution), workloads.size(), ld->value.name));
    }
    for (const auto& r : evaluate_with_progress(evaluator, sd, ld->value, workloads, file, o.json)) {
      if (!r.skipped) traces.push_back(r.trace);
    }
  }
  const Leaderboard board = build_leaderboard(ds, traces, o.baseline);
  write_file_atomic(run_dir / "leaderboard.json", to_json(board).dump(2) + "\n");
  const std::string md = to_markdown(board);
  write_file_atomic(run_dir / "leaderboard.md", md);
  if (!o.markdown.empty()) write_file_atomic(o.markdown, md);
  print_out(o.json ? to_json(board).dump(2) + "\n" : to_text(board) + fmt::format("run folder {}\n", run_dir.string()));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand(
      "bench", "Evaluate every solution under solutions/ (and any given folders) on all workloads of its definition, "
               "then rank per definition: latency per workload, speedup over the reference and the baseline, win "
               "rate, and FlashInfer-Bench's score (any failed workload zeroes it). Traces timed elsewhere (--traces, "
               "e.g. tools/peers/run_gdn_peers.py) are checked against the dataset and ranked beside them, labelled "
               "external; with only --traces, nothing is evaluated");
  add_data_option(*cmd, o->data);
  cmd->add_option("paths", o->paths, "Solution folders, or folders containing them (default: solutions/)");
  cmd->add_option("-d,--definition", o->definition, "Only solutions (and traces) of this definition");
  cmd->add_option("-w,--workloads", o->workloads,
                  "With -d: comma-separated uuids, prefixes or indices, or 'all' (default); traces of other "
                  "workloads are left out too");
  cmd->add_option("--baseline", o->baseline,
                  "Baseline for speedup, win rate and score: a solution name, or 'reference' (default)");
  cmd->add_option("--traces", o->trace_paths,
                  "Also rank the traces in these JSONL files, or in every .jsonl under these folders (e.g. peers "
                  "timed by tools/peers/run_gdn_peers.py)");
  cmd->add_option("-o,--out", o->out, "Run folder (default: runs/<date>-bench)");
  cmd->add_option("--markdown", o->markdown, "Also write the Markdown report here");
  add_eval_cli_options(*cmd, o->common);
  add_json_flag(*cmd, o->json);
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace kforge
