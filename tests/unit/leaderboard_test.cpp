// The leaderboard of `kforge bench`, fed with traces from files (--traces): ranking, speedups and
// the external label on a hand-made fixture (tests/cli/fixtures/external_traces), and the one-line
// errors for records that cannot be ranked.
#include "cli/leaderboard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using test_support::bundled;

const fs::path kFixtures = fs::path(KFORGE_SOURCE_DIR) / "tests/cli/fixtures/external_traces";
const std::string kPeers = "tools/peers/run_gdn_peers.py";
const std::string kW1 = "901e5104-dccb-4c3f-ae13-ef4d31a4d456";  // batch_size=1
const std::string kW2 = "2640f1e3-4b02-4041-bdc1-59a28e0b9954";  // batch_size=8

const SolutionScore& score_of(const DefinitionBoard& d, const std::string& name) {
  const auto it = std::find_if(d.solutions.begin(), d.solutions.end(),
                               [&](const SolutionScore& s) { return s.solution == name; });
  if (it == d.solutions.end()) throw Error("test: no solution '" + name + "' on the board");
  return *it;
}

// Loads one fixture file expecting an Error; returns it.
Error load_error(const fs::path& path) {
  try {
    load_ranked_traces(bundled(), {path});
  } catch (const Error& e) {
    return e;
  }
  throw Error("test: " + path.string() + " loaded without an error");
}

// The fixture, by hand (baseline pytorch-reference: 2.0 ms on W1, 12.0 ms on W2):
//   peer-fast   0.005 / 0.010 ms -> ratios 400, 1200: score 800
//   kforge-sol  0.004 ms on W1 only (timed by kforge, reference 0.05 ms) -> 500
//   peer-slow   0.010 / 0.020 ms -> 200, 600: score 400
//   pytorch-reference -> 1;  peer-broken W1 0.001 ms, W2 INCORRECT_NUMERICAL -> score 0
TEST(Leaderboard, RanksExternalTracesBesideKforgeOnes) {
  const auto traces = load_ranked_traces(bundled(), {kFixtures / "good"});  // a folder: found recursively
  ASSERT_EQ(traces.size(), 9u);
  const Leaderboard board = build_leaderboard(bundled(), traces, "pytorch-reference");
  ASSERT_EQ(board.definitions.size(), 1u);
  const DefinitionBoard& d = board.definitions[0];
  EXPECT_EQ(d.definition, test_support::kGdnDecode);
  EXPECT_EQ(d.workloads, (std::vector<std::string>{kW1, kW2}));
  std::vector<std::string> order;
  for (const auto& s : d.solutions) order.push_back(s.solution);
  EXPECT_EQ(order, (std::vector<std::string>{"peer-fast", "kforge-sol", "peer-slow", "pytorch-reference", "peer-broken"}));

  const SolutionScore& fast = score_of(d, "peer-fast");
  EXPECT_EQ(fast.passed, 2);
  EXPECT_NEAR(fast.score, 800.0, 1e-9);
  EXPECT_DOUBLE_EQ(fast.win_rate, 1.0);
  // The reference latency comes from kforge's own trace where there is one (W1: 0.05 ms), else
  // from the external traces (W2: 12 ms): (0.05/0.005 + 12/0.010) / 2.
  EXPECT_NEAR(fast.mean_speedup_vs_reference, 605.0, 1e-9);
  EXPECT_EQ(fast.timed_by, kPeers);
  EXPECT_TRUE(fast.external);
  EXPECT_EQ(fast.cells.at(kW1), "5.00");

  const SolutionScore& mine = score_of(d, "kforge-sol");
  EXPECT_NEAR(mine.score, 500.0, 1e-9);
  EXPECT_NEAR(mine.mean_speedup_vs_reference, 12.5, 1e-9);
  EXPECT_EQ(mine.timed_by, "kforge");
  EXPECT_FALSE(mine.external);

  EXPECT_NEAR(score_of(d, "peer-slow").score, 400.0, 1e-9);
  EXPECT_NEAR(score_of(d, "pytorch-reference").score, 1.0, 1e-9);
  const SolutionScore& broken = score_of(d, "peer-broken");
  EXPECT_EQ(broken.passed, 1);
  EXPECT_EQ(broken.workloads, 2);
  EXPECT_EQ(broken.score, 0.0);  // one failed workload zeroes it, as in FlashInfer-Bench
  EXPECT_NEAR(broken.mean_speedup_vs_baseline, 2000.0, 1e-9);
  EXPECT_EQ(broken.cells.at(kW2), "INCORRECT_NUMERICAL");

  const Json j = to_json(board);
  EXPECT_EQ(j["definitions"][0]["solutions"][0]["solution"], "peer-fast");
  EXPECT_EQ(j["definitions"][0]["solutions"][0]["external"], true);
  EXPECT_EQ(j["definitions"][0]["solutions"][0]["timed_by"], kPeers);
  EXPECT_EQ(j["definitions"][0]["solutions"][1]["external"], false);
  const std::string md = to_markdown(board);
  EXPECT_NE(md.find("| peer-fast | 2/2 | 605.00 | 800.00 | 100% | 800.000 | external: " + kPeers + " |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| kforge-sol | 1/1 | 12.50 | 500.00 | 100% | 500.000 | kforge |"), std::string::npos) << md;
  EXPECT_NE(to_text(board).find("external: " + kPeers), std::string::npos);
}

TEST(Leaderboard, TimedByNamesWhoTimedATrace) {
  Trace t = load_ranked_traces(bundled(), {kFixtures / "good"}).front();
  EXPECT_EQ(timed_by(t), kPeers);
  t.evaluation->kforge = Json{{"timing", Json::object()}};
  EXPECT_EQ(timed_by(t), "kforge");
  t.evaluation->kforge = Json(nullptr);  // e.g. a FlashInfer-Bench trace
  EXPECT_EQ(timed_by(t), "external");
}

TEST(Leaderboard, BadTraceRecordsNameFileLineAndField) {
  const Error latency = load_error(kFixtures / "bad_latency.jsonl");
  EXPECT_EQ(latency.line(), 2);
  EXPECT_EQ(latency.field(), "evaluation.performance.latency_ms");
  EXPECT_NE(std::string(latency.what()).find("bad_latency.jsonl:2: evaluation.performance.latency_ms: latency 0"),
            std::string::npos)
      << latency.what();

  const Error malformed = load_error(kFixtures / "malformed.jsonl");
  EXPECT_EQ(malformed.line(), 2);
  EXPECT_NE(std::string(malformed.what()).find("malformed JSON"), std::string::npos) << malformed.what();

  // A prefill workload's uuid in a decode trace.
  const Error unknown = load_error(kFixtures / "unknown_workload.jsonl");
  EXPECT_EQ(unknown.line(), 1);
  EXPECT_EQ(unknown.field(), "workload.uuid");
  EXPECT_NE(unknown.message().find("is not a workload of gdn_decode_qk4_v8_d128_k_last"), std::string::npos)
      << unknown.what();

  const Error axes = load_error(kFixtures / "axes_mismatch.jsonl");
  EXPECT_EQ(axes.field(), "workload.axes");
  EXPECT_EQ(axes.expected(), R"({"batch_size":1})");

  const Error bare = load_error(kFixtures / "bare_workload.jsonl");
  EXPECT_EQ(bare.field(), "solution");

  const Error missing = load_error(kFixtures / "no_such_file.jsonl");
  EXPECT_NE(std::string(missing.what()).find("no_such_file.jsonl: no such file or folder"), std::string::npos)
      << missing.what();
}

}  // namespace
}  // namespace kforge
