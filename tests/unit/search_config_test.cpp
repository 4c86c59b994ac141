// A run's settings survive the trip through the run row's JSON (what --resume reads back).
#include <gtest/gtest.h>

#include "core/error.h"
#include "search/search_config.h"

namespace kforge::search {
namespace {

TEST(SearchConfigTest, RoundTripsThroughJson) {
  SearchConfig c;
  c.data = "/d";
  c.definition = "def";
  c.solution = "/s";
  c.run_dir = "/r";
  c.generator = "tune";
  c.agent_cmd = "claude -p \"$(cat TASK.md)\"";
  c.agent_timeout_seconds = 90;
  c.strategy.name = "random";
  c.strategy.count = 5;
  c.strategy.seed = 9;
  c.strategy.eta = 4;
  c.strategy.rungs = 3;
  c.budget = {7, 12.5, 30, 3};
  c.seed = 1234567890123ull;
  c.min_gain = 0.05;
  c.regression_every = 4;
  c.jobs = 3;
  c.gpus = {"0", "2"};
  c.shapes = {4, 1, 2};
  c.eval.trials = 5;
  c.eval.timing.warmup = 3;
  c.eval.timing.iterations = 7;
  c.eval.timing.cold_cache = false;
  c.eval.timing.method = "events";
  c.eval.timing_trials = 4;
  c.eval.timeout_seconds = 11;
  c.eval.build.cuda_arch = "sm_100a";
  c.eval.build.cache_dir = "/cache";
  c.eval.cpu_gflop_budget = 3;
  c.eval.tolerance = Tolerance{0.5, 0.25, 0.9};
  c.eval.torch_reference = true;
  c.eval.torch_iterations = 9;
  const Json j = to_json(c);
  const SearchConfig back = search_config_from_json(Json::parse(j.dump()));
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.budget.agent_minutes, 30);
  EXPECT_EQ(back.gpus, (std::vector<std::string>{"0", "2"}));
  EXPECT_EQ(back.eval.tolerance->required_matched_ratio, 0.9);
  EXPECT_EQ(back.eval.build.cache_dir, "/cache");
  // Absent keys take the defaults; a wrong type names its field.
  EXPECT_EQ(search_config_from_json(Json::object()).budget.max_candidates, 20);
  try {
    search_config_from_json(Json{{"jobs", "many"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "jobs");
  }
}

}  // namespace
}  // namespace kforge::search
