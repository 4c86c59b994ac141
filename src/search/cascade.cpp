#include "search/cascade.h"

#include <fmt/format.h>

#include "core/error.h"
#include "search/evaluation_rows.h"
#include "search/static_scan.h"

namespace kforge::search {

bool beats_bar(const RepsBar& bar, std::optional<double> reps_us, const std::map<std::string, double>& group_us,
               std::string* why) {
  auto say = [&](std::string s) {
    if (why) *why = std::move(s);
  };
  if (!bar.overall_us) {
    say("no best yet");
    return true;
  }
  if (reps_us && *reps_us < *bar.overall_us) {
    say(fmt::format("{:.2f} us on the representatives vs the best's {:.2f} us", *reps_us, *bar.overall_us));
    return true;
  }
  for (const auto& [group, us] : group_us) {
    auto it = bar.group_us.find(group);
    if (it == bar.group_us.end() || us < it->second) {
      say(it == bar.group_us.end() ? "no best yet for " + group
                                   : fmt::format("{:.2f} us vs {:.2f} us on {}", us, it->second, group));
      return true;
    }
  }
  say(fmt::format("{:.2f} us on the representatives, not faster than the best ({:.2f} us) overall or on any group",
                  reps_us.value_or(0), *bar.overall_us));
  return false;
}

CascadeOutcome run_cascade(Judge& judge, const SolutionDir& solution, const ShapeGrouping& shapes, const RepsBar& bar,
                           std::uint64_t seed, const StageSink& sink) {
  CascadeOutcome out;
  out.stage = "scan";
  const auto findings = scan_sources(solution.solution);
  if (!findings.empty()) {
    out.tag = "scan";
    out.message = "forbidden calls:\n" + describe(findings);
    return out;
  }
  out.stage = "build";
  const BuildResult build = judge.build(solution.solution);
  out.build_seconds = build.seconds;
  if (!build.ok) {
    out.tag = "compile_error";
    out.message = headline(build.log) + "\n" + log_head(build.log, 40, 4000);
    return out;
  }

  // Runs one stage; true when every evaluated workload passed.
  auto stage = [&](Stage s, const std::vector<const Located<Trace>*>& workloads) {
    out.stage = stage_name(s);
    auto rows = to_rows(judge.evaluate(solution, workloads, s, seed), out.stage, shapes);
    if (sink) sink(rows);
    out.rows.insert(out.rows.end(), rows.begin(), rows.end());
    if (const auto* bad = first_failure(rows)) {
      out.tag = failure_tag(bad->status);
      out.tag_group = bad->shape_group;
      out.message = failure_message(*bad);
      return false;
    }
    if (passed_timings(rows).empty()) {
      throw Error("no representative workload of " + shapes.definition + " could be evaluated: " +
                  (rows.empty() ? std::string("none given") : rows.front().log));
    }
    return true;
  };

  const auto reps = shapes.representatives();
  if (!stage(Stage::kQuick, reps)) return out;
  if (!stage(Stage::kTiming, reps)) return out;
  const auto timing_rows = std::vector<store::EvaluationRecord>(out.rows.end() - static_cast<std::ptrdiff_t>(reps.size()),
                                                                out.rows.end());
  out.reps_us = mean_latency(passed_timings(timing_rows));
  out.reps_group_us = group_means(timing_rows);
  std::string why;
  if (!beats_bar(bar, out.reps_us, out.reps_group_us, &why)) {
    out.tag = "slower";
    out.message = why;
    return out;
  }
  if (!stage(Stage::kFull, shapes.all_workloads())) return out;
  out.full_passed = true;
  out.message = why;
  return out;
}

}  // namespace kforge::search
