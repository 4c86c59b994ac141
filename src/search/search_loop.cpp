#include "search/search_loop.h"

#include "core/error.h"
#include "search/search_run.h"

namespace kforge::search {

namespace {

// Beside the store, so a resumed run finds its folders wherever it is started from.
std::filesystem::path default_run_dir(store::Store& store, std::int64_t run_id) {
  return std::filesystem::absolute(store.file()).parent_path() / ("search-" + std::to_string(run_id));
}

}  // namespace

std::int64_t start_search(store::Store& store, const SearchConfig& config, const SearchEnvironment& env) {
  require(config.generator == "agent" || config.generator == "tune", "unknown generator '" + config.generator + "'",
          "agent or tune");
  store::RunRecord run;
  run.definition = config.definition;
  run.generator = config.generator;
  run.config = to_json(config);
  run.seed = config.seed;
  run.budget = run.config["budget"];
  run.id = store.create_run(run);
  SearchConfig c = config;
  if (c.run_dir.empty()) c.run_dir = default_run_dir(store, run.id);
  if (env.progress) env.progress("run " + std::to_string(run.id) + ": " + c.generator + " on " + c.definition + ", store " + store.file().string());
  SearchRun(store, run, c, env).run();
  return run.id;
}

void resume_search(store::Store& store, std::int64_t run_id, const SearchEnvironment& env) {
  auto run = store.run(run_id);
  if (!run) throw Error("no run " + std::to_string(run_id)).at_file(store.file().string());
  SearchConfig c = search_config_from_json(run->config);
  if (c.run_dir.empty()) c.run_dir = default_run_dir(store, run_id);
  store.reopen_run(run_id);
  if (env.progress) env.progress("run " + std::to_string(run_id) + ": resuming (" + c.generator + " on " + c.definition + ")");
  SearchRun(store, *run, c, env).run();
}

}  // namespace kforge::search
