// The promotion gate, the regression check and the per-group bests, with a fake judge on the
// search fixture's workloads, and the noise rule they share.
#include <gtest/gtest.h>

#include "common/fake_judge.h"
#include "core/error.h"
#include "search/noise_rule.h"
#include "search/promotion.h"

namespace kforge::search {
namespace {

using test_support::fake_solution;
using test_support::FakeJudge;
using test_support::kSearchDefinition;

ShapeGrouping shapes() { return test_support::search_fixture_shapes(); }

Contender contender(std::int64_t id, const std::string& source) {
  return {id, fake_solution("c" + std::to_string(id), kSearchDefinition, source)};
}

TEST(SearchNoiseRuleTest, AWinMustExceedTheNoiseAndTheMinimumGain) {
  // Two workloads, the candidate 2x faster on both: speedup 2; noise (1 + 2) / 100 per workload.
  const Timings best = {{"a", {100, 2}}, {"b", {200, 4}}};
  const Timings fast = {{"a", {50, 1}}, {"b", {100, 2}}};
  auto v = compare_timings(fast, best, 0.02);
  EXPECT_TRUE(v.wins);
  EXPECT_DOUBLE_EQ(v.speedup, 2.0);
  EXPECT_DOUBLE_EQ(v.noise, 0.03);
  EXPECT_DOUBLE_EQ(v.candidate_us, 75);
  EXPECT_DOUBLE_EQ(v.other_us, 150);
  EXPECT_EQ(v.workloads, 2);
  // 2.5% faster: beyond the 2% minimum gain but within the 3% noise.
  const Timings slightly = {{"a", {100 / 1.025, 1}}, {"b", {200 / 1.025, 2}}};
  v = compare_timings(slightly, best, 0.02);
  EXPECT_FALSE(v.wins);
  EXPECT_DOUBLE_EQ(v.threshold, 0.03);
  // Noise zero: the minimum gain decides.
  const Timings quiet_best = {{"a", {100, 0}}};
  EXPECT_TRUE(compare_timings({{"a", {97, 0}}}, quiet_best, 0.02).wins);
  EXPECT_FALSE(compare_timings({{"a", {99, 0}}}, quiet_best, 0.02).wins);
  // A workload only one side passed is a loss.
  EXPECT_FALSE(compare_timings({{"a", {1, 0}}}, best, 0.02).wins);
  EXPECT_FALSE(compare_timings(fast, {{"a", {100, 0}}}, 0.02).wins);
  EXPECT_FALSE(compare_timings({}, {}, 0.02).wins);
}

TEST(SearchPromotionTest, TheFirstVerifiedCandidateBecomesTheBest) {
  FakeJudge judge;
  const auto out = verify_and_promote(judge, shapes(), contender(1, "// LATENCY 100\n"), std::nullopt, 99, 0.02, 1);
  EXPECT_TRUE(out.promoted);
  ASSERT_TRUE(out.event);
  EXPECT_EQ(out.event->candidate_id, 1);
  EXPECT_FALSE(out.event->previous_id);
  EXPECT_EQ(out.event->shape_group, "");
  EXPECT_DOUBLE_EQ(out.event->latency_us, 100);
  EXPECT_EQ(out.candidate_rows.size(), 3u);  // every workload
  EXPECT_EQ(out.candidate_rows[0].stage, "verify");
  EXPECT_EQ(out.candidate_rows[0].seed, 99);
  EXPECT_TRUE(out.best_rows.empty());
}

TEST(SearchPromotionTest, OnlyAWinBeyondTheNoiseIsPromoted) {
  FakeJudge judge;
  const auto best = contender(1, "// LATENCY 100\n");
  // Spreads are 1% of each latency: noise about 2%, minimum gain 2%.
  auto out = verify_and_promote(judge, shapes(), contender(2, "// LATENCY 99\n"), best, 7, 0.02, 1);
  EXPECT_FALSE(out.promoted);
  EXPECT_EQ(out.tag, "slower");
  EXPECT_EQ(out.best_rows.size(), 3u);  // the best was re-timed on the same seeds
  EXPECT_EQ(out.best_rows[0].seed, 7);
  out = verify_and_promote(judge, shapes(), contender(3, "// LATENCY 50\n"), best, 7, 0.02, 1);
  EXPECT_TRUE(out.promoted);
  EXPECT_EQ(out.event->previous_id, 1);
  EXPECT_DOUBLE_EQ(*out.event->previous_latency_us, 100);
  EXPECT_NE(out.reason.find("x2.000 > 1 + "), std::string::npos) << out.reason;
}

TEST(SearchPromotionTest, FailingOnNewSeedsIsNotPromoted) {
  FakeJudge judge;
  const auto out = verify_and_promote(judge, shapes(), contender(2, "// LATENCY 10\n// WRONG_AT_VERIFY\n"),
                                      contender(1, "// LATENCY 100\n"), 7, 0.02, 1);
  EXPECT_FALSE(out.promoted);
  EXPECT_EQ(out.tag, "incorrect");
  EXPECT_EQ(out.tag_group, "batch_size 1");
  EXPECT_TRUE(out.best_rows.empty());  // no need to time the best
  // A best that fails the new seeds loses to a candidate that passes them, whatever the timings.
  const auto won = verify_and_promote(judge, shapes(), contender(3, "// LATENCY 120\n"),
                                      contender(1, "// LATENCY 100\n// WRONG_AT_VERIFY\n"), 7, 0.02, 1);
  EXPECT_TRUE(won.promoted);
  EXPECT_NE(won.reason.find("failed re-verification"), std::string::npos);
}

TEST(SearchPromotionTest, ARegressionCheckRollsBackOnlyWhenThePreviousNowWins) {
  FakeJudge judge;
  const auto best = contender(2, "// LATENCY 50\n"), previous = contender(1, "// LATENCY 100\n");
  auto kept = regression_check(judge, shapes(), "", best, previous, 3, 0.02, 1);
  EXPECT_FALSE(kept.rollback);
  EXPECT_EQ(kept.best_rows.size(), 3u);
  EXPECT_EQ(kept.previous_rows.size(), 3u);
  EXPECT_EQ(kept.best_rows[0].stage, "regression");
  // The best has become slow (its timing was an accident of the moment): back to the previous.
  judge.adjust = [](const Solution& s, Stage stage, double us) { return s.name == "c2" && stage == Stage::kRegression ? 400 : us; };
  auto back = regression_check(judge, shapes(), "", best, previous, 3, 0.02, 1);
  EXPECT_TRUE(back.rollback);
  ASSERT_TRUE(back.event);
  EXPECT_EQ(back.event->event, "rollback");
  EXPECT_EQ(back.event->candidate_id, 1);
  EXPECT_EQ(back.event->previous_id, 2);
  EXPECT_DOUBLE_EQ(*back.event->previous_latency_us, 400);
  // A best that fails the gate on new seeds is rolled back too.
  judge.adjust = {};
  auto broken = regression_check(judge, shapes(), "", contender(2, "// WRONG_ON 901e\n"), previous, 3, 0.02, 1);
  EXPECT_TRUE(broken.rollback);
  EXPECT_NE(broken.reason.find("failed the gate"), std::string::npos);
}

// The best got slow on batch_size 2 (one workload) only: that group rolls back, batch_size 1
// holds, and a group's check times only the group's workloads.
TEST(SearchPromotionTest, AGroupsRegressionCheckDecidesOnItsOwnWorkloads) {
  FakeJudge judge;
  const auto best = contender(2, "// LATENCY 50\n// LATENCY_ON 5ea4 400\n"), previous = contender(1, "// LATENCY 100\n");
  const auto holds = regression_check(judge, shapes(), "batch_size 1", best, previous, 3, 0.02, 1);
  EXPECT_FALSE(holds.rollback);
  EXPECT_EQ(holds.best_rows.size(), 2u);
  EXPECT_EQ(holds.previous_rows.size(), 2u);
  EXPECT_NE(holds.reason.find("regression check on batch_size 1: the best (c2) holds"), std::string::npos) << holds.reason;
  const auto back = regression_check(judge, shapes(), "batch_size 2", best, previous, 3, 0.02, 1);
  EXPECT_TRUE(back.rollback);
  ASSERT_EQ(back.best_rows.size(), 1u);
  EXPECT_EQ(back.best_rows[0].workload.substr(0, 4), "5ea4");
  EXPECT_EQ(back.best_rows[0].stage, "regression");
  ASSERT_TRUE(back.event);
  EXPECT_EQ(back.event->shape_group, "batch_size 2");
  EXPECT_EQ(back.event->candidate_id, 1);
  EXPECT_EQ(back.event->previous_id, 2);
  EXPECT_DOUBLE_EQ(back.event->latency_us, 100);
  EXPECT_DOUBLE_EQ(*back.event->previous_latency_us, 400);
  try {
    regression_check(judge, shapes(), "batch_size 9", best, previous, 3, 0.02, 1);
    ADD_FAILURE() << "checked a group that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("regression check on shape group 'batch_size 9'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a group of gdn_decode_qk4_v8_d128_k_last"), std::string::npos) << e.what();
  }

  // Rows timed on every workload decide each group on its own rows, as a group's check would.
  const auto whole = regression_check(judge, shapes(), "", best, previous, 3, 0.02, 1);
  EXPECT_EQ(whole.best_rows.size(), 3u);
  EXPECT_TRUE(whole.rollback);  // (50 + 50 + 400) / 3 us against 100
  const auto g1 = regression_verdict(shapes(), "batch_size 1", 2, 1, whole.best_rows, whole.previous_rows, 0.02, 1);
  EXPECT_FALSE(g1.rollback);
  EXPECT_EQ(g1.best_rows.size(), 2u);
  const auto g2 = regression_verdict(shapes(), "batch_size 2", 2, 1, whole.best_rows, whole.previous_rows, 0.02, 1);
  EXPECT_TRUE(g2.rollback);
  EXPECT_EQ(g2.event->shape_group, "batch_size 2");
}

store::BestEvent history_event(const std::string& group, const std::string& kind, std::int64_t id,
                               std::optional<std::int64_t> previous) {
  store::BestEvent e;
  e.shape_group = group;
  e.event = kind;
  e.candidate_id = id;
  e.previous_id = previous;
  return e;
}

TEST(SearchPromotionTest, RegressionPairsAreEachBestAndWhatItsLatestPromotionReplaced) {
  const auto best = [](const std::string& group, std::int64_t id) {
    store::BestRecord b;
    b.shape_group = group;
    b.candidate_id = id;
    return b;
  };
  const std::vector<store::BestEvent> history = {
      history_event("", "promote", 1, std::nullopt),      history_event("g1", "promote", 1, std::nullopt),
      history_event("g2", "promote", 1, std::nullopt),    history_event("g3", "promote", 1, std::nullopt),
      history_event("", "promote", 3, 1),                 history_event("g1", "promote", 3, 1),
      history_event("g2", "promote", 2, 1),               history_event("g2", "promote", 4, 2),
      history_event("g2", "rollback", 2, 4)};
  // g2 is back to c2 (its check pairs c2 with c1, which c2's promotion replaced); g3 has only its first best.
  const auto pairs = regression_pairs({best("g1", 3), best("g2", 2), best("", 3), best("g3", 1)}, history);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].group, "");
  EXPECT_EQ(pairs[0].best_id, 3);
  EXPECT_EQ(pairs[0].previous_id, 1);
  EXPECT_EQ(pairs[1].group, "g1");
  EXPECT_EQ(pairs[1].best_id, 3);
  EXPECT_EQ(pairs[2].group, "g2");
  EXPECT_EQ(pairs[2].best_id, 2);
  EXPECT_EQ(pairs[2].previous_id, 1);
  EXPECT_TRUE(regression_pairs({best("", 1)}, history).empty());
}

store::EvaluationRecord full_row(const std::string& workload, const std::string& group, double us) {
  store::EvaluationRecord r;
  r.stage = "full";
  r.workload = workload;
  r.shape_group = group;
  r.status = "PASSED";
  r.latency_us = us;
  r.spread_us = us / 100;
  return r;
}

TEST(SearchPromotionTest, GroupBestsGoToWhoeverWinsOnTheGroup) {
  const auto g = shapes();
  const std::string w1 = "901e5104-dccb-4c3f-ae13-ef4d31a4d456", w2 = "a5714b69-525c-4b95-bb7a-a0f9770c2f48",
                    w3 = "5ea4c400-2b1d-4d1e-9a51-0e3a1c7f2b02";
  const std::vector<store::EvaluationRecord> mine = {full_row(w1, "batch_size 1", 50), full_row(w2, "batch_size 1", 50),
                                                     full_row(w3, "batch_size 2", 300)};
  const std::vector<store::EvaluationRecord> theirs = {full_row(w1, "batch_size 1", 100),
                                                       full_row(w2, "batch_size 1", 100),
                                                       full_row(w3, "batch_size 2", 100)};
  // Faster on batch_size 1 only.
  auto events = group_promotions(g, 2, mine, {{"batch_size 1", {1, theirs}}, {"batch_size 2", {1, theirs}}}, 0.02, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].shape_group, "batch_size 1");
  EXPECT_EQ(events[0].candidate_id, 2);
  EXPECT_EQ(events[0].previous_id, 1);
  EXPECT_DOUBLE_EQ(events[0].latency_us, 50);
  // Groups without a best go to the first full-gate pass.
  events = group_promotions(g, 2, mine, {}, 0.02, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].reason, "first full-gate pass on this group");
  // A best timed on other workloads (another dataset) cannot be compared: the candidate takes it.
  const std::vector<store::EvaluationRecord> elsewhere = {full_row("other", "batch_size 2", 1)};
  events = group_promotions(g, 2, mine, {{"batch_size 1", {1, theirs}}, {"batch_size 2", {1, elsewhere}}}, 0.02, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].reason, "the group's best was timed on other workloads");
  // The group's best already.
  EXPECT_TRUE(group_promotions(g, 2, mine, {{"batch_size 1", {2, mine}}, {"batch_size 2", {2, mine}}}, 0.02, 1).empty());
}

}  // namespace
}  // namespace kforge::search
