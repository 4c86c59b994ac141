// @brief The cascade one candidate goes through, cheapest first, stopping at the first failure:
// static scan -> build -> quick gate on the representatives -> timing on the representatives ->
// full gate on every workload. Promotion (search/promotion.h) comes after, for those that pass.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "search/judge.h"
#include "search/shapes.h"
#include "store/records.h"

namespace kforge::search {

// What a candidate must beat on the representatives to be worth a full gate: the best's mean
// over the representatives and each group best's latency on its group's representatives.
// Empty (no best yet): anything that passes goes on.
struct RepsBar {
  std::optional<double> overall_us;
  std::map<std::string, double> group_us;
};

struct CascadeOutcome {
  std::string stage;      // the last stage run: scan | build | quick | timing | full
  std::string tag;        // "" when the full gate passed; else scan, compile_error, runtime_error,
                          // timeout, incorrect, slower
  std::string tag_group;  // the shape group of the first failing workload
  std::string message;    // why it stopped (findings, compiler output, the failing log's head)
  std::vector<store::EvaluationRecord> rows;  // every stage's rows, in order
  std::optional<double> reps_us;              // mean over the representatives (timing stage)
  std::map<std::string, double> reps_group_us;
  bool full_passed = false;
  double build_seconds = 0;
};

// Called with each stage's rows as soon as the stage ends (to store them).
using StageSink = std::function<void(const std::vector<store::EvaluationRecord>&)>;

// `seed` draws the inputs of every stage (the run's inner-loop seed, so the judge computes the
// references once per run). Throws Error when no representative could be evaluated at all
// (every one skipped: e.g. a cuda solution without a GPU), which no candidate can fix.
CascadeOutcome run_cascade(Judge& judge, const SolutionDir& solution, const ShapeGrouping& shapes, const RepsBar& bar,
                           std::uint64_t seed, const StageSink& sink = {});

// Whether the timing stage's numbers are worth a full gate: faster than the best on average, or
// than a group's best on that group. `why` says which, or why not.
bool beats_bar(const RepsBar& bar, std::optional<double> reps_us, const std::map<std::string, double>& group_us,
               std::string* why);

}  // namespace kforge::search
