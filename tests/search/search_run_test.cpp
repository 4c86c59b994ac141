// The search loop end to end on the CPU backend, through the kforge binary:
//  - a scripted agent (scripted_agent.sh: a compile error, a wrong result, a slower kernel, a
//    faster one) drives a run on two evaluation slots; the run is SIGKILLed while candidates are
//    in flight and resumed; the store then holds every candidate with its tag, and only the
//    faster one was promoted; `kforge db` and `kforge report` read the store;
//  - the tuner's CPU test solution is tuned through the loop: the known best configuration wins
//    with fewer workload evaluations than the grid would take, and is promoted.
// The dataset is tests/search/fixtures/dataset (three small gdn_decode workloads, two shape
// groups). Timing differences are designed in (the slower kernel does 4x the seed's work, the
// faster 1/8; the tunable solution's parameters about 2x between neighbours), far beyond the noise.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/exploit_staging.h"
#include "common/kforge_cli.h"
#include "store/store.h"
#include "trace/dataset.h"

namespace kforge {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-search-test");
const fs::path g_source = KFORGE_SOURCE_DIR;
const fs::path g_dataset = g_source / "tests/search/fixtures/dataset";
const std::string kDef = "gdn_decode_qk4_v8_d128_k_last";

// Starts kforge with `args`, output to `log`; a build cache shared by the test's runs.
pid_t spawn_kforge(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setenv("KFORGE_CACHE", (fs::temp_directory_path() / "kforge-search-test-cache").c_str(), 1);
    std::vector<std::string> all{test_support::kforge_binary().string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit status, or -1 when it did not exit normally.
int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_kforge(const std::vector<std::string>& args, const fs::path& log) { return wait_exit(spawn_kforge(args, log)); }

std::string read_file(const fs::path& p) { return fs::exists(p) ? read_text_file(p) : std::string(); }

std::vector<std::string> search_args(const fs::path& seed, const fs::path& db) {
  return {"search", "--data", g_dataset.string(), "-s", seed.string(), "--db", db.string(), "--agent-cmd",
          (g_source / "tests/search/scripted_agent.sh").string(), "--max-candidates", "4", "--trials", "2", "--warmup",
          "0", "--iterations", "3", "--timing-trials", "2", "--warm-cache", "--seed", "7", "--jobs", "2"};
}

std::map<int, store::CandidateSummary> by_step(store::Store& st, std::int64_t run) {
  std::map<int, store::CandidateSummary> out;
  for (auto& cs : st.run_candidates(run)) {
    EXPECT_FALSE(out.count(cs.candidate.step)) << "step " << cs.candidate.step << " twice";
    out[cs.candidate.step] = cs;
  }
  return out;
}

bool promoted(const store::CandidateSummary& cs) {
  return cs.summary && cs.summary->outcome.value("promoted", false);
}

std::vector<std::string> statuses(store::Store& st, std::int64_t id, const std::string& stage) {
  std::vector<std::string> out;
  for (const auto& r : st.evaluations(id, stage)) out.push_back(r.status);
  return out;
}

TEST(SearchRun, ScriptedAgentKilledAndResumedPromotesOnlyTheFasterKernel) {
  const fs::path dir = g_scratch / "agent";
  const fs::path seed = test_support::stage_with_shared_impl({g_source / "tests/search/seed_solution"}, dir / "seed");
  const fs::path db = dir / "kforge.db", log = dir / "search.log";

  // Kill the run once the third candidate is registered: candidates are then in flight.
  const pid_t pid = spawn_kforge(search_args(seed, db), log);
  std::map<std::int64_t, std::string> before;  // id -> content hash, as first registered
  std::vector<std::int64_t> pending;           // in flight at the kill
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) break;  // ended on its own: reported below
    if (fs::exists(db)) {
      store::Store st(db);
      const auto cands = st.runs().empty() ? std::vector<store::CandidateSummary>{} : st.run_candidates(1);
      if (cands.size() >= 3) {
        ::kill(pid, SIGKILL);
        wait_exit(pid);
        killed = true;
        for (const auto& cs : st.run_candidates(1)) {
          before[cs.candidate.id] = cs.candidate.content_hash;
          if (cs.candidate.state == "pending") pending.push_back(cs.candidate.id);
        }
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(killed) << read_file(log);
  {
    store::Store st(db);
    EXPECT_EQ(st.integrity_check(), "ok");
    EXPECT_EQ(st.run(1)->status, "running");
  }

  ASSERT_EQ(run_kforge({"search", "--db", db.string(), "--resume", "1"}, log), 0) << read_file(log);
  store::Store st(db);
  EXPECT_EQ(st.integrity_check(), "ok");
  ASSERT_EQ(st.runs().size(), 1u);
  const auto run = *st.run(1);
  EXPECT_EQ(run.status, "finished");
  EXPECT_EQ(run.stop_reason, "max candidates (4)");
  EXPECT_EQ(run.seed, 7u);
  EXPECT_EQ(run.budget.value("max_candidates", 0), 4);

  // The candidates registered before the kill kept their ids and contents; those in flight were
  // evaluated again under their ids.
  for (const auto& [id, hash] : before) {
    auto c = st.candidate(id);
    ASSERT_TRUE(c) << id;
    EXPECT_EQ(c->content_hash, hash);
  }
  const std::string resumed = read_file(log);
  for (const auto id : pending) {
    const std::string line = fmt::format("c{}: evaluating again", id);
    EXPECT_NE(resumed.find(line), std::string::npos) << line << "\n" << resumed;
  }
  auto steps = by_step(st, 1);
  ASSERT_EQ(steps.size(), 5u);  // the seed and the four scripted steps, each once
  for (const auto& [step, cs] : steps) {
    EXPECT_EQ(cs.candidate.state, "done") << step;
    ASSERT_TRUE(cs.summary) << step;
    EXPECT_EQ(cs.candidate.files.size(), 0u);  // lists leave files out; candidate() has them
    EXPECT_EQ(st.candidate(cs.candidate.id)->files.size(), 2u) << step;
  }
  const auto& seed_c = steps.at(0);
  EXPECT_EQ(seed_c.candidate.generator, "seed");
  EXPECT_TRUE(promoted(seed_c));  // the first verified candidate
  for (int s = 1; s <= 4; ++s) {
    const auto& c = steps.at(s).candidate;
    EXPECT_EQ(c.generator, "agent");
    EXPECT_EQ(c.parents, std::vector<std::int64_t>{seed_c.candidate.id}) << s;  // nothing else was an elite yet
    EXPECT_EQ(c.agent_exit, 0) << s;
    EXPECT_TRUE(c.agent_seconds.has_value()) << s;
    EXPECT_FALSE(c.plan.empty()) << s;
  }

  // Step 1: the build failed; nothing was evaluated.
  const auto& compile = steps.at(1);
  EXPECT_EQ(compile.summary->tag, "compile_error");
  EXPECT_EQ(compile.summary->stage, "build");
  EXPECT_NE(compile.summary->outcome.value("message", "").find("error"), std::string::npos);
  EXPECT_TRUE(st.evaluations(compile.candidate.id).empty());

  // Step 2: wrong values, caught by the quick gate on the representatives.
  const auto& wrong = steps.at(2);
  EXPECT_EQ(wrong.summary->tag, "incorrect");
  EXPECT_EQ(wrong.summary->stage, "quick");
  EXPECT_TRUE(wrong.summary->tag_group == "batch_size 1" || wrong.summary->tag_group == "batch_size 2")
      << wrong.summary->tag_group;
  const auto wrong_rows = statuses(st, wrong.candidate.id, "quick");
  EXPECT_EQ(wrong_rows, (std::vector<std::string>{"INCORRECT_NUMERICAL", "INCORRECT_NUMERICAL"}));
  EXPECT_TRUE(st.evaluations(wrong.candidate.id, "timing").empty());

  // Step 3: correct but slower on the representatives: no full gate, not promoted.
  const auto& slow = steps.at(3);
  EXPECT_EQ(slow.summary->tag, "slower");
  EXPECT_EQ(slow.summary->stage, "timing");
  EXPECT_EQ(statuses(st, slow.candidate.id, "timing"), (std::vector<std::string>{"PASSED", "PASSED"}));
  EXPECT_TRUE(st.evaluations(slow.candidate.id, "full").empty());
  EXPECT_FALSE(promoted(slow));

  // Step 4: faster; full gate on every workload, re-verified on new seeds beside the best, promoted.
  const auto& fast = steps.at(4);
  EXPECT_EQ(fast.summary->tag, "");
  EXPECT_EQ(fast.summary->stage, "verify");
  EXPECT_TRUE(promoted(fast));
  EXPECT_EQ(statuses(st, fast.candidate.id, "full"), (std::vector<std::string>(3, "PASSED")));
  const auto verify = st.evaluations(fast.candidate.id, "verify");
  ASSERT_EQ(verify.size(), 3u);
  const auto full = st.evaluations(fast.candidate.id, "full");
  EXPECT_NE(verify.front().seed, full.front().seed);  // new seeds
  for (const auto& r : verify) {
    EXPECT_TRUE(r.spread_us.has_value());
    EXPECT_TRUE(r.trace.is_object());  // the evaluator's trace is kept (schema v2)
  }
  EXPECT_EQ(st.evaluations(seed_c.candidate.id, "verify").size(), 6u);  // its own, and re-timed beside step 4

  // Only the faster one was promoted; it is the best, overall and on each shape group.
  int agent_promotions = 0;
  for (int s = 1; s <= 4; ++s) agent_promotions += promoted(steps.at(s));
  EXPECT_EQ(agent_promotions, 1);
  const auto best = st.best(kDef);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->candidate_id, fast.candidate.id);
  for (const auto& g : {"batch_size 1", "batch_size 2"}) EXPECT_EQ(st.best(kDef, g)->candidate_id, fast.candidate.id) << g;
  std::vector<std::int64_t> overall;
  for (const auto& e : st.best_history(kDef)) {
    EXPECT_EQ(e.event, "promote");  // the regression check at the end kept the best
    if (e.shape_group.empty()) overall.push_back(e.candidate_id);
  }
  EXPECT_EQ(overall, (std::vector<std::int64_t>{seed_c.candidate.id, fast.candidate.id}));
  EXPECT_FALSE(st.evaluations(fast.candidate.id, "regression").empty());
  const auto lineage = st.lineage(fast.candidate.id);
  ASSERT_EQ(lineage.size(), 2u);
  EXPECT_EQ(lineage.front().candidate.id, seed_c.candidate.id);

  // What each step's agent was given.
  const std::string task = read_file(dir / "search-1/steps/step-4/TASK.md");
  for (const char* part : {"## The operator: gdn_decode_qk4_v8_d128_k_last", "Gated Delta Net", "def run(",
                           "## Shape groups", "| batch_size 1 | 2 |", "## The parent: c", "## Check a draft",
                           " eval --data "}) {
    EXPECT_NE(task.find(part), std::string::npos) << part << "\n" << task;
  }

  // The inspection verbs and the report.
  const fs::path out = dir / "db.txt";
  EXPECT_EQ(run_kforge({"db", "failures", "--db", db.string(), "--tag", "incorrect"}, out), 0);
  EXPECT_NE(read_file(out).find("c" + std::to_string(wrong.candidate.id)), std::string::npos) << read_file(out);
  EXPECT_EQ(run_kforge({"db", "best", "--db", db.string(), "--history", "--json"}, out), 0);
  EXPECT_EQ(run_kforge({"db", "lineage", std::to_string(fast.candidate.id), "--db", db.string()}, out), 0);
  EXPECT_EQ(run_kforge({"db", "candidate", std::to_string(wrong.candidate.id), "--db", db.string()}, out), 0);
  EXPECT_NE(read_file(out).find("INCORRECT_NUMERICAL"), std::string::npos);
  const fs::path page = dir / "report.html";
  EXPECT_EQ(run_kforge({"report", "--db", db.string(), "-o", page.string()}, out), 0) << read_file(out);
  const std::string html = read_file(page);
  for (const std::string& part : {std::string("<svg"), kDef, std::string("compile_error"), std::string("incorrect"),
                                 "c" + std::to_string(fast.candidate.id)}) {
    EXPECT_NE(html.find(part), std::string::npos) << part;
  }
}

TEST(SearchRun, TunerFindsTheKnownBestWithFewerEvaluationsThanTheGrid) {
  const fs::path dir = g_scratch / "tune";
  const fs::path base = test_support::stage_with_shared_impl(
      {g_source / "tests/solutions_tunable/gdn_decode_tunable_cpp"}, dir / "gdn_decode_tunable_cpp");
  const fs::path db = dir / "kforge.db", log = dir / "tune.log";
  ASSERT_EQ(run_kforge({"search", "--generator", "tune", "--strategy", "halving", "--eta", "3", "--rungs", "2", "--data",
                        g_dataset.string(), "-s", base.string(), "--db", db.string(), "--trials", "2", "--warmup", "0",
                        "--iterations", "5", "--timing-trials", "2", "--warm-cache", "--seed", "11"},
                       log),
            0)
      << read_file(log);
  store::Store st(db);
  const auto run = *st.run(1);
  EXPECT_EQ(run.status, "finished");
  EXPECT_NE(run.stop_reason.find("winner REPEAT=1,HEADS_PER_CHUNK=8"), std::string::npos) << run.stop_reason;

  // 7 configurations (3 x 3 less one the constraint forbids and the seed's own), each a candidate
  // of the tuner.
  int trial_rows = 0, tune_candidates = 0;
  std::int64_t winner = 0;
  for (const auto& cs : st.run_candidates(1)) {
    if (cs.candidate.generator != "tune") continue;
    ++tune_candidates;
    for (const auto& r : st.evaluations(cs.candidate.id)) trial_rows += r.stage == "rung0" || r.stage == "full";
    if (cs.candidate.plan == "REPEAT=1,HEADS_PER_CHUNK=8") winner = cs.candidate.id;
  }
  EXPECT_EQ(tune_candidates, 7);
  // Rung 0 on the 2 representatives for all 7, the best third on all 3 workloads: 14 + 2 x 3 = 20
  // workload evaluations, where the grid takes 7 x 3 = 21.
  EXPECT_EQ(trial_rows, 20);
  EXPECT_LT(trial_rows, 7 * 3);
  ASSERT_NE(winner, 0);
  const auto best = st.best(kDef);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->candidate_id, winner);  // promoted over the seed (the default REPEAT=2, HEADS_PER_CHUNK=2)
  EXPECT_EQ(st.evaluations(winner, "verify").size(), 3u);
}

}  // namespace
}  // namespace kforge
