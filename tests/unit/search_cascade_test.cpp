// The cascade on the search fixture (two shape groups, three workloads) with a fake judge: each
// failure stops it at its stage with its tag and group; the representatives' timing decides
// whether the full gate runs.
#include <gtest/gtest.h>

#include "common/fake_judge.h"
#include "core/error.h"
#include "search/cascade.h"

namespace kforge::search {
namespace {

using test_support::fake_solution;
using test_support::FakeJudge;
using test_support::kSearchDefinition;

ShapeGrouping shapes() { return test_support::search_fixture_shapes(); }

CascadeOutcome run(FakeJudge& judge, const std::string& source, const RepsBar& bar = {}) {
  std::vector<std::string> sunk;
  auto out = run_cascade(judge, fake_solution("cand", kSearchDefinition, source), shapes(), bar, 5,
                         [&](const std::vector<store::EvaluationRecord>& rows) { sunk.push_back(rows.at(0).stage); });
  std::vector<std::string> stages;
  for (const auto& r : out.rows) {
    if (stages.empty() || stages.back() != r.stage) stages.push_back(r.stage);
  }
  EXPECT_EQ(sunk, stages);  // each stage handed over once, as it ended
  return out;
}

TEST(SearchCascadeTest, TheFixtureHasTwoGroupsWithOneRepresentativeEach) {
  const auto g = shapes();
  ASSERT_EQ(g.groups.size(), 2u);
  EXPECT_EQ(g.groups[0].label, "batch_size 1");
  EXPECT_EQ(g.groups[1].label, "batch_size 2");
  EXPECT_EQ(g.representatives().size(), 2u);
  EXPECT_EQ(g.all_workloads().size(), 3u);
}

TEST(SearchCascadeTest, AForbiddenCallStopsItBeforeTheBuild) {
  FakeJudge judge;
  const auto out = run(judge, "void f() { void* p = malloc(4); }\n");
  EXPECT_EQ(out.tag, "scan");
  EXPECT_EQ(out.stage, "scan");
  EXPECT_NE(out.message.find("k.cpp:1: malloc (allocation)"), std::string::npos) << out.message;
  EXPECT_EQ(judge.builds, 0);
  EXPECT_TRUE(out.rows.empty());
}

TEST(SearchCascadeTest, ACompileErrorIsTaggedWithTheCompilersLine) {
  FakeJudge judge;
  const auto out = run(judge, "// BROKEN\n");
  EXPECT_EQ(out.tag, "compile_error");
  EXPECT_EQ(out.stage, "build");
  EXPECT_EQ(out.message.substr(0, out.message.find('\n')), "k.cpp:1:1: error: BROKEN");
  EXPECT_TRUE(judge.calls.empty());
}

TEST(SearchCascadeTest, WrongValuesStopAtTheQuickGateWithTheirGroup) {
  FakeJudge judge;
  const auto out = run(judge, "// WRONG_ON 5ea4c400\n");
  EXPECT_EQ(out.tag, "incorrect");
  EXPECT_EQ(out.tag_group, "batch_size 2");
  EXPECT_EQ(out.stage, "quick");
  ASSERT_EQ(out.rows.size(), 2u);  // the two representatives
  EXPECT_EQ(out.rows[1].status, "INCORRECT_NUMERICAL");
  EXPECT_NE(out.message.find("INCORRECT_NUMERICAL on 5ea4c400 (batch_size 2): trial_0"), std::string::npos) << out.message;
  ASSERT_EQ(judge.calls.size(), 1u);
  EXPECT_EQ(judge.calls[0].second, Stage::kQuick);
}

TEST(SearchCascadeTest, WithoutABestEverythingThatPassesGetsTheFullGate) {
  FakeJudge judge;
  const auto out = run(judge, "// LATENCY 80\n");
  EXPECT_EQ(out.tag, "");
  EXPECT_TRUE(out.full_passed);
  EXPECT_EQ(out.stage, "full");
  EXPECT_EQ(out.rows.size(), 2u + 2u + 3u);  // quick and timing on the representatives, full on all
  EXPECT_DOUBLE_EQ(*out.reps_us, 80);
  EXPECT_DOUBLE_EQ(out.reps_group_us.at("batch_size 2"), 80);
  EXPECT_EQ(out.rows.back().spread_us, 0.8);
  EXPECT_EQ(out.rows.back().seed, 5);
}

TEST(SearchCascadeTest, SlowerThanTheBestStopsAfterTiming) {
  FakeJudge judge;
  const auto out = run(judge, "// LATENCY 100\n", RepsBar{50.0, {{"batch_size 1", 50.0}, {"batch_size 2", 50.0}}});
  EXPECT_EQ(out.tag, "slower");
  EXPECT_EQ(out.stage, "timing");
  EXPECT_FALSE(out.full_passed);
  EXPECT_NE(out.message.find("100.00 us on the representatives"), std::string::npos) << out.message;
}

TEST(SearchCascadeTest, FasterOnOneGroupIsWorthTheFullGate) {
  FakeJudge judge;
  const auto out = run(judge, "// LATENCY 100\n", RepsBar{50.0, {{"batch_size 1", 200.0}, {"batch_size 2", 10.0}}});
  EXPECT_TRUE(out.full_passed);
  EXPECT_NE(out.message.find("on batch_size 1"), std::string::npos) << out.message;
  std::string why;
  EXPECT_TRUE(beats_bar(RepsBar{50.0, {}}, 60.0, {{"g", 60.0}}, &why));  // no best for group g yet
  EXPECT_EQ(why, "no best yet for g");
  EXPECT_FALSE(beats_bar(RepsBar{50.0, {{"g", 40.0}}}, 60.0, {{"g", 60.0}}, &why));
}

TEST(SearchCascadeTest, WorkloadsNoneCanEvaluateAreAnError) {
  FakeJudge judge;
  EXPECT_THROW(run(judge, "// SKIP\n"), Error);
}

}  // namespace
}  // namespace kforge::search
