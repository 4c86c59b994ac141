#include "cli/leaderboard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "cli/table.h"
#include "trace/axes.h"

namespace kforge {
namespace fs = std::filesystem;
namespace {

struct Best {
  bool passed = false;
  double latency_ms = 0, reference_ms = 0;
  std::string status;  // of the first failure, when none passed
};

std::string cell(const Best& b) { return b.passed ? fmt::format("{:.2f}", b.latency_ms * 1e3) : b.status; }

constexpr std::string_view kTimedByKforge = "kforge";

// One record of a --traces file checked against the dataset it is ranked in.
void check_ranked_trace(const Dataset& ds, const Trace& t) {
  if (!t.solution || !t.evaluation) {
    throw Error("a bare workload record (no solution or no evaluation)", "an evaluated solution's trace")
        .in_field(t.solution ? "evaluation" : "solution");
  }
  if (!ds.definition(t.definition)) {
    throw Error("definition '" + t.definition + "' is not in the dataset " + ds.root.string(),
                "one of the dataset's definitions").in_field("definition");
  }
  const auto* w = ds.workload(t.workload.uuid);
  if (!w || w->value.definition != t.definition) {
    throw Error("workload '" + t.workload.uuid + "' is not a workload of " + t.definition + " in " + ds.root.string(),
                "a uuid from the dataset's workloads/").in_field("workload.uuid");
  }
  const Json axes = to_json(t.workload).at("axes"), want = to_json(w->value.workload).at("axes");
  if (axes != want) {
    throw Error("axes " + axes.dump() + " differ from the dataset's workload", want.dump()).in_field("workload.axes");
  }
  const Evaluation& e = *t.evaluation;
  if (e.status == EvalStatus::kPassed && !(std::isfinite(e.performance->latency_ms) && e.performance->latency_ms > 0)) {
    throw Error(fmt::format("latency {:g} ms on a PASSED trace", e.performance->latency_ms), "a positive latency")
        .in_field("evaluation.performance.latency_ms");
  }
}

std::string join(const std::set<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

}  // namespace

std::string timed_by(const Trace& t) {
  if (!t.evaluation || !t.evaluation->kforge.is_object()) return "external";
  const Json& kf = t.evaluation->kforge;
  if (const auto it = kf.find("timed_by"); it != kf.end() && it->is_string()) return it->get<std::string>();
  return std::string(kTimedByKforge);
}

std::vector<Trace> load_ranked_traces(const Dataset& ds, const std::vector<fs::path>& paths) {
  std::vector<Trace> out;
  for (const auto& path : paths) {
    if (!fs::exists(path)) {
      throw Error("no such file or folder", "a JSONL trace file or a folder of them").at_file(path.string());
    }
    std::vector<fs::path> files{path};
    if (fs::is_directory(path)) {
      files = files_under(path, ".jsonl");
      if (files.empty()) throw Error("no .jsonl files under this folder", "JSONL trace files").at_file(path.string());
    }
    for (const auto& file : files) {
      for (auto& rec : load_trace_file(file)) {
        try {
          check_ranked_trace(ds, rec.value);
        } catch (Error& e) {
          throw e.at_file(rec.file).at_line(rec.line);
        }
        out.push_back(std::move(rec.value));
      }
    }
  }
  return out;
}

Leaderboard build_leaderboard(const Dataset& ds, const std::vector<Trace>& traces, const std::string& baseline) {
  // definition -> solution -> uuid -> best
  std::map<std::string, std::map<std::string, std::map<std::string, Best>>> best;
  std::map<std::string, std::map<std::string, std::set<std::string>>> timers;  // definition -> solution -> timed_by
  for (const auto& t : traces) {
    if (!t.evaluation || !t.solution) continue;
    timers[t.definition][*t.solution].insert(timed_by(t));
    Best& b = best[t.definition][*t.solution][t.workload.uuid];
    const Evaluation& e = *t.evaluation;
    if (e.status == EvalStatus::kPassed && e.performance) {
      if (!b.passed || e.performance->latency_ms < b.latency_ms) {
        b.passed = true;
        b.latency_ms = e.performance->latency_ms;
        b.reference_ms = e.performance->reference_latency_ms;
      }
    } else if (!b.passed && b.status.empty()) {
      b.status = std::string(status_name(e.status));
    }
  }
  Leaderboard board;
  for (const auto& [def_name, per_solution] : best) {
    DefinitionBoard db;
    db.definition = def_name;
    db.baseline = baseline;
    std::set<std::string> seen;
    for (const auto& [sol, per_uuid] : per_solution) {
      for (const auto& [uuid, b] : per_uuid) seen.insert(uuid);
    }
    const auto* ld = ds.definition(def_name);
    for (const auto* w : ds.workloads_of(def_name)) {
      if (!seen.count(w->value.workload.uuid)) continue;
      db.workloads.push_back(w->value.workload.uuid);
      db.workload_axes[w->value.workload.uuid] = ld ? format_var_axes(ld->value, resolve_axes(ld->value, w->value.workload)) : "";
    }
    for (const auto& uuid : seen) {
      if (std::find(db.workloads.begin(), db.workloads.end(), uuid) == db.workloads.end()) db.workloads.push_back(uuid);
    }
    const auto& sol_timers = timers.at(def_name);
    const auto is_external = [&](const std::string& sol) {
      const auto& labels = sol_timers.at(sol);
      return labels.size() != 1 || *labels.begin() != kTimedByKforge;
    };
    // Reference latency per workload (the same reference timed in every run); external tools may
    // time another reference (the PyTorch one), so kforge's own traces come first.
    std::map<std::string, double> ref_ms;
    for (const bool external_pass : {false, true}) {
      for (const auto& [sol, per_uuid] : per_solution) {
        if (is_external(sol) != external_pass) continue;
        for (const auto& [uuid, b] : per_uuid) {
          if (b.passed && b.reference_ms > 0 && !ref_ms.count(uuid)) ref_ms[uuid] = b.reference_ms;
        }
      }
    }
    std::map<std::string, double> base_ms;
    if (baseline == "reference") {
      base_ms = ref_ms;
    } else if (auto it = per_solution.find(baseline); it != per_solution.end()) {
      for (const auto& [uuid, b] : it->second) {
        if (b.passed) base_ms[uuid] = b.latency_ms;
      }
    }
    for (const auto& [sol, per_uuid] : per_solution) {
      SolutionScore s;
      s.solution = sol;
      s.timed_by = join(sol_timers.at(sol), "+");
      s.external = is_external(sol);
      double ref_sum = 0, base_sum = 0;
      int ref_n = 0, base_n = 0, wins = 0;
      for (const auto& [uuid, b] : per_uuid) {
        ++s.workloads;
        s.cells[uuid] = cell(b);
        if (!b.passed) continue;
        ++s.passed;
        if (auto r = ref_ms.find(uuid); r != ref_ms.end()) {
          ref_sum += r->second / b.latency_ms;
          ++ref_n;
        }
        if (auto r = base_ms.find(uuid); r != base_ms.end()) {
          const double ratio = r->second / b.latency_ms;
          base_sum += ratio;
          ++base_n;
          wins += ratio > 1.0 ? 1 : 0;
        }
      }
      s.mean_speedup_vs_reference = ref_n ? ref_sum / ref_n : 0;
      s.mean_speedup_vs_baseline = base_n ? base_sum / base_n : 0;
      s.win_rate = base_n ? static_cast<double>(wins) / base_n : 0;
      s.score = s.passed == s.workloads ? s.mean_speedup_vs_baseline : 0.0;
      db.solutions.push_back(s);
    }
    std::sort(db.solutions.begin(), db.solutions.end(), [](const SolutionScore& a, const SolutionScore& b) {
      return a.score != b.score ? a.score > b.score : a.mean_speedup_vs_reference > b.mean_speedup_vs_reference;
    });
    board.definitions.push_back(std::move(db));
  }
  return board;
}

Json to_json(const Leaderboard& b) {
  Json defs = Json::array();
  for (const auto& d : b.definitions) {
    Json sols = Json::array();
    for (const auto& s : d.solutions) {
      Json cells = Json::object();
      for (const auto& uuid : d.workloads) {
        if (auto it = s.cells.find(uuid); it != s.cells.end()) cells[uuid] = it->second;
      }
      sols.push_back({{"solution", s.solution}, {"timed_by", s.timed_by}, {"external", s.external},
                      {"workloads", s.workloads}, {"passed", s.passed},
                      {"mean_speedup_vs_reference", s.mean_speedup_vs_reference},
                      {"mean_speedup_vs_baseline", s.mean_speedup_vs_baseline}, {"win_rate", s.win_rate},
                      {"score", s.score}, {"latency_us_or_status", cells}});
    }
    defs.push_back({{"definition", d.definition}, {"baseline", d.baseline}, {"solutions", sols}});
  }
  return {{"definitions", defs}};
}

namespace {

std::vector<std::string> summary_header(const DefinitionBoard& d) {
  return {"SOLUTION", "PASSED", "x REFERENCE", "x BASELINE (" + d.baseline + ")", "WIN RATE", "SCORE", "TIMED BY"};
}

std::vector<std::string> summary_row(const SolutionScore& s) {
  return {s.solution, fmt::format("{}/{}", s.passed, s.workloads), fmt::format("{:.2f}", s.mean_speedup_vs_reference),
          fmt::format("{:.2f}", s.mean_speedup_vs_baseline), fmt::format("{:.0f}%", 100 * s.win_rate),
          fmt::format("{:.3f}", s.score), s.external ? "external: " + s.timed_by : s.timed_by};
}

std::vector<std::string> latency_header(const DefinitionBoard& d) {
  std::vector<std::string> h{"WORKLOAD", "AXES"};
  for (const auto& s : d.solutions) h.push_back(s.solution + " (us)");
  return h;
}

std::vector<std::string> latency_row(const DefinitionBoard& d, const std::string& uuid) {
  std::vector<std::string> row{uuid.substr(0, 8), d.workload_axes.count(uuid) ? d.workload_axes.at(uuid) : ""};
  for (const auto& s : d.solutions) row.push_back(s.cells.count(uuid) ? s.cells.at(uuid) : "-");
  return row;
}

std::string md_row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + c + " |";
  return out + "\n";
}

}  // namespace

std::string to_text(const Leaderboard& b) {
  std::string out;
  for (const auto& d : b.definitions) {
    out += fmt::format("\n{} (baseline: {})\n", d.definition, d.baseline);
    Table summary(summary_header(d));
    for (const auto& s : d.solutions) summary.add(summary_row(s));
    out += summary.render() + "\n";
    Table lat(latency_header(d));
    for (const auto& uuid : d.workloads) lat.add(latency_row(d, uuid));
    out += lat.render();
  }
  return out;
}

std::string to_markdown(const Leaderboard& b) {
  std::string out = "# kforge bench\n";
  for (const auto& d : b.definitions) {
    out += fmt::format("\n## {}\n\nBaseline: {}. Score as FlashInfer-Bench: mean of baseline/latency over workloads, "
                       "0 if any workload failed. x REFERENCE divides, per workload, the reference latency of "
                       "kforge-timed traces (else of external ones) by the solution's. TIMED BY: kforge's evaluator, "
                       "or the external tool that timed the solution's traces.\n\n", d.definition, d.baseline);
    const auto h = summary_header(d);
    out += md_row(h) + md_row(std::vector<std::string>(h.size(), "---"));
    for (const auto& s : d.solutions) out += md_row(summary_row(s));
    const auto lh = latency_header(d);
    out += '\n';
    out += md_row(lh) + md_row(std::vector<std::string>(lh.size(), "---"));
    for (const auto& uuid : d.workloads) out += md_row(latency_row(d, uuid));
  }
  return out;
}

}  // namespace kforge
