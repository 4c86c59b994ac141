#include "tuner/strategy.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace kforge::tuner {
namespace {

// Indices of `count` configs drawn without replacement: a partial Fisher-Yates shuffle whose
// swap j is drawn from the counter-based stream at position i, so the draw depends on the seed
// alone.
std::vector<std::size_t> draw(std::size_t n, std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  count = std::min(count, n);
  const CounterRng rng = CounterRng(seed).derive("tuner.draw");
  for (std::size_t i = 0; i < count; ++i) {
    const auto j = static_cast<std::size_t>(rng.integer(i, static_cast<std::int64_t>(i), static_cast<std::int64_t>(n)));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(count);
  return idx;
}

// Evaluates `pool` (indices into configs) at `rung`, appending to result.trials; returns the
// trial indices of the passing ones, fastest first (evaluation order on ties).
std::vector<std::size_t> run_rung(const std::vector<Config>& configs, const std::vector<std::size_t>& pool, int rung,
                                  const BatchTrialFn& trial, TuneResult& result) {
  std::vector<Config> batch;
  for (const std::size_t c : pool) batch.push_back(configs[c]);
  const std::vector<TrialOutcome> outcomes = trial(batch, rung);
  require(outcomes.size() == batch.size(),
          "a batch trial returned " + std::to_string(outcomes.size()) + " outcomes for " + std::to_string(batch.size()) +
              " configs",
          "one outcome per config");
  std::vector<std::size_t> passed;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    result.trials.push_back({batch[i], rung, outcomes[i]});
    if (outcomes[i].ok) passed.push_back(result.trials.size() - 1);
  }
  std::stable_sort(passed.begin(), passed.end(), [&](std::size_t a, std::size_t b) {
    return result.trials[a].outcome.latency_us < result.trials[b].outcome.latency_us;
  });
  return passed;
}

TuneResult evaluate_all(const std::vector<Config>& configs, const std::vector<std::size_t>& pool, int rung,
                        const BatchTrialFn& trial) {
  TuneResult result;
  const auto passed = run_rung(configs, pool, rung, trial, result);
  if (!passed.empty()) result.best = passed.front();
  return result;
}

}  // namespace

BatchTrialFn one_at_a_time(TrialFn trial) {
  return [trial = std::move(trial)](const std::vector<Config>& configs, int rung) {
    std::vector<TrialOutcome> out;
    for (const Config& c : configs) out.push_back(trial(c, rung));
    return out;
  };
}

TuneResult grid_search(const std::vector<Config>& configs, const BatchTrialFn& trial, int rung) {
  std::vector<std::size_t> pool(configs.size());
  std::iota(pool.begin(), pool.end(), 0);
  return evaluate_all(configs, pool, rung, trial);
}

TuneResult random_search(const std::vector<Config>& configs, std::size_t count, std::uint64_t seed,
                         const BatchTrialFn& trial, int rung) {
  return evaluate_all(configs, draw(configs.size(), count, seed), rung, trial);
}

TuneResult successive_halving(const std::vector<Config>& configs, const HalvingOptions& options,
                              const BatchTrialFn& trial) {
  require(options.eta >= 2, "successive halving with eta " + std::to_string(options.eta), "eta >= 2");
  require(options.rungs >= 1, "successive halving with " + std::to_string(options.rungs) + " rungs", "rungs >= 1");
  std::vector<std::size_t> pool;
  if (options.initial == 0 || options.initial >= configs.size()) {
    pool.resize(configs.size());
    std::iota(pool.begin(), pool.end(), 0);
  } else {
    pool = draw(configs.size(), options.initial, options.seed);
  }
  TuneResult result;
  for (int rung = 0; rung < options.rungs && !pool.empty(); ++rung) {
    const std::size_t first_trial = result.trials.size();
    const auto passed = run_rung(configs, pool, rung, trial, result);
    result.best.reset();
    if (passed.empty()) break;
    result.best = passed.front();
    const std::size_t keep = std::min(passed.size(), std::max<std::size_t>(1, pool.size() / static_cast<std::size_t>(options.eta)));
    if (keep == 1) break;
    // Trial i of this rung evaluated pool[i - first_trial].
    std::vector<std::size_t> next;
    for (std::size_t k = 0; k < keep; ++k) next.push_back(pool[passed[k] - first_trial]);
    pool = std::move(next);
  }
  return result;
}

TuneResult run_strategy(const std::vector<Config>& configs, const StrategyOptions& options, const BatchTrialFn& trial) {
  require(options.rungs >= 1, "strategy with " + std::to_string(options.rungs) + " rungs", "rungs >= 1");
  const int top = options.rungs - 1;
  if (options.name == "grid") return grid_search(configs, trial, top);
  if (options.name == "random") {
    require(options.count > 0, "random search of 0 configs", "a count > 0");
    return random_search(configs, options.count, options.seed, trial, top);
  }
  if (options.name == "halving") {
    return successive_halving(configs, {options.count, options.eta, options.rungs, options.seed}, trial);
  }
  throw Error("unknown strategy '" + options.name + "'", "grid, random or halving");
}

}  // namespace kforge::tuner
