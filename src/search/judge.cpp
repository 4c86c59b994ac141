#include "search/judge.h"

#include <unistd.h>

#include <algorithm>

#include "core/error.h"

namespace kforge::search {

namespace fs = std::filesystem;

std::string stage_name(Stage s) {
  switch (s) {
    case Stage::kQuick:
      return "quick";
    case Stage::kTiming:
      return "timing";
    case Stage::kFull:
      return "full";
    case Stage::kVerify:
      return "verify";
    case Stage::kRegression:
      return "regression";
  }
  return "?";
}

Stage parse_stage(const std::string& name) {
  for (Stage s : {Stage::kQuick, Stage::kTiming, Stage::kFull, Stage::kVerify, Stage::kRegression}) {
    if (stage_name(s) == name) return s;
  }
  throw Error("unknown stage '" + name + "'", "quick, timing, full, verify or regression");
}

EvaluatorJudge::EvaluatorJudge(const Dataset& dataset, EvalConfig base) : m_dataset(dataset), m_base(std::move(base)) {
  if (m_base.work_dir.empty()) m_base.work_dir = fs::temp_directory_path() / ("kforge-search-" + std::to_string(::getpid()));
}

EvaluatorJudge::~EvaluatorJudge() {
  m_evaluators.clear();  // each removes its own folder first
  std::error_code ec;
  if (!m_base.keep_work_dirs) fs::remove(m_base.work_dir, ec);
}

BuildResult EvaluatorJudge::build(const Solution& solution) { return build_solution(solution, m_base.build); }

std::vector<WorkloadResult> EvaluatorJudge::evaluate(const SolutionDir& solution,
                                                     const std::vector<const Located<Trace>*>& workloads, Stage stage,
                                                     std::uint64_t seed) {
  const bool quick = stage == Stage::kQuick;
  const std::pair<bool, std::uint64_t> key{quick, seed};
  auto it = m_evaluators.find(key);
  if (it == m_evaluators.end()) {
    // Least recently used out: the run's inner-loop seeds stay, one-off verification seeds go
    // (with their reference outputs).
    while (m_evaluators.size() >= kKeptEvaluators) {
      auto oldest = std::min_element(m_evaluators.begin(), m_evaluators.end(),
                                     [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
      m_evaluators.erase(oldest);
    }
    EvalConfig c = m_base;
    c.seed = seed;
    if (quick) {
      c.trials = std::min(2, c.trials);
      c.timing.warmup = 0;
      c.timing.iterations = 1;
      c.timing_trials = 1;
    }
    c.work_dir = m_base.work_dir / ((quick ? "quick-" : "full-") + std::to_string(seed));
    it = m_evaluators.emplace(key, Kept{std::make_unique<Evaluator>(m_dataset, std::move(c)), 0}).first;
  }
  it->second.last_use = ++m_clock;
  return it->second.evaluator->evaluate(solution, workloads);
}

}  // namespace kforge::search
