// Killing a writer at any point loses at most the candidate in flight: a forked child writes
// candidates, stage rows, summaries and promotions in a loop (resuming its pending candidate first,
// as a resumed search does) and is SIGKILLed at random moments; after each kill the reopened store
// passes SQLite's integrity and foreign-key checks and the search's invariants.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "common/exploit_staging.h"
#include "store/store.h"

namespace kforge::store {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-store-crash-test");

std::vector<EvaluationRecord> stage_rows(const std::string& stage) {
  std::vector<EvaluationRecord> rows;
  for (int w = 0; w < 3; ++w) {
    EvaluationRecord r;
    r.stage = stage;
    r.workload = "w" + std::to_string(w);
    r.shape_group = "g";
    r.status = "PASSED";
    r.latency_us = 10.0 + w;
    r.spread_us = 0.1;
    r.log = std::string(2000, 'x');  // rows of some size, so kills land inside writes too
    rows.push_back(r);
  }
  return rows;
}

// One candidate's whole life: registered with its files, two stages of rows, completed (every
// third one promoted over the current best).
void evaluate(Store& st, std::int64_t run, std::int64_t id, int step) {
  st.add_evaluations(id, stage_rows("quick"));
  st.add_evaluations(id, stage_rows("timing"));
  SummaryRecord s;
  s.stage = "timing";
  s.changed = "step " + std::to_string(step);
  s.text = "done";
  const bool promote = step % 3 == 0;
  s.outcome = {{"promoted", promote}};
  std::vector<BestEvent> events;
  if (promote) {
    BestEvent e;
    e.definition = "d";
    e.event = "promote";
    e.candidate_id = id;
    if (auto b = st.best("d")) e.previous_id = b->candidate_id;
    e.latency_us = 100.0 / step;
    e.reason = "faster";
    e.run_id = run;
    events.push_back(e);
  }
  st.complete_candidate(id, s, 0.01, events);
}

[[noreturn]] void writer(const fs::path& file) {
  try {
    Store st(file);
    std::int64_t run = 1;
    if (st.runs().empty()) {
      RunRecord r;
      r.definition = "d";
      r.generator = "agent";
      run = st.create_run(r);
    }
    int step = 1;
    for (const auto& cs : st.run_candidates(run)) {
      step = std::max(step, cs.candidate.step + 1);
      if (cs.candidate.state == "pending") {  // the one in flight at the last kill
        st.discard_partial(cs.candidate.id);
        evaluate(st, run, cs.candidate.id, cs.candidate.step);
      }
    }
    for (;; ++step) {
      CandidateRecord c;
      c.run_id = run;
      c.step = step;
      c.definition = "d";
      c.name = "candidate";
      c.generator = "agent";
      c.content_hash = std::to_string(step);
      c.solution = Json::object();
      c.files = {{"a.cpp", std::string(3000, 'a')}, {"b.h", std::string(3000, 'b')}};
      evaluate(st, run, st.add_candidate(c), step);
    }
  } catch (...) {
    ::_exit(3);
  }
}

std::int64_t scalar(Store& st, const std::string& sql) {
  auto q = st.db().prepare(sql);
  q.step();
  return q.int64(0);
}

TEST(StoreCrashTest, KillingAWriterAtRandomMomentsLeavesAConsistentStore) {
  const fs::path file = g_scratch / "crash.db";
  std::mt19937 rng(20261124);
  std::uniform_int_distribution<int> delay_ms(5, 120);
  std::int64_t last_count = 0;
  for (int kill = 0; kill < 8; ++kill) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) writer(file);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself (exit " << WEXITSTATUS(status) << ")";

    Store st(file);
    ASSERT_EQ(st.integrity_check(), "ok") << "kill " << kill;
    auto fk = st.db().prepare("PRAGMA foreign_key_check");
    EXPECT_FALSE(fk.step()) << "kill " << kill;
    // Every evaluation's candidate exists; no candidate without its files; done <=> summarized.
    EXPECT_EQ(scalar(st, "SELECT COUNT(*) FROM evaluations WHERE candidate_id NOT IN (SELECT id FROM candidates)"), 0);
    EXPECT_EQ(scalar(st, "SELECT COUNT(*) FROM candidates c WHERE (SELECT COUNT(*) FROM candidate_files f "
                         "WHERE f.candidate_id = c.id) != 2"),
              0);
    EXPECT_EQ(scalar(st, "SELECT COUNT(*) FROM candidates c WHERE (c.state = 'done') != EXISTS (SELECT 1 FROM "
                         "summaries s WHERE s.candidate_id = c.id)"),
              0);
    // At most the candidate in flight is incomplete.
    EXPECT_LE(scalar(st, "SELECT COUNT(*) FROM candidates WHERE state = 'pending'"), 1);
    // Steps are 1..n without a gap.
    const std::int64_t count = scalar(st, "SELECT COUNT(*) FROM candidates");
    EXPECT_EQ(scalar(st, "SELECT COALESCE(MAX(step), 0) FROM candidates"), count);
    EXPECT_GE(count, last_count);
    last_count = count;
    // The best is a completed, promoted candidate whose every row passed, and the last promotion.
    if (auto best = st.best("d")) {
      const auto c = st.candidate(best->candidate_id);
      ASSERT_TRUE(c);
      EXPECT_EQ(c->state, "done");
      EXPECT_TRUE(st.summary(c->id)->outcome.value("promoted", false));
      const auto rows = st.evaluations(c->id);
      EXPECT_EQ(rows.size(), 6u);
      for (const auto& r : rows) EXPECT_EQ(r.status, "PASSED");
      EXPECT_EQ(st.best_history("d").back().candidate_id, c->id);
    }
  }
  EXPECT_GT(last_count, 0);  // the writers got somewhere
}

}  // namespace
}  // namespace kforge::store
