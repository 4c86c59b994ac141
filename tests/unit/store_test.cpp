// The search store: what goes in comes back out, foreign keys and the one-transaction writes hold,
// the best and its history, lineage, failures by tag, resumable pending candidates.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/exploit_staging.h"
#include "core/error.h"
#include "store/migrations.h"
#include "store/store.h"

namespace kforge::store {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-store-test");

fs::path fresh_db(const std::string& name) {
  const fs::path p = g_scratch / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p;
}

std::int64_t add_run(Store& st, const std::string& definition = "def_a") {
  RunRecord r;
  r.definition = definition;
  r.generator = "agent";
  r.config = {{"agent_cmd", "./agent.sh"}};
  r.seed = 42;
  r.budget = {{"max_candidates", 5}};
  return st.create_run(r);
}

std::int64_t add_candidate(Store& st, std::int64_t run, int step, std::vector<std::int64_t> parents = {},
                           const std::string& generator = "agent", const std::string& hash = "") {
  CandidateRecord c;
  c.run_id = run;
  c.step = step;
  c.definition = "def_a";
  c.name = "cand" + std::to_string(step);
  c.generator = generator;
  c.parents = std::move(parents);
  c.plan = "plan " + std::to_string(step);
  c.content_hash = hash.empty() ? "hash" + std::to_string(step) : hash;
  c.solution = {{"name", c.name}, {"sources", Json::array({{{"path", "k.cpp"}}})}};
  c.files = {{"k.cpp", "int k" + std::to_string(step) + ";"}, {"impl.h", "#pragma once"}};
  c.agent_seconds = 1.5;
  c.agent_exit = 0;
  return st.add_candidate(c);
}

EvaluationRecord row(const std::string& stage, const std::string& workload, const std::string& status, double us) {
  EvaluationRecord r;
  r.stage = stage;
  r.workload = workload;
  r.shape_group = "batch_size 1";
  r.status = status;
  if (status == "PASSED") {
    r.latency_us = us;
    r.spread_us = us / 100;
  }
  r.seed = 7;
  return r;
}

SummaryRecord summary(const std::string& tag, bool promoted = false) {
  SummaryRecord s;
  s.tag = tag;
  s.tag_group = tag == "incorrect" ? "batch_size 1" : "";
  s.stage = "quick";
  s.changed = "k.cpp: +1 -1 lines";
  s.outcome = {{"promoted", promoted}};
  s.latency_us = 12.5;
  s.text = "a summary";
  return s;
}

BestEvent promote(std::int64_t id, std::optional<std::int64_t> previous, double us, const std::string& group = "") {
  BestEvent e;
  e.definition = "def_a";
  e.shape_group = group;
  e.event = "promote";
  e.candidate_id = id;
  e.previous_id = previous;
  e.latency_us = us;
  e.noise_us = 0.5;
  e.reason = "faster";
  e.run_id = 1;
  return e;
}

TEST(StoreTest, OpensWithWalForeignKeysAndTheNewestSchema) {
  Store st(fresh_db("pragmas"));
  auto mode = st.db().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
  auto fk = st.db().prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
  EXPECT_EQ(schema_version(st.db()), store_migrations().back().version);
  EXPECT_EQ(st.integrity_check(), "ok");
}

TEST(StoreTest, WhatGoesInComesBackOut) {
  Store st(fresh_db("roundtrip"));
  const auto run = add_run(st);
  const auto root = add_candidate(st, run, 0, {}, "seed");
  const auto c = add_candidate(st, run, 1, {root});
  auto r1 = row("quick", "uuid-1", "PASSED", 10);
  r1.trace = {{"definition", "def_a"}};
  r1.environment = {{"hardware", "cpu"}};
  st.add_evaluations(c, {r1, row("quick", "uuid-2", "INCORRECT_NUMERICAL", 0)});
  st.complete_candidate(c, summary("incorrect"), 3.25);

  const auto r = st.run(run);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seed, 42u);
  EXPECT_EQ(r->config["agent_cmd"], "./agent.sh");
  EXPECT_EQ(r->status, "running");
  const auto got = st.candidate(c);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->parents, std::vector<std::int64_t>{root});
  EXPECT_EQ(got->state, "done");
  EXPECT_EQ(got->eval_seconds, 3.25);
  EXPECT_EQ(got->agent_seconds, 1.5);
  EXPECT_EQ(got->agent_exit, 0);
  EXPECT_EQ(got->plan, "plan 1");
  ASSERT_EQ(got->files.size(), 2u);
  EXPECT_EQ(got->files[1].path, "k.cpp");  // by path
  EXPECT_EQ(got->files[1].content, "int k1;");
  const auto rows = st.evaluations(c);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].latency_us, 10);
  EXPECT_EQ(rows[0].spread_us, 0.1);
  EXPECT_EQ(rows[0].trace["definition"], "def_a");
  EXPECT_EQ(rows[0].environment["hardware"], "cpu");
  EXPECT_FALSE(rows[1].latency_us.has_value());
  EXPECT_TRUE(rows[1].trace.is_null());
  EXPECT_EQ(st.evaluations(c, "timing").size(), 0u);
  const auto s = st.summary(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tag, "incorrect");
  EXPECT_EQ(s->tag_group, "batch_size 1");
  EXPECT_EQ(s->latency_us, 12.5);
  const auto listed = st.run_candidates(run);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_FALSE(listed[0].summary);  // the root is still pending
  EXPECT_EQ(listed[1].summary->text, "a summary");
  st.finish_run(run, "max candidates (5)");
  EXPECT_EQ(st.run(run)->status, "finished");
  EXPECT_EQ(st.run(run)->stop_reason, "max candidates (5)");
}

TEST(StoreTest, AWriteThatFailsLeavesNothingBehind) {
  Store st(fresh_db("atomic"));
  const auto run = add_run(st);
  // Foreign keys: an evaluation of a candidate that does not exist, then a parent that does not.
  EXPECT_THROW(st.add_evaluations(999, {row("quick", "w", "PASSED", 1), row("quick", "w2", "PASSED", 1)}), Error);
  EXPECT_THROW(add_candidate(st, run, 1, {12345}), Error);
  auto count = [&](const char* table) {
    auto q = st.db().prepare(std::string("SELECT COUNT(*) FROM ") + table);
    q.step();
    return q.int64(0);
  };
  EXPECT_EQ(count("evaluations"), 0);
  EXPECT_EQ(count("candidates"), 0);  // the candidate went with its bad parent row
  EXPECT_EQ(count("candidate_files"), 0);
  // A second completion is refused whole: the first summary and state stay.
  const auto c = add_candidate(st, run, 1);
  st.complete_candidate(c, summary("slower"), 1);
  EXPECT_THROW(st.complete_candidate(c, summary("timeout"), 2, {promote(c, std::nullopt, 1)}), Error);
  EXPECT_EQ(st.summary(c)->tag, "slower");
  EXPECT_EQ(st.candidate(c)->eval_seconds, 1);
  EXPECT_FALSE(st.best("def_a"));
}

TEST(StoreTest, BestFollowsPromotionsAndRollbacksWithHistory) {
  Store st(fresh_db("best"));
  const auto run = add_run(st);
  const auto a = add_candidate(st, run, 0, {}, "seed");
  const auto b = add_candidate(st, run, 1, {a});
  st.complete_candidate(a, summary("", true), 1, {promote(a, std::nullopt, 100), promote(a, std::nullopt, 90, "batch_size 1")});
  st.complete_candidate(b, summary("", true), 1, {promote(b, a, 50)});
  EXPECT_EQ(st.best("def_a")->candidate_id, b);
  EXPECT_EQ(st.best("def_a", "batch_size 1")->candidate_id, a);
  BestEvent back = promote(a, b, 100);
  back.event = "rollback";
  back.reason = "regression";
  st.record_best_change(back, {row("regression", "w", "PASSED", 120)}, b);
  EXPECT_EQ(st.best("def_a")->candidate_id, a);
  EXPECT_EQ(st.best("def_a")->latency_us, 100);
  EXPECT_EQ(st.evaluations(b, "regression").size(), 1u);
  const auto h = st.best_history("def_a");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[2].event, "promote");
  EXPECT_EQ(h[2].candidate_id, b);
  EXPECT_EQ(h[2].previous_id, a);
  EXPECT_EQ(h[3].event, "rollback");
  EXPECT_EQ(h[3].candidate_id, a);
  EXPECT_EQ(st.bests("def_a").size(), 2u);
  EXPECT_EQ(st.bests("other").size(), 0u);
  // A best event must name an existing candidate.
  EXPECT_THROW(st.record_best_change(promote(777, std::nullopt, 1)), Error);
  EXPECT_EQ(st.best("def_a")->candidate_id, a);
}

TEST(StoreTest, LineageFollowsFirstParentsFromTheRoot) {
  Store st(fresh_db("lineage"));
  const auto run = add_run(st);
  const auto root = add_candidate(st, run, 0, {}, "seed");
  const auto other = add_candidate(st, run, 1, {root});
  const auto a = add_candidate(st, run, 2, {root});
  const auto b = add_candidate(st, run, 3, {a, other});
  const auto chain = st.lineage(b);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].candidate.id, root);
  EXPECT_EQ(chain[1].candidate.id, a);
  EXPECT_EQ(chain[2].candidate.id, b);
  EXPECT_EQ(st.lineage(root).size(), 1u);
  EXPECT_THROW(st.lineage(999), Error);
}

TEST(StoreTest, FailuresByTagAndRunNewestFirst) {
  Store st(fresh_db("failures"));
  const auto r1 = add_run(st), r2 = add_run(st);
  const auto a = add_candidate(st, r1, 1), b = add_candidate(st, r1, 2), c = add_candidate(st, r2, 1),
             d = add_candidate(st, r2, 2);
  st.complete_candidate(a, summary("compile_error"), 0);
  st.complete_candidate(b, summary(""), 0);
  st.complete_candidate(c, summary("compile_error"), 0);
  st.complete_candidate(d, summary("incorrect"), 0);
  auto ids = [](const std::vector<CandidateSummary>& v) {
    std::vector<std::int64_t> out;
    for (const auto& cs : v) out.push_back(cs.candidate.id);
    return out;
  };
  EXPECT_EQ(ids(st.failures()), (std::vector<std::int64_t>{d, c, a}));
  EXPECT_EQ(ids(st.failures("compile_error")), (std::vector<std::int64_t>{c, a}));
  EXPECT_EQ(ids(st.failures("", r1)), (std::vector<std::int64_t>{a}));
  EXPECT_EQ(ids(st.failures("timeout")), (std::vector<std::int64_t>{}));
  EXPECT_EQ(ids(st.definition_candidates("def_a")), (std::vector<std::int64_t>{d, c, b, a}));
}

TEST(StoreTest, PendingCandidatesResumeAndTrialsAreFoundByContent) {
  Store st(fresh_db("pending"));
  const auto run = add_run(st);
  const auto c = add_candidate(st, run, 1, {}, "tune", "same");
  st.add_evaluations(c, {row("quick", "w", "PASSED", 1)});
  st.discard_partial(c);
  EXPECT_TRUE(st.evaluations(c).empty());
  EXPECT_EQ(st.candidate(c)->state, "pending");
  st.complete_candidate(c, summary(""), 2);
  EXPECT_THROW(st.discard_partial(c), Error);  // a completed candidate keeps its rows
  SummaryRecord later = summary("slower");
  st.update_summary(c, later, 3);
  EXPECT_EQ(st.summary(c)->tag, "slower");
  EXPECT_EQ(st.candidate(c)->eval_seconds, 5);
  EXPECT_EQ(st.find_in_run(run, "same", "tune"), c);
  EXPECT_FALSE(st.find_in_run(run, "same", "agent"));
  EXPECT_FALSE(st.find_in_run(run + 1, "same", "tune"));
  // One candidate per (run, step).
  EXPECT_THROW(add_candidate(st, run, 1), Error);
}

}  // namespace
}  // namespace kforge::store
