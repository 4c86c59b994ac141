// @brief The promotion gate and the regression check. A candidate that passed the full gate
// becomes the best only after a separate re-verification on every workload with seeds it has
// never seen, timed beside the current best, winning beyond the measured noise
// (search/noise_rule.h). A later regression check re-times the best beside the one it replaced
// and rolls it back when it fails the gate or the previous best now beats it.
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

RegressionOutcome regression_check(Judge& judge, const ShapeGrouping& shapes, const Contender& best,
                                   const Contender& previous, std::uint64_t seed, double min_gain, std::int64_t run_id);

// Per shape group: the groups whose best the candidate (full-gate rows) beats beyond the noise.
// `group_best_rows` holds, per group with a best, that best's id and full-gate rows; a group
// without a best, or whose best was timed on other workloads, goes to the candidate.
std::vector<store::BestEvent> group_promotions(
    const ShapeGrouping& shapes, std::int64_t candidate_id, const std::vector<store::EvaluationRecord>& candidate_rows,
    const std::map<std::string, std::pair<std::int64_t, std::vector<store::EvaluationRecord>>>& group_best_rows,
    double min_gain, std::int64_t run_id);

}  // namespace kforge::search
