// @brief What the cascade needs from the evaluator: a build, and evaluations of a solution on
// workloads under a stage's protocol with inputs drawn from a seed. EvaluatorJudge is the real
// one (harness/evaluator.h); tests substitute their own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/evaluator.h"

namespace kforge::search {

enum class Stage { kQuick, kTiming, kFull, kVerify, kRegression };
// "quick", "timing", "full", "verify", "regression": the evaluations table's stage column.
std::string stage_name(Stage s);
// The inverse; throws Error for another name.
Stage parse_stage(const std::string& name);

class Judge {
 public:
  virtual ~Judge() = default;
  virtual BuildResult build(const Solution& solution) = 0;
  virtual std::vector<WorkloadResult> evaluate(const SolutionDir& solution,
                                               const std::vector<const Located<Trace>*>& workloads, Stage stage,
                                               std::uint64_t seed) = 0;
};

// The stages' protocols over one base EvalConfig: quick runs min(2, trials) correctness trials
// and a single timed call (the checks after timing still run); every other stage runs the base
// protocol. One Evaluator is kept per (protocol, seed) so reference outputs are computed once
// per seed; each has its own work folder under base.work_dir.
class EvaluatorJudge : public Judge {
 public:
  EvaluatorJudge(const Dataset& dataset, EvalConfig base);
  ~EvaluatorJudge() override;
  BuildResult build(const Solution& solution) override;
  std::vector<WorkloadResult> evaluate(const SolutionDir& solution, const std::vector<const Located<Trace>*>& workloads,
                                       Stage stage, std::uint64_t seed) override;

 private:
  const Dataset& m_dataset;
  EvalConfig m_base;
  struct Kept {
    std::unique_ptr<Evaluator> evaluator;
    std::uint64_t last_use = 0;
  };
  static constexpr std::size_t kKeptEvaluators = 3;
  std::map<std::pair<bool, std::uint64_t>, Kept> m_evaluators;  // by (quick, seed)
  std::uint64_t m_clock = 0;
};

}  // namespace kforge::search
