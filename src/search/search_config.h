// @brief A search run's settings, kept as JSON in the run's row so `--resume` continues with
// exactly the settings the run started with.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/evaluator.h"
#include "search/shapes.h"
#include "tuner/strategy.h"

namespace kforge::search {

struct Budget {
  int max_candidates = 20;   // proposals of the generator (the seed solution not counted)
  double eval_minutes = 0;   // evaluation wall time of the run's candidates; 0: no limit
  double agent_minutes = 0;  // agent wall time; 0: no limit
  int patience = 0;          // stop after this many candidates without a promotion; 0: never
};

struct SearchConfig {
  std::filesystem::path data;      // dataset root (absolute)
  std::string definition;
  std::filesystem::path solution;  // the seed solution folder (absolute)
  std::filesystem::path run_dir;   // workspaces and candidate folders (absolute)
  std::string generator = "agent";  // agent | tune
  std::string agent_cmd;
  double agent_timeout_seconds = 1800;
  tuner::StrategyOptions strategy;  // tune
  Budget budget;
  std::uint64_t seed = 1;
  double min_gain = 0.02;       // the smallest relative win promoted, even with zero measured noise
  int regression_every = 10;    // a regression check of the best after this many candidates (0: only at the end)
  int jobs = 1;                 // parallel evaluation slots
  std::vector<std::string> gpus;  // one slot per GPU (CUDA_VISIBLE_DEVICES); overrides jobs
  ShapeOptions shapes;
  EvalConfig eval;              // the protocol of the timing, full and verify stages
};

Json to_json(const SearchConfig& c);
// Throws Error naming the field for a malformed config.
SearchConfig search_config_from_json(const Json& j);

Json to_json(const EvalConfig& c);
EvalConfig eval_config_from_json(const Json& j);

}  // namespace kforge::search
