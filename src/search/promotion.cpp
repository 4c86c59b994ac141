#include "search/promotion.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

#include "search/evaluation_rows.h"

namespace kforge::search {

namespace {

store::BestEvent event(const std::string& definition, const std::string& group, const std::string& kind,
                       std::int64_t id, std::optional<std::int64_t> previous, const Timings& now,
                       std::optional<double> previous_us, std::string reason, std::int64_t run_id) {
  store::BestEvent e;
  e.definition = definition;
  e.shape_group = group;
  e.event = kind;
  e.candidate_id = id;
  e.previous_id = previous;
  e.latency_us = mean_latency(now);
  e.previous_latency_us = previous_us;
  e.noise_us = mean_spread(now);
  e.reason = std::move(reason);
  e.run_id = run_id;
  return e;
}

std::string failure_text(const store::EvaluationRecord& bad) {
  return bad.status + " on " + bad.workload.substr(0, 8) + " (" + bad.shape_group + ")";
}

}  // namespace

PromotionOutcome verify_and_promote(Judge& judge, const ShapeGrouping& shapes, const Contender& candidate,
                                    const std::optional<Contender>& best, std::uint64_t seed, double min_gain,
                                    std::int64_t run_id) {
  PromotionOutcome out;
  const auto all = shapes.all_workloads();
  out.candidate_rows = to_rows(judge.evaluate(candidate.solution, all, Stage::kVerify, seed), "verify", shapes);
  if (const auto* bad = first_failure(out.candidate_rows)) {
    out.tag = failure_tag(bad->status);
    out.tag_group = bad->shape_group;
    out.reason = "re-verification on new seeds failed: " + failure_message(*bad);
    return out;
  }
  const Timings mine = passed_timings(out.candidate_rows);
  if (!best) {
    out.promoted = true;
    out.reason = fmt::format("first verified candidate: {:.2f} us mean over {} workloads", mean_latency(mine), mine.size());
    out.event = event(shapes.definition, "", "promote", candidate.id, std::nullopt, mine, std::nullopt, out.reason, run_id);
    return out;
  }
  out.best_rows = to_rows(judge.evaluate(best->solution, all, Stage::kVerify, seed), "verify", shapes);
  if (const auto* bad = first_failure(out.best_rows)) {
    out.promoted = true;
    out.reason = "the best (c" + std::to_string(best->id) + ") failed re-verification on the same seeds: " + failure_text(*bad);
    out.event = event(shapes.definition, "", "promote", candidate.id, best->id, mine, std::nullopt, out.reason, run_id);
    return out;
  }
  const Timings theirs = passed_timings(out.best_rows);
  const WinVerdict v = compare_timings(mine, theirs, min_gain);
  out.reason = fmt::format("{:.2f} us vs the best's (c{}) {:.2f} us re-timed on new seeds: {}", v.candidate_us, best->id,
                           v.other_us, v.reason);
  if (!v.wins) {
    out.tag = "slower";
    return out;
  }
  out.promoted = true;
  out.event = event(shapes.definition, "", "promote", candidate.id, best->id, mine, mean_latency(theirs), out.reason, run_id);
  return out;
}

RegressionOutcome regression_check(Judge& judge, const ShapeGrouping& shapes, const std::string& group,
                                   const Contender& best, const Contender& previous, std::uint64_t seed,
                                   double min_gain, std::int64_t run_id) {
  std::vector<const Located<Trace>*> workloads = shapes.all_workloads();
  if (!group.empty()) {
    const auto g = std::find_if(shapes.groups.begin(), shapes.groups.end(), [&](const auto& x) { return x.label == group; });
    require(g != shapes.groups.end(), "regression check on shape group '" + group + "'", "a group of " + shapes.definition);
    workloads = g->workloads;
  }
  const auto best_rows = to_rows(judge.evaluate(best.solution, workloads, Stage::kRegression, seed), "regression", shapes);
  const auto previous_rows =
      to_rows(judge.evaluate(previous.solution, workloads, Stage::kRegression, seed), "regression", shapes);
  return regression_verdict(shapes, group, best.id, previous.id, best_rows, previous_rows, min_gain, run_id);
}

RegressionOutcome regression_verdict(const ShapeGrouping& shapes, const std::string& group, std::int64_t best_id,
                                     std::int64_t previous_id, const std::vector<store::EvaluationRecord>& best_rows,
                                     const std::vector<store::EvaluationRecord>& previous_rows, double min_gain,
                                     std::int64_t run_id) {
  RegressionOutcome out;
  const auto in_scope = [&](const std::vector<store::EvaluationRecord>& rows) {
    std::vector<store::EvaluationRecord> kept;
    for (const auto& r : rows) {
      if (group.empty() || r.shape_group == group) kept.push_back(r);
    }
    return kept;
  };
  out.best_rows = in_scope(best_rows);
  out.previous_rows = in_scope(previous_rows);
  const std::string where = group.empty() ? "regression check" : "regression check on " + group;
  const Timings prev = passed_timings(out.previous_rows);
  if (const auto* bad = first_failure(out.best_rows)) {
    if (first_failure(out.previous_rows)) {
      out.reason = where + ": the best failed (" + failure_text(*bad) + ") but so did the previous best: kept";
      return out;
    }
    out.rollback = true;
    out.reason = where + ": the best (c" + std::to_string(best_id) + ") failed the gate on new seeds: " + failure_text(*bad);
  } else {
    const Timings now = passed_timings(out.best_rows);
    const WinVerdict v = compare_timings(prev, now, min_gain);
    if (!v.wins || first_failure(out.previous_rows)) {
      out.reason = fmt::format("{}: the best (c{}) holds: previous c{} {}", where, best_id, previous_id,
                               first_failure(out.previous_rows) ? "failed the gate" : v.reason);
      return out;
    }
    out.rollback = true;
    out.reason =
        fmt::format("{}: the previous best (c{}) now beats the best (c{}): {}", where, previous_id, best_id, v.reason);
  }
  out.event = event(shapes.definition, group, "rollback", previous_id, best_id, prev,
                    first_failure(out.best_rows) ? std::nullopt : std::optional<double>(mean_latency(passed_timings(out.best_rows))),
                    out.reason, run_id);
  return out;
}

std::vector<RegressionPair> regression_pairs(const std::vector<store::BestRecord>& bests,
                                             const std::vector<store::BestEvent>& history) {
  std::vector<RegressionPair> out;
  for (const auto& b : bests) {
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
      if (it->shape_group != b.shape_group || it->event != "promote" || it->candidate_id != b.candidate_id) continue;
      if (it->previous_id && *it->previous_id != b.candidate_id) out.push_back({b.shape_group, b.candidate_id, *it->previous_id});
      break;
    }
  }
  std::stable_partition(out.begin(), out.end(), [](const RegressionPair& p) { return p.group.empty(); });
  return out;
}

std::vector<store::BestEvent> group_promotions(
    const ShapeGrouping& shapes, std::int64_t candidate_id, const std::vector<store::EvaluationRecord>& candidate_rows,
    const std::map<std::string, std::pair<std::int64_t, std::vector<store::EvaluationRecord>>>& group_best_rows,
    double min_gain, std::int64_t run_id) {
  std::vector<store::BestEvent> out;
  for (const auto& g : shapes.groups) {
    const Timings mine = group_timings(candidate_rows, g.label);
    if (mine.empty()) continue;
    auto it = group_best_rows.find(g.label);
    if (it == group_best_rows.end()) {
      out.push_back(event(shapes.definition, g.label, "promote", candidate_id, std::nullopt, mine, std::nullopt,
                          "first full-gate pass on this group", run_id));
      continue;
    }
    if (it->second.first == candidate_id) continue;
    const Timings theirs = group_timings(it->second.second, g.label);
    const WinVerdict v = compare_timings(mine, theirs, min_gain);
    bool same_workloads = theirs.size() == mine.size();
    for (const auto& [w, t] : mine) same_workloads = same_workloads && theirs.count(w);
    if (!same_workloads) {
      out.push_back(event(shapes.definition, g.label, "promote", candidate_id, it->second.first, mine, std::nullopt,
                          "the group's best was timed on other workloads", run_id));
    } else if (v.wins) {
      out.push_back(event(shapes.definition, g.label, "promote", candidate_id, it->second.first, mine, v.other_us,
                          "full gate: " + v.reason, run_id));
    }
  }
  return out;
}

}  // namespace kforge::search
