// @brief Ranking traces per definition as FlashInfer-Bench does, plus kforge's columns; traces
// timed elsewhere (peers) are read from files and ranked beside kforge's, labelled external.
#pragma once

#include <filesystem>
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
  std::string timed_by;                      // timed_by() of its traces, "+"-joined when they differ
  bool external = false;                     // any of its traces timed outside kforge
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

// For each (solution, workload) the best passing trace counts (FlashInfer-Bench's rule). The
// reference latency of a workload comes from kforge-timed traces where there are any, else from
// external ones, so every solution's speedup over the reference divides by the same number.
Leaderboard build_leaderboard(const Dataset& ds, const std::vector<Trace>& traces, const std::string& baseline);

// Who timed a trace: its evaluation's kforge.timed_by (an external tool, e.g.
// "tools/peers/run_gdn_peers.py"); "kforge" for kforge's own evaluator (a kforge block without
// timed_by); "external" for a trace without a kforge block (e.g. FlashInfer-Bench's).
std::string timed_by(const Trace& t);

// Traces to rank from JSONL files, or from every *.jsonl under a folder. Each record must be an
// evaluated solution's trace of a dataset workload: solution and evaluation present, the definition
// and workload uuid known to the dataset with the same axes, a positive latency when PASSED. The
// first bad record throws Error naming its file, line and field.
std::vector<Trace> load_ranked_traces(const Dataset& ds, const std::vector<std::filesystem::path>& paths);

Json to_json(const Leaderboard& b);
std::string to_text(const Leaderboard& b);
std::string to_markdown(const Leaderboard& b);

}  // namespace kforge
