// The loop in-process with a fake judge and a shell agent: each step's candidate is stored with
// its tag, the faster one is promoted, the regression check at the end rolls it back when it has
// become slow, later tasks carry earlier errors, patience stops a run, a finished run resumes to
// nothing new.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "common/exploit_staging.h"
#include "common/fake_judge.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "tuner/tune_header.h"
#include "search/search_loop.h"

namespace kforge::search {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-search-loop-test");

// Step 1 halves the latency, 2 breaks the build, 3 sleeps (a forbidden call), later ones do nothing.
const char* kAgent =
    "case $KFORGE_STEP in "
    "1) sed -i 's/LATENCY 100/LATENCY 50/' solution/k.cpp; echo 'Halve the latency' > PLAN.md;; "
    "2) echo '// BROKEN' >> solution/k.cpp;; "
    "3) echo 'void f() { sleep(1); }' >> solution/k.cpp;; "
    "esac";

SearchConfig config(const fs::path& dir) {
  const fs::path seed = dir / "seed";
  fs::create_directories(seed);
  write_file_atomic(seed / "k.cpp", "// LATENCY 100\nint run();\n");
  write_file_atomic(seed / "solution.json",
                    Json{{"name", "seed"}, {"definition", test_support::kSearchDefinition}, {"author", "test"},
                         {"spec", {{"language", "cpp"}, {"target_hardware", {"cpu"}}, {"entry_point", "k.cpp::run"}}},
                         {"sources", {{{"path", "k.cpp"}}}}}
                        .dump());
  SearchConfig c;
  c.data = fs::path(KFORGE_SOURCE_DIR) / "tests/search/fixtures/dataset";
  c.definition = test_support::kSearchDefinition;
  c.solution = seed;
  c.run_dir = dir / "run";
  c.agent_cmd = kAgent;
  c.agent_timeout_seconds = 30;
  c.budget.max_candidates = 4;
  c.regression_every = 0;
  c.seed = 3;
  return c;
}

// The judge a run gets: the test's, which outlives the run; `fail_after` evaluations, the next
// one throws (as if the process died there).
struct Borrowed : Judge {
  Judge& judge;
  int fail_after;
  explicit Borrowed(Judge& j, int fail = -1) : judge(j), fail_after(fail) {}
  BuildResult build(const Solution& s) override { return judge.build(s); }
  std::vector<WorkloadResult> evaluate(const SolutionDir& s, const std::vector<const Located<Trace>*>& w, Stage st,
                                       std::uint64_t seed) override {
    if (fail_after-- == 0) throw Error("killed");
    return judge.evaluate(s, w, st, seed);
  }
};

std::map<int, store::CandidateSummary> steps_of(store::Store& st, std::int64_t run) {
  std::map<int, store::CandidateSummary> out;
  for (auto& cs : st.run_candidates(run)) out[cs.candidate.step] = cs;
  return out;
}

// A step faster on batch_size 2 only (slower on the representatives overall) becomes that
// group's best but not the definition's; when it later turns slow there, the regression check at
// the end of the run re-times it beside the seed on that group's one workload and rolls the group
// back.
TEST(SearchLoopTest, AGroupsBestIsRolledBackOnItsOwnWorkloads) {
  const fs::path dir = g_scratch / "group-rollback";
  store::Store st(dir / "kforge.db");
  test_support::FakeJudge judge;
  judge.adjust = [](const Solution& s, Stage stage, double us) {
    return stage == Stage::kRegression && test_support::has_marker(s, "LATENCY_ON") ? 400.0 : us;
  };
  SearchConfig c = config(dir);
  c.agent_cmd = "printf '// LATENCY 150\\n// LATENCY_ON 5ea4 50\\n' > solution/k.cpp";
  c.budget.max_candidates = 1;  // the check at the end of the run: a group's best changed
  SearchEnvironment env;
  env.make_judge = [&](int, int) { return std::unique_ptr<Judge>(new Borrowed(judge)); };
  const auto run = start_search(st, c, env);
  const auto steps = steps_of(st, run);
  ASSERT_EQ(steps.size(), 2u);
  const auto seed_id = steps.at(0).candidate.id, step_id = steps.at(1).candidate.id;
  EXPECT_FALSE(steps.at(1).summary->outcome.value("promoted", true));

  std::vector<std::string> group2;
  for (const auto& e : st.best_history(test_support::kSearchDefinition)) {
    if (e.shape_group == "batch_size 2") group2.push_back(e.event + " c" + std::to_string(e.candidate_id));
  }
  EXPECT_EQ(group2, (std::vector<std::string>{"promote c" + std::to_string(seed_id), "promote c" + std::to_string(step_id),
                                              "rollback c" + std::to_string(seed_id)}));
  EXPECT_EQ(st.best(test_support::kSearchDefinition, "batch_size 2")->candidate_id, seed_id);
  EXPECT_EQ(st.best(test_support::kSearchDefinition, "batch_size 1")->candidate_id, seed_id);
  EXPECT_EQ(st.best(test_support::kSearchDefinition)->candidate_id, seed_id);
  const auto rows = st.evaluations(step_id, "regression");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].shape_group, "batch_size 2");
  EXPECT_EQ(st.evaluations(seed_id, "regression").size(), 1u);
}

TEST(SearchLoopTest, TagsPromotionRollbackMemoryAndStops) {
  const fs::path dir = g_scratch / "loop";
  store::Store st(dir / "kforge.db");
  test_support::FakeJudge judge;
  // At the final regression check the promoted kernel (LATENCY 50) has become slow.
  judge.adjust = [](const Solution& s, Stage stage, double us) {
    return stage == Stage::kRegression && test_support::marker_value(s, "LATENCY ") == "50" ? 400.0 : us;
  };
  std::vector<std::string> lines;
  SearchEnvironment env;
  env.progress = [&](const std::string& l) { lines.push_back(l); };
  env.make_judge = [&](int, int) { return std::unique_ptr<Judge>(new Borrowed(judge)); };
  const auto run = start_search(st, config(dir), env);
  EXPECT_EQ(st.run(run)->stop_reason, "max candidates (4)");
  auto steps = steps_of(st, run);
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_TRUE(steps[0].summary->outcome.value("promoted", false));
  EXPECT_TRUE(steps[1].summary->outcome.value("promoted", false));
  EXPECT_EQ(steps[1].summary->tag, "");
  EXPECT_EQ(steps[1].candidate.plan, "Halve the latency\n");
  EXPECT_EQ(steps[2].summary->tag, "compile_error");
  EXPECT_EQ(steps[3].summary->tag, "scan");
  EXPECT_NE(steps[3].summary->outcome.value("message", "").find("k.cpp:3: sleep (timer)"), std::string::npos);
  EXPECT_EQ(steps[4].summary->tag, "no_change");
  EXPECT_TRUE(st.evaluations(steps[4].candidate.id).empty());

  // Promoted, then rolled back by the regression check at the end.
  const auto seed_id = steps[0].candidate.id, fast_id = steps[1].candidate.id;
  std::vector<std::string> overall;
  for (const auto& e : st.best_history(test_support::kSearchDefinition)) {
    if (e.shape_group.empty()) overall.push_back(e.event + " c" + std::to_string(e.candidate_id));
  }
  EXPECT_EQ(overall, (std::vector<std::string>{"promote c" + std::to_string(seed_id), "promote c" + std::to_string(fast_id),
                                               "rollback c" + std::to_string(seed_id)}));
  EXPECT_EQ(st.best(test_support::kSearchDefinition)->candidate_id, seed_id);
  // Each group's best was the same pair: decided on the same rows, no second timing.
  for (const std::string group : {"batch_size 1", "batch_size 2"}) {
    EXPECT_EQ(st.best(test_support::kSearchDefinition, group)->candidate_id, seed_id) << group;
    std::string last;
    for (const auto& e : st.best_history(test_support::kSearchDefinition)) {
      if (e.shape_group == group) last = e.event + " c" + std::to_string(e.candidate_id);
    }
    EXPECT_EQ(last, "rollback c" + std::to_string(seed_id)) << group;
  }
  EXPECT_EQ(st.evaluations(fast_id, "regression").size(), 3u);
  EXPECT_EQ(st.evaluations(seed_id, "regression").size(), 3u);
  EXPECT_NE(std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("ROLLBACK", 0) == 0; }),
            lines.end());

  // Step 3's agent read step 2's compile error, and the seed and step 2 among earlier attempts
  // (its parent, the best, is the task's subject, not an earlier attempt).
  const std::string task = read_text_file(dir / "run/steps/step-3/TASK.md");
  EXPECT_NE(task.find("compile_error (stage build)"), std::string::npos) << task;
  EXPECT_NE(task.find("k.cpp:1:1: error: BROKEN"), std::string::npos) << task;
  EXPECT_NE(task.find("## The parent: c" + std::to_string(fast_id)), std::string::npos) << task;
  EXPECT_NE(task.find("Plan: Halve the latency"), std::string::npos) << task;
  EXPECT_NE(task.find("- c" + std::to_string(seed_id) + " (success, seed;"), std::string::npos) << task;
  EXPECT_NE(task.find("(failure: compile_error, agent;"), std::string::npos) << task;
  EXPECT_EQ(task.find("- c" + std::to_string(fast_id) + " ("), std::string::npos) << task;

  // A finished run resumes to nothing new.
  resume_search(st, run, env);
  EXPECT_EQ(st.run_candidates(run).size(), 5u);
  EXPECT_EQ(st.run(run)->status, "finished");

  // Patience: a second run whose agent changes nothing stops after one candidate without a promotion.
  SearchConfig idle = config(dir / "idle");
  idle.agent_cmd = "true";
  idle.budget.patience = 1;
  const auto second = start_search(st, idle, env);
  EXPECT_EQ(st.run(second)->stop_reason, "no promotion in the last 1 candidates");
  const auto idle_steps = steps_of(st, second);
  ASSERT_EQ(idle_steps.size(), 2u);
  EXPECT_EQ(idle_steps.at(0).summary->tag, "slower");  // the same kernel as the best: no win
  EXPECT_EQ(idle_steps.at(1).summary->tag, "no_change");
}

// The fake latency of a tests/solutions_tunable/gdn_decode_tunable_cpp configuration: REPEAT times
// the chunks per (sequence, head) pairs of 8; the best is REPEAT=1, HEADS_PER_CHUNK=8.
double tunable_latency(const Solution& s, Stage, double) {
  for (const auto& src : s.sources) {
    if (src.path != "kforge_tune.h") continue;
    return 100.0 * static_cast<double>(tuner::read_define(src.content, "REPEAT")) * 8.0 /
           static_cast<double>(tuner::read_define(src.content, "HEADS_PER_CHUNK"));
  }
  return 0.0;
}

SearchConfig tune_config(const fs::path& dir) {
  SearchConfig c = config(dir);
  c.generator = "tune";
  c.solution = test_support::stage_with_shared_impl(
      {fs::path(KFORGE_SOURCE_DIR) / "tests/solutions_tunable/gdn_decode_tunable_cpp"}, dir / "tunable");
  c.strategy.name = "halving";
  c.strategy.eta = 3;
  c.strategy.rungs = 2;
  c.budget.max_candidates = 20;
  return c;
}

// With two evaluation slots (--jobs 2) each rung's trials spread over both judges, and the run
// ends as the one-slot run does: the same configurations, the same winner promoted.
TEST(SearchLoopTest, ATunerRunSpreadsEachRungOverTheSlots) {
  const fs::path dir = g_scratch / "tune-jobs";
  store::Store st(dir / "kforge.db");
  SearchConfig c = tune_config(dir);
  c.jobs = 2;
  std::array<test_support::FakeJudge, 2> judges;  // one per slot: a FakeJudge is not shared across threads
  for (auto& j : judges) j.adjust = tunable_latency;
  SearchEnvironment env;
  env.make_judge = [&](int slot, int slots) {
    EXPECT_EQ(slots, 2);
    return std::unique_ptr<Judge>(new Borrowed(judges.at(static_cast<std::size_t>(slot))));
  };
  start_search(st, c, env);
  EXPECT_EQ(st.run(1)->stop_reason,
            "tuner finished: 9 trials over 7 configurations, winner REPEAT=1,HEADS_PER_CHUNK=8");
  for (const auto& j : judges) {
    const auto timing = std::count_if(j.calls.begin(), j.calls.end(),
                                      [](const auto& call) { return call.second == Stage::kTiming; });
    EXPECT_GE(timing, 1);  // both slots ran rung-0 trials
  }
  const auto best = st.best(test_support::kSearchDefinition);
  ASSERT_TRUE(best);
  EXPECT_EQ(st.candidate(best->candidate_id)->plan, "REPEAT=1,HEADS_PER_CHUNK=8");
  EXPECT_EQ(st.run_candidates(1).size(), 8u);  // the seed and 7 configurations, each once
}

TEST(SearchLoopTest, ATunerRunResumesWithoutEvaluatingItsTrialsAgain) {
  const fs::path dir = g_scratch / "tune";
  store::Store st(dir / "kforge.db");
  const SearchConfig c = tune_config(dir);
  test_support::FakeJudge judge;
  judge.adjust = tunable_latency;
  SearchEnvironment env;
  // The seed takes four evaluations (quick, timing, full, verify), then three rung-0 trials pass;
  // the fourth trial's evaluation never returns.
  env.make_judge = [&](int, int) { return std::unique_ptr<Judge>(new Borrowed(judge, 7)); };
  EXPECT_THROW(start_search(st, c, env), Error);
  EXPECT_EQ(st.run(1)->status, "running");
  const auto before = st.run_candidates(1);
  ASSERT_EQ(before.size(), 5u);
  EXPECT_EQ(before.back().candidate.state, "pending");

  judge.calls.clear();
  env.make_judge = [&](int, int) { return std::unique_ptr<Judge>(new Borrowed(judge)); };
  resume_search(st, 1, env);
  // Trials already stored were read back, not evaluated again.
  for (std::size_t i = 1; i < 4; ++i) {
    for (const auto& [name, stage] : judge.calls) {
      EXPECT_FALSE(name == before[i].candidate.name && stage == Stage::kTiming) << name;
    }
  }
  const auto after = st.run_candidates(1);
  ASSERT_EQ(after.size(), 8u);  // the seed and the 7 other configurations, each once
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i].candidate.id, before[i].candidate.id);
  const auto best = st.best(test_support::kSearchDefinition);
  ASSERT_TRUE(best);
  EXPECT_EQ(st.candidate(best->candidate_id)->plan, "REPEAT=1,HEADS_PER_CHUNK=8");
  EXPECT_EQ(st.run(1)->stop_reason,
            "tuner finished: 9 trials over 7 configurations, winner REPEAT=1,HEADS_PER_CHUNK=8");
  int slower = 0;
  for (const auto& cs : after) slower += cs.summary && cs.summary->tag == "slower";
  EXPECT_EQ(slower, 6);  // every configuration but the winner
}

}  // namespace
}  // namespace kforge::search
