// TASK.md: the operator's meaning, the shape groups with the parent's numbers and roofline gaps,
// the parent, the last errors, earlier attempts and the draft-check command, all present.
#include <gtest/gtest.h>

#include "search/task_file.h"
#include "test_support.h"

namespace kforge::search {
namespace {

TEST(SearchTaskFileTest, HoldsEverythingAnAgentNeeds) {
  PastAttempt past;
  past.attempt.candidate.id = 4;
  past.attempt.candidate.generator = "agent";
  store::SummaryRecord s;
  s.tag = "incorrect";
  s.text = "c4 (agent from c1, step 2): incorrect on batch_size 1-4 at quick. Plan: Vectorize the state update";
  past.attempt.summary = s;

  TaskInputs in;
  in.definition = &test_support::definition(test_support::kGdnDecode);
  in.device = "h100";
  in.groups = {{"batch_size 1-4", 18, "d0e91dea batch_size=1", 40.0, 30.0, 2.0},
               {"batch_size 8-32", 21, "d0acf04a batch_size=16", std::nullopt, std::nullopt, 5.0}};
  in.parent_id = 1;
  in.parent_name = "seed";
  in.parent_why = "the best";
  in.parent_summary = "c1 (seed, step 0): promoted to best.";
  in.focus_group = "batch_size 1-4";
  in.files = {"gdn_decode.cpp", "gdn_decode_impl.h"};
  in.last_errors = {{3, "compile_error", "", "build", "k.cpp:1:1: error: BROKEN"}};
  in.similar = {{&past, false, 0.75, 0.75}};
  in.eval_command = "kforge eval --data /d -s solution -w a,b";
  in.step = 5;
  const std::string md = render_task(in);
  for (const char* part :
       {"# Task: a faster `gdn_decode_qk4_v8_d128_k_last` (step 5)", "Gated Delta Net decode", "def run(q, k, v, state",
        "batch_size (varies), seq_len=1, num_q_heads=4", "| state | input | [batch_size, num_v_heads, head_size, head_size] | float32 |",
        "| batch_size 1-4 | 18 | d0e91dea batch_size=1 | 40.00 | 30.00 | 2.00 | x20.0 |",
        "| batch_size 8-32 | 21 | d0acf04a batch_size=16 | - | - | 5.00 | - |", "Focus this step on **batch_size 1-4**",
        "## The parent: c1 seed (the best)", "`gdn_decode.cpp`, `gdn_decode_impl.h`",
        "- c3: compile_error (stage build)", "k.cpp:1:1: error: BROKEN",
        "- c4 (failure: incorrect, agent; code similarity 0.75): c4 (agent from c1, step 2)",
"kforge eval --data /d -s solution -w a,b", "PLAN.md"}) {
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n---\n" << md;
  }
}

}  // namespace
}  // namespace kforge::search
