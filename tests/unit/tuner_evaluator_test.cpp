// The tuner end to end: successive halving over the tunable CPU solution
// tests/solutions_tunable/gdn_decode_tunable_cpp, each trial a candidate folder (materialize)
// evaluated by the real Evaluator (build, isolated worker through the kforge binary, gate,
// timing). The solution's parameters have designed-in costs (about 2x between neighbouring
// values), so the answer is known: REPEAT=1, HEADS_PER_CHUNK=8.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/exploit_staging.h"
#include "harness/evaluator.h"
#include "test_support.h"
#include "tuner/tuner.h"

namespace kforge::tuner {
namespace {

namespace fs = std::filesystem;

using test_support::bundled;
using test_support::kGdnDecode;

const fs::path g_scratch = test_support::scratch_folder("kforge-tuner-evaluator-test");

// A short gate and timing schedule; warm cache, so no 64 MB flush per timed call.
EvalConfig small_config() {
  EvalConfig c;
  c.trials = 2;
  c.timing.warmup = 2;
  c.timing.iterations = 10;
  c.timing.cold_cache = false;
  c.timing_trials = 2;
  c.timeout_seconds = 60;
  c.worker_exe = KFORGE_BINARY;
  c.work_dir = g_scratch / "work";
  c.build.cache_dir = fs::temp_directory_path() / "kforge-tuner-test-cache";
  return c;
}

TEST(TunerEvaluatorTest, HalvingFindsTheKnownBestWithFewerEvaluationsThanTheGrid) {
  const fs::path staged = test_support::stage_with_shared_impl(
      {fs::path(KFORGE_SOURCE_DIR) / "tests/solutions_tunable/gdn_decode_tunable_cpp"}, g_scratch / "gdn_decode_tunable_cpp");
  const SolutionDir base = load_solution_dir(staged);
  const std::vector<Config> configs = enumerate(parse_tunables(base));
  ASSERT_EQ(configs.size(), 8u);  // 3 x 3, less REPEAT=4 with HEADS_PER_CHUNK=1

  // Rung 0: the first workload; rung 1: the first two (batch size 1 each).
  auto workloads = bundled().workloads_of(kGdnDecode);
  workloads.resize(2);
  Evaluator evaluator(bundled(), small_config());
  int evaluations = 0;
  const TrialFn trial = [&](const Config& c, int rung) {
    const SolutionDir candidate = load_solution_dir(materialize(base, c, g_scratch / "candidates"));
    const std::vector<const Located<Trace>*> chosen(workloads.begin(), workloads.begin() + rung + 1);
    TrialOutcome out{true, 0, 0, ""};
    for (const WorkloadResult& r : evaluator.evaluate(candidate, chosen)) {
      ++evaluations;
      if (r.skipped) return TrialOutcome{false, 0, 0, "skipped: " + r.skip_reason};
      const Evaluation& ev = *r.trace.evaluation;
      if (ev.status != EvalStatus::kPassed) {
        return TrialOutcome{false, 0, 0, std::string(status_name(ev.status)) + ": " + ev.log.substr(0, ev.log.find('\n'))};
      }
      out.latency_us += ev.performance->latency_ms * 1e3 / static_cast<double>(chosen.size());
      out.noise_us = std::max(out.noise_us, ev.kforge.at("timing").at("stddev_us").get<double>());
    }
    return out;
  };
  const TuneResult result = successive_halving(configs, {0, 3, 2, 1}, one_at_a_time(trial));

  // Every configuration is a correct solution: each trial passed the gate.
  for (const Trial& t : result.trials) EXPECT_TRUE(t.outcome.ok) << t.config.label() << ": " << t.outcome.failure;
  ASSERT_NE(result.best_config(), nullptr);
  EXPECT_EQ(result.best_config()->label(), "REPEAT=1,HEADS_PER_CHUNK=8");
  // 8 configs on one workload, the best 8/3 = 2 on two: 12 workload evaluations, where the grid
  // at the top rung takes 8 x 2 = 16.
  EXPECT_EQ(evaluations, 12);
  EXPECT_LT(evaluations, static_cast<int>(configs.size()) * 2);
}

}  // namespace
}  // namespace kforge::tuner
