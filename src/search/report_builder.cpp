#include "search/report_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace kforge::search {

namespace {

// The latest PASSED latency per workload from the full-protocol stages, and how many workloads
// the full gate saw.
struct FullNumbers {
  std::optional<double> mean_us;
  int passed = 0, total = 0;
};

FullNumbers full_numbers(store::Store& st, std::int64_t id) {
  std::map<std::string, std::string> status;
  std::map<std::string, double> latency;
  for (const auto& r : st.evaluations(id)) {
    if (r.stage != "full" && r.stage != "verify") continue;
    status[r.workload] = r.status;
    if (r.status == "PASSED" && r.latency_us) latency[r.workload] = *r.latency_us;
  }
  FullNumbers n;
  n.total = static_cast<int>(status.size());
  double sum = 0;
  for (const auto& [w, s] : status) {
    if (s != "PASSED") continue;
    ++n.passed;
    sum += latency[w];
  }
  if (n.total > 0 && n.passed == n.total) n.mean_us = sum / n.passed;
  return n;
}

bool promoted(const store::CandidateSummary& cs) {
  return cs.summary && cs.summary->outcome.is_object() && cs.summary->outcome.value("promoted", false);
}

// The renderer shows the id beside the label: "agent step 4", "tune REPEAT=1,HEADS_PER_CHUNK=8".
std::string label_of(const store::CandidateRecord& c) {
  if (c.generator == "tune") return "tune " + c.plan;
  if (c.generator == "seed") return "seed " + c.name;
  return c.generator + " step " + std::to_string(c.step);
}

}  // namespace

report::ReportData build_report(store::Store& st, const ReportOptions& o) {
  report::ReportData data;
  data.title = o.title;
  data.generated = store::utc_now();
  std::vector<store::RunRecord> runs;
  for (const auto& r : st.runs()) {
    if (o.run && r.id != *o.run) continue;
    if (!o.definition.empty() && r.definition != o.definition) continue;
    runs.push_back(r);
  }
  std::map<std::string, std::vector<store::CandidateSummary>> by_def;  // in creation (id) order
  std::set<std::int64_t> run_ids;
  for (const auto& r : runs) {
    const auto cands = st.run_candidates(r.id);
    data.runs.push_back(fmt::format("run {}: {} on {}, seed {}, {} candidates, {}{}", r.id, r.generator, r.definition,
                                    r.seed, cands.size(), r.status, r.stop_reason.empty() ? "" : " (" + r.stop_reason + ")"));
    run_ids.insert(r.id);
    for (const auto& cs : cands) {
      if (cs.candidate.state == "done") by_def[cs.candidate.definition].push_back(cs);
    }
  }
  for (auto& [def, cands] : by_def) {
    std::sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.candidate.id < b.candidate.id; });
    report::DefinitionReport d;
    d.definition = def;
    std::map<std::int64_t, int> seq_of;
    std::map<std::int64_t, std::optional<double>> reps_of;
    for (const auto& cs : cands) {
      const auto& s = *cs.summary;
      report::CandidatePoint p;
      p.id = cs.candidate.id;
      p.seq = static_cast<int>(d.candidates.size());
      p.label = label_of(cs.candidate);
      p.generator = cs.candidate.generator;
      p.passed = s.latency_us.has_value() && (s.tag.empty() || s.tag == "slower");
      if (p.passed) p.latency_us = s.latency_us;
      p.failure_tag = s.tag;
      p.created = cs.candidate.created;
      seq_of[p.id] = p.seq;
      reps_of[p.id] = s.latency_us;
      if (cs.candidate.step == 0 && !d.baseline_us && p.passed) d.baseline_us = s.latency_us;
      d.candidates.push_back(std::move(p));
    }
    for (const auto& e : st.best_history(def)) {
      if (!e.shape_group.empty() || !e.run_id || !run_ids.count(*e.run_id)) continue;
      report::BestChange b;
      b.candidate_id = e.candidate_id;
      b.rollback = e.event == "rollback";
      if (b.rollback) {  // after the last candidate created before it
        b.seq = 0;
        for (const auto& p : d.candidates) {
          if (p.created <= e.created) b.seq = p.seq;
        }
      } else {
        b.seq = seq_of.count(e.candidate_id) ? seq_of[e.candidate_id] : 0;
      }
      const auto reps = reps_of.count(e.candidate_id) ? reps_of[e.candidate_id] : std::nullopt;
      b.latency_us = reps.value_or(e.latency_us);
      d.best_history.push_back(b);
    }

    const auto best = st.best(def);
    std::optional<double> baseline_full;
    for (const auto& cs : cands) {
      if (cs.candidate.step == 0) {
        baseline_full = full_numbers(st, cs.candidate.id).mean_us;
        break;
      }
    }
    for (const auto& cs : cands) {
      if (!cs.summary->outcome.is_object() || !cs.summary->outcome.value("full_passed", false)) continue;
      const FullNumbers n = full_numbers(st, cs.candidate.id);
      if (!n.mean_us) continue;
      report::LeaderRow row;
      row.name = cs.candidate.name;
      row.candidate_id = cs.candidate.id;
      row.latency_us = *n.mean_us;
      row.speedup_vs_baseline = baseline_full && *n.mean_us > 0 ? *baseline_full / *n.mean_us : 0;
      row.passed_workloads = n.passed;
      row.total_workloads = n.total;
      row.best = best && best->candidate_id == cs.candidate.id;
      d.leaderboard.push_back(row);
    }
    std::sort(d.leaderboard.begin(), d.leaderboard.end(),
              [](const auto& a, const auto& b) { return a.latency_us < b.latency_us; });
    if (d.leaderboard.size() > o.leaderboard_rows) d.leaderboard.resize(o.leaderboard_rows);
    if (best) {
      for (const auto& cs : st.lineage(best->candidate_id)) {
        report::LineageStep step;
        step.candidate_id = cs.candidate.id;
        step.label = label_of(cs.candidate) + (promoted(cs) ? " (promoted)" : "");
        if (cs.summary) step.latency_us = cs.summary->latency_us;
        step.summary = cs.summary ? cs.summary->changed : "";
        if (!cs.candidate.plan.empty() && cs.candidate.generator == "agent") {
          step.summary += "; plan: " + cs.candidate.plan.substr(0, cs.candidate.plan.find('\n'));
        }
        d.lineage_of_best.push_back(std::move(step));
      }
    }
    data.definitions.push_back(std::move(d));
  }
  return data;
}

}  // namespace kforge::search
