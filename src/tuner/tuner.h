// @brief The tuner: a solution's tunable parameters, the configurations they allow, candidates
// made from configurations, and search strategies over them. Include this header for all of it.
//
//   const SolutionDir base = load_solution_dir(dir);
//   const TunableSpace space = parse_tunables(base);        // solution.json "tunables"
//   const std::vector<Config> configs = enumerate(space);   // constraints applied
//   TuneResult r = successive_halving(configs, {.eta = 3, .rungs = 2}, [&](const Config& c, int rung) {
//     const SolutionDir cand = load_solution_dir(materialize(base, c, scratch));
//     ... evaluate cand on the workloads rung `rung` stands for ...
//     return TrialOutcome{ok, latency_us, noise_us, failure};
//   });
//   if (const Config* best = r.best_config()) ...
#pragma once

#include "tuner/materialize.h"
#include "tuner/strategy.h"
#include "tuner/tunable_space.h"
#include "tuner/tune_header.h"
