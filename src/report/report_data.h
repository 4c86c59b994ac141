// @brief What a search report shows, as plain data: the producer (the search store) fills it,
// the renderers (html_report.h) only read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kforge::report {

// One evaluated candidate, in the order the run evaluated them (per definition).
struct CandidatePoint {
  std::int64_t id = 0;                // candidate id in the store
  int seq = 0;                        // 0-based position in the definition's trajectory
  std::string label;                  // short text, e.g. "c17 tune ROWS=4"
  std::string generator;              // "seed", "agent", "tune"
  bool passed = false;                // passed the gate on the workloads it was evaluated on
  std::optional<double> latency_us;   // mean latency on the representative workloads, when passed
  std::string failure_tag;            // "" when passed and promoted/kept, else e.g. "compile_error",
                                      // "runtime_error", "timeout", "incorrect", "slower", "scan"
  std::string created;                // ISO-8601 UTC
};

// A change of the running best: a promotion, or a rollback after a failed regression check.
struct BestChange {
  int seq = 0;                        // trajectory position at which it happened
  std::int64_t candidate_id = 0;      // the new best
  double latency_us = 0;
  bool rollback = false;
};

struct LeaderRow {
  std::string name;
  std::int64_t candidate_id = 0;
  double latency_us = 0;              // mean over all workloads (full gate)
  double speedup_vs_baseline = 0;     // 0 when there is no baseline
  int passed_workloads = 0, total_workloads = 0;
  bool best = false;
};

struct LineageStep {                  // root first, the best last
  std::int64_t candidate_id = 0;
  std::string label;
  std::optional<double> latency_us;
  std::string summary;                // what changed
};

struct DefinitionReport {
  std::string definition;
  std::optional<double> baseline_us;  // the baseline's mean latency (dashed line)
  std::vector<CandidatePoint> candidates;
  std::vector<BestChange> best_history;
  std::vector<LeaderRow> leaderboard;
  std::vector<LineageStep> lineage_of_best;
};

struct ReportData {
  std::string title;
  std::string generated;              // ISO-8601 UTC
  std::vector<std::string> runs;      // one line per run: id, config summary
  std::vector<DefinitionReport> definitions;
};

}  // namespace kforge::report
