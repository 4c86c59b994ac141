// @brief The promotion gate and the regression check. A candidate that passed the full gate
// becomes the best only after a separate re-verification on every workload with seeds it has
// never seen, timed beside the current best, winning beyond the measured noise
// (search/noise_rule.h). A later regression check re-times the best beside the one it replaced
// and rolls it back when it fails the gate or the previous best now beats it; each shape group's
// best likewise, on that group's workloads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "search/judge.h"
#include "search/noise_rule.h"
#include "search/shapes.h"
#include "store/records.h"

namespace kforge::search {

struct Contender {
  std::int64_t id = 0;
  SolutionDir solution;
};

struct PromotionOutcome {
  bool promoted = false;
  std::string tag;        // "" when promoted; incorrect, runtime_error, timeout or slower otherwise
  std::string tag_group;
  std::string reason;
  std::vector<store::EvaluationRecord> candidate_rows;  // stage verify
  std::vector<store::EvaluationRecord> best_rows;       // the best re-timed (stage verify)
  std::optional<store::BestEvent> event;               // set when promoted
};

// `best` absent: the first verified candidate is promoted. A best that now fails the gate on
// the new seeds loses to any candidate that passes.
PromotionOutcome verify_and_promote(Judge& judge, const ShapeGrouping& shapes, const Contender& candidate,
                                    const std::optional<Contender>& best, std::uint64_t seed, double min_gain,
                                    std::int64_t run_id);

struct RegressionOutcome {
  bool rollback = false;
  std::string reason;
  std::vector<store::EvaluationRecord> best_rows, previous_rows;  // stage regression
  std::optional<store::BestEvent> event;                          // set on rollback
};

// Re-times the best and the one it replaced on the same new seeds, on every workload (`group`
// "") or on one shape group's, and decides as regression_verdict does.
RegressionOutcome regression_check(Judge& judge, const ShapeGrouping& shapes, const std::string& group,
                                   const Contender& best, const Contender& previous, std::uint64_t seed,
                                   double min_gain, std::int64_t run_id);

// The decision on rows timed on the same seeds, restricted to `group`'s rows unless it is "": a
// rollback (an event for that group) when the best failed the gate and the previous did not, or
// when the previous now wins beyond the noise.
RegressionOutcome regression_verdict(const ShapeGrouping& shapes, const std::string& group, std::int64_t best_id,
                                     std::int64_t previous_id, const std::vector<store::EvaluationRecord>& best_rows,
                                     const std::vector<store::EvaluationRecord>& previous_rows, double min_gain,
                                     std::int64_t run_id);

struct RegressionPair {
  std::string group;  // "" for the definition as a whole
  std::int64_t best_id = 0, previous_id = 0;
};

// What a regression check re-times: for the definition ("" first) and each shape group with a
// best, that best and the one its latest promotion replaced (nothing when it replaced none).
std::vector<RegressionPair> regression_pairs(const std::vector<store::BestRecord>& bests,
                                             const std::vector<store::BestEvent>& history);

// Per shape group: the groups whose best the candidate (full-gate rows) beats beyond the noise.
// `group_best_rows` holds, per group with a best, that best's id and full-gate rows; a group
// without a best, or whose best was timed on other workloads, goes to the candidate.
std::vector<store::BestEvent> group_promotions(
    const ShapeGrouping& shapes, std::int64_t candidate_id, const std::vector<store::EvaluationRecord>& candidate_rows,
    const std::map<std::string, std::pair<std::int64_t, std::vector<store::EvaluationRecord>>>& group_best_rows,
    double min_gain, std::int64_t run_id);

}  // namespace kforge::search
