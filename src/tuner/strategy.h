// @brief Search strategies over a list of configurations: grid, seeded random, successive
// halving. Each calls an abstract trial function; what a trial runs is the caller's business.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tuner/tunable_space.h"

namespace kforge::tuner {

struct TrialOutcome {
  bool ok = false;          // built, ran and passed the checks the rung applies
  double latency_us = 0;    // when ok: the figure strategies minimize
  double noise_us = 0;      // spread of that figure (e.g. stddev over timing trials); 0 when unknown
  std::string failure;      // when not ok: why (status and first line of the log)
};

// Rung 0 is the cheapest fidelity (fewest workloads or timing calls), higher rungs cost more
// and measure better; the callback decides what a rung means.
using TrialFn = std::function<TrialOutcome(const Config&, int rung)>;
// Several configs at one rung, outcomes in the same order; it may evaluate them concurrently.
// The strategies hand it every config of a rung at once, so the trials' order (and so the result)
// does not depend on how it schedules them.
using BatchTrialFn = std::function<std::vector<TrialOutcome>(const std::vector<Config>&, int rung)>;
// A TrialFn applied to one config after the other.
BatchTrialFn one_at_a_time(TrialFn trial);

struct Trial {
  Config config;
  int rung = 0;
  TrialOutcome outcome;
};

struct TuneResult {
  std::vector<Trial> trials;          // in the order the trial function was called
  std::optional<std::size_t> best;    // index in trials of the winning trial; nullopt when none passed

  const Config* best_config() const { return best ? &trials[*best].config : nullptr; }
};

// Every config at `rung`, in order; the best is the lowest latency (the first on ties).
TuneResult grid_search(const std::vector<Config>& configs, const BatchTrialFn& trial, int rung = 0);

// `count` configs drawn without replacement (all of them when count >= their number), in draw
// order, at `rung`. The same seed draws the same configs.
TuneResult random_search(const std::vector<Config>& configs, std::size_t count, std::uint64_t seed,
                         const BatchTrialFn& trial, int rung = 0);

struct HalvingOptions {
  std::size_t initial = 0;  // configs at rung 0, drawn as random_search does; 0 = all, in order
  int eta = 3;              // each rung keeps the best max(1, n / eta) of its n configs
  int rungs = 3;            // rungs 0 .. rungs - 1
  std::uint64_t seed = 1;
};

// Successive halving: the configs at rung 0, the best 1/eta of them again at rung 1, and so on.
// Failed trials are dropped. It stops at the last rung, or as soon as one config is left (that
// config wins; measuring it again cannot change the choice). The best is the lowest latency at
// the last rung evaluated. Throws Error when eta < 2 or rungs < 1.
TuneResult successive_halving(const std::vector<Config>& configs, const HalvingOptions& options,
                              const BatchTrialFn& trial);

// A strategy by name, for the command line: "grid" and "random" evaluate at the top rung
// (rungs - 1), "halving" climbs from rung 0.
struct StrategyOptions {
  std::string name = "halving";  // grid | random | halving
  std::size_t count = 0;         // random: configs to draw; halving: initial (0 = all)
  std::uint64_t seed = 1;
  int eta = 3;
  int rungs = 2;
};
// Throws Error for an unknown name or bad options.
TuneResult run_strategy(const std::vector<Config>& configs, const StrategyOptions& options, const BatchTrialFn& trial);

}  // namespace kforge::tuner
