#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_options.h"
#include "core/error.h"
#include "search/process_judge.h"
#include "search/search_loop.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

struct SearchOptions {
  std::string data, definition, solution, db = store::default_store_file().string(), run_dir, gpus;
  search::SearchConfig config;
  EvalCliOptions eval;
  std::int64_t resume = 0;
  bool json = false;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void run_search(SearchOptions& o) {
  store::Store st(o.db);
  search::SearchEnvironment env;
  env.kforge_exe = fs::read_symlink("/proc/self/exe");
  if (!o.json) env.progress = [](const std::string& line) { print_out("[search] " + line + "\n"); };
  std::int64_t run_id = o.resume;
  if (o.resume) {
    search::resume_search(st, o.resume, env);
  } else {
    require(!o.solution.empty(), "a new run needs a seed solution", "-s/--solution FOLDER (or --resume RUN)");
    search::SearchConfig& c = o.config;
    c.solution = fs::absolute(o.solution);
    c.data = fs::absolute(o.data);
    c.definition = o.definition.empty() ? load_solution_dir(c.solution).solution.definition : o.definition;
    if (!o.run_dir.empty()) c.run_dir = fs::absolute(o.run_dir);
    c.gpus = split_list(o.gpus);
    c.eval = o.eval.to_config();
    c.seed = c.eval.seed;
    if (c.generator == "agent") require(!c.agent_cmd.empty(), "the agent generator needs a command", "--agent-cmd '...'");
    run_id = search::start_search(st, c, env);
  }
  if (o.json) {
    const auto run = st.run(run_id);
    const auto best = st.best(run->definition);
    print_out(Json{{"run", run_id},
                   {"definition", run->definition},
                   {"stop_reason", run->stop_reason},
                   {"candidates", st.run_candidates(run_id).size()},
                   {"best", best ? to_json(*best) : Json()}}
                  .dump(2) +
              "\n");
  }
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto o = std::make_shared<SearchOptions>();
  auto* cmd = app.add_subcommand(
      "search",
      "Run the closed search loop on one definition: a generator proposes candidates (an agent command, or the tuner over "
      "solution.json \"tunables\"), each goes through the cascade (static scan, build, quick gate and timing on the "
      "shape groups' representatives, full gate), a candidate becomes the best only after re-verification on new seeds "
      "beside the best with a win beyond the measured noise, and everything (candidates, evaluations, summaries, bests, "
      "promotions, rollbacks) is kept in a SQLite store. --seed is the run's seed (every stage's inputs derive from it). "
      "Resume a killed run with --resume");
  add_data_option(*cmd, o->data);
  cmd->add_option("-s,--solution", o->solution, "The seed solution folder (the first parent; the tuner's base)");
  cmd->add_option("-d,--definition", o->definition, "Definition (default: the solution's)");
  cmd->add_option("--db", o->db, "The search store (default: $KFORGE_DB or runs/kforge.db)");
  cmd->add_option("--run-dir", o->run_dir, "Workspaces and candidate folders (default: search-<run> beside the store)");
  cmd->add_option("--generator", o->config.generator, "agent (default) or tune")->check(CLI::IsMember({"agent", "tune"}));
  cmd->add_option("--agent-cmd", o->config.agent_cmd,
                  "agent: the command run (under /bin/sh -c) in each step's workspace; it reads TASK.md and edits solution/");
  cmd->add_option("--agent-timeout", o->config.agent_timeout_seconds, "agent: seconds per step before it is killed (default 1800)");
  cmd->add_option("--strategy", o->config.strategy.name, "tune: halving (default), grid or random")
      ->check(CLI::IsMember({"halving", "grid", "random"}));
  cmd->add_option("--tune-count", o->config.strategy.count, "tune: configurations to draw (random) or to start with (halving); 0 = all");
  cmd->add_option("--eta", o->config.strategy.eta, "tune, halving: keep the best 1/eta per rung (default 3)");
  cmd->add_option("--rungs", o->config.strategy.rungs,
                  "tune: rungs; below the top the representatives (r+1 per group), the top every workload (default 2)");
  cmd->add_option("--max-candidates", o->config.budget.max_candidates, "Proposals to evaluate, the seed not counted (default 20)");
  cmd->add_option("--eval-minutes", o->config.budget.eval_minutes, "Stop after this much evaluation time (default: no limit)");
  cmd->add_option("--agent-minutes", o->config.budget.agent_minutes, "Stop after this much agent time (default: no limit)");
  cmd->add_option("--patience", o->config.budget.patience, "Stop after this many candidates without a promotion (default: never)");
  cmd->add_option("--min-gain", o->config.min_gain,
                  "Smallest relative win promoted even when the measured noise is smaller (default 0.02)");
  cmd->add_option("--regression-every", o->config.regression_every,
                  "Re-time the best beside the one it replaced every N candidates, and at the end (default 10; 0: at the end)");
  cmd->add_option("--jobs", o->config.jobs, "Candidates evaluated in parallel, each slot in its own worker processes (default 1)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--gpus", o->gpus, "One evaluation slot per GPU, e.g. 0,1,2,3 (CUDA_VISIBLE_DEVICES per slot; overrides --jobs)");
  cmd->add_option("--bands", o->config.shapes.bands, "Shape bands per grouping axis (default 3; see kforge shapes)");
  cmd->add_option("--reps", o->config.shapes.representatives, "Representatives per shape group (default 1)");
  cmd->add_option("--resume", o->resume, "Continue this run (its stored settings; other options are ignored)");
  add_eval_cli_options(*cmd, o->eval);
  add_json_flag(*cmd, o->json);
  cmd->callback([o] { run_search(*o); });

  auto job = std::make_shared<std::string>();
  auto* worker = app.add_subcommand("search-worker", "Internal: one build or evaluation of a parallel search slot");
  worker->group("");  // hidden from --help
  worker->add_option("--job", *job, "Job file written by the search")->required();
  worker->callback([job] { search::run_judge_job(*job); });
}

}  // namespace kforge
