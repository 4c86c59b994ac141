// @brief Ranking traces per definition as FlashInfer-Bench does, plus kforge's columns.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "trace/dataset.h"

namespace kforge {

struct SolutionScore {
  std::string solution;
  int workloads = 0, passed = 0;
  double mean_speedup_vs_reference = 0;  // mean over passed workloads of reference / latency
  double mean_speedup_vs_baseline = 0;   // mean over workloads both passed of baseline / latency
  double win_rate = 0;                   // fraction of those where the ratio > 1
  double score = 0;                      // FlashInfer-Bench: mean baseline ratio, 0 if any workload failed
  std::map<std::string, std::string> cells;  // workload uuid -> "12.3" (us) or a status
};

struct DefinitionBoard {
  std::string definition;
  std::string baseline;  // solution name or "reference"
  std::vector<std::string> workloads;  // uuids in dataset order
  std::map<std::string, std::string> workload_axes;  // uuid -> "batch_size=64"
  std::vector<SolutionScore> solutions;  // sorted by score, then mean speedup
};

struct Leaderboard {
  std::vector<DefinitionBoard> definitions;
};

// For each (solution, workload) the best passing trace counts (FlashInfer-Bench's rule).
Leaderboard build_leaderboard(const Dataset& ds, const std::vector<Trace>& traces, const std::string& baseline);

Json to_json(const Leaderboard& b);
std::string to_text(const Leaderboard& b);
std::string to_markdown(const Leaderboard& b);

}  // namespace kforge
