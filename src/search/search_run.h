// @brief One run of the loop (internal to the search layer): its state, the candidate pipeline
// shared by the generators (cascade, promotion, summary, completion), the agent slots
// (agent_loop.cpp) and the tuner driver (tune_loop.cpp). Every store access holds m_mutex;
// verifications hold m_promotion, so each one is timed against the current best.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "search/cascade.h"
#include "search/parents.h"
#include "search/promotion.h"
#include "search/search_loop.h"
#include "search/task_file.h"

namespace kforge::search {

class SearchRun {
 public:
  SearchRun(store::Store& store, store::RunRecord run, SearchConfig config, const SearchEnvironment& env);

  // Finishes pending work, runs the generator until it stops, records why.
  void run();

 private:
  // --- state (agent_loop.cpp and tune_loop.cpp use these) ---
  void say(const std::string& line);
  std::unique_ptr<Judge> make_judge(int slot, int slots);
  // The reason the budget is spent, or "". The caller holds m_mutex, as for elites() and bar().
  std::string budget_spent();
  EliteSet elites();
  RepsBar bar();
  // These two take m_mutex themselves.
  std::int64_t register_candidate(store::CandidateRecord c);
  SolutionDir materialize(std::int64_t id);  // the stored candidate, on disk under the run folder
  std::uint64_t inner_seed() const;
  std::uint64_t verify_seed(std::int64_t candidate_id) const;

  // --- the pipeline ---
  // Cascade, promotion and completion of a pending candidate.
  void evaluate_candidate(Judge& judge, std::int64_t id);
  struct Verdict {
    std::string tag, tag_group, stage, reason;
    std::vector<store::BestEvent> events;
    bool promoted = false;
    std::unique_lock<std::mutex> lock;  // m_promotion, held from a verification to the completion
  };
  // After a full-gate pass: group bests, and verification against the best when the
  // representatives beat it. Holds m_promotion while verifying.
  Verdict promote_if_better(Judge& judge, std::int64_t id, const SolutionDir& dir,
                            const std::vector<store::EvaluationRecord>& full_rows, std::optional<double> reps_us,
                            const RepsBar& bar);
  store::SummaryRecord summarize(std::int64_t id, const std::string& tag, const std::string& tag_group,
                                 const std::string& stage, const std::string& message,
                                 const std::vector<store::EvaluationRecord>& rows, std::optional<double> reps_us,
                                 const RepsBar& bar, const Verdict* verdict);
  // Completes without evaluation (no_change, an unreadable solution folder).
  void complete_unevaluated(std::int64_t id, const std::string& tag, const std::string& message);
  void after_completion(Judge& judge);
  void regression(Judge& judge);
  void ensure_seed(Judge& judge);
  void finish_pending(Judge& judge);

  // --- generators ---
  void run_agent_slots(Judge& first, int slots);
  void agent_step(Judge& judge, int step);
  // TASK.md for a step (the caller holds m_mutex).
  std::string task_markdown(const ParentChoice& choice, const store::CandidateRecord& parent, int step);
  void run_tune(Judge& judge, int slots);

  store::Store& m_store;
  store::RunRecord m_run;
  SearchConfig m_config;
  const SearchEnvironment& m_env;
  Dataset m_dataset;
  const Definition* m_def = nullptr;
  ShapeGrouping m_shapes;
  std::map<std::string, double> m_floor_us;  // roofline floor per group (mean over its representatives)
  std::int64_t m_root = 0;                    // the run's seed candidate

  std::mutex m_mutex, m_promotion;
  int m_next_step = 1;
  std::set<int> m_missing_steps;  // steps whose agent was running when the run was killed
  int m_completed = 0;  // candidates completed in this process (for the regression cadence)
  bool m_stop = false;
  std::string m_stop_reason;
  bool m_best_changed_here = false;  // a promotion, of the definition or a group, in this process: check at the end
};

}  // namespace kforge::search
