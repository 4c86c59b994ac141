// The tune generator's side of SearchRun: the tuner library's strategy drives trials; each
// configuration is a candidate in the store (generator "tune", parent the seed), each trial a
// stage of rows on it. Rung r < top: the representatives, r + 1 per shape group, timed (stage
// "rung<r>"); the top rung: every workload under the full protocol (stage "full"), which is the
// full gate. The winner then goes through the promotion gate like any candidate. A resumed run
// replays the strategy: trials already in the store are read back, not evaluated again.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "core/error.h"
#include "search/candidate_files.h"
#include "search/evaluation_rows.h"
#include "search/search_run.h"
#include "search/slot_threads.h"
#include "search/static_scan.h"
#include "tuner/tuner.h"

namespace kforge::search {

namespace fs = std::filesystem;

namespace {

tuner::TrialOutcome outcome_of(const std::vector<store::EvaluationRecord>& rows) {
  if (const auto* bad = first_failure(rows)) {
    return {false, 0, 0, bad->status + " on " + bad->workload.substr(0, 8) + ": " + headline(bad->log)};
  }
  const Timings t = passed_timings(rows);
  if (t.empty()) return {false, 0, 0, "no workload could be evaluated"};
  return {true, mean_latency(t), mean_spread(t), ""};
}

}  // namespace

void SearchRun::run_tune(Judge& judge, int slots) {
  const SolutionDir base = load_solution_dir(m_config.solution);
  const tuner::TunableSpace space = tuner::parse_tunables(base);
  std::vector<tuner::Config> configs = tuner::enumerate(space);
  // The base's own configuration is the run's seed, evaluated already.
  std::erase(configs, space.defaults);
  const int top = std::max(0, m_config.strategy.rungs - 1);
  say(fmt::format("tuning {} configurations of {} ({} strategy, {} rungs)", configs.size(), base.solution.name,
                  m_config.strategy.name, top + 1));
  std::map<int, std::vector<const Located<Trace>*>> rung_workloads;
  for (int r = 0; r < top; ++r) {
    ShapeOptions o = m_config.shapes;
    o.representatives = r + 1;
    rung_workloads[r] = group_workloads(*m_def, m_dataset.workloads_of(m_def->name), o).representatives();
  }
  rung_workloads[top] = m_shapes.all_workloads();
  std::map<std::string, std::int64_t> candidate_of;  // config label -> candidate id

  const auto trial = [&](Judge& slot_judge, const tuner::Config& config, int rung) -> tuner::TrialOutcome {
    const auto t0 = std::chrono::steady_clock::now();
    const SolutionDir dir = load_solution_dir(tuner::materialize(base, config, m_config.run_dir / "tune"));
    store::CandidateRecord rec = candidate_record(dir.solution);
    const std::string stage = rung == top ? "full" : "rung" + std::to_string(rung);
    std::optional<std::int64_t> id;
    std::vector<store::EvaluationRecord> rows;
    std::optional<store::CandidateRecord> existing;
    {
      std::lock_guard lock(m_mutex);
      id = m_store.find_in_run(m_run.id, rec.content_hash, "tune");
      if (id) {
        existing = m_store.candidate(*id);
        if (existing->state == "pending") m_store.discard_partial(*id);  // killed mid-trial: run it again
        rows = m_store.evaluations(*id, stage);
      } else {
        const std::string spent = budget_spent();
        if (!spent.empty()) {
          m_stop_reason = spent;
          return {false, 0, 0, "not run: " + spent};
        }
        rec.run_id = m_run.id;
        rec.step = m_next_step++;
        rec.generator = "tune";
        rec.parents = {m_root};
        rec.plan = config.label();
      }
    }
    if (!id) id = register_candidate(rec);
    {
      std::lock_guard lock(m_mutex);
      candidate_of[config.label()] = *id;
    }
    const bool done = existing && existing->state == "done";
    if (done) {
      std::optional<store::SummaryRecord> s;
      {
        std::lock_guard lock(m_mutex);
        s = m_store.summary(*id);
      }
      if (s && (s->tag == "scan" || s->tag == "compile_error")) return {false, 0, 0, s->tag};
      if (!rows.empty()) return outcome_of(rows);
    }
    // First trial of this candidate: the scan and the build decide whether it is worth timing.
    if (!done) {
      std::string tag, message;
      if (const auto findings = scan_sources(dir.solution); !findings.empty()) {
        tag = "scan";
        message = "forbidden calls:\n" + describe(findings);
      } else if (const BuildResult b = slot_judge.build(dir.solution); !b.ok) {
        tag = "compile_error";
        message = headline(b.log) + "\n" + log_head(b.log, 40, 4000);
      }
      if (!tag.empty()) {
        const auto s = summarize(*id, tag, "", tag == "scan" ? "scan" : "build", message, {}, std::nullopt, RepsBar{}, nullptr);
        std::lock_guard lock(m_mutex);
        m_store.complete_candidate(*id, s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return {false, 0, 0, tag};
      }
    }
    rows = to_rows(slot_judge.evaluate(dir, rung_workloads.at(rung), rung == top ? Stage::kFull : Stage::kTiming, inner_seed()),
                   stage, m_shapes);
    const tuner::TrialOutcome out = outcome_of(rows);
    const auto* bad = first_failure(rows);
    const auto s = summarize(*id, bad ? failure_tag(bad->status) : "", bad ? bad->shape_group : "", stage,
                             out.ok ? fmt::format("{}: {:.2f} us mean at rung {}", config.label(), out.latency_us, rung)
                                    : out.failure,
                             rows, out.ok ? std::optional<double>(out.latency_us) : std::nullopt, RepsBar{}, nullptr);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    {
      std::lock_guard lock(m_mutex);
      m_store.add_evaluations(*id, rows);
      if (done) {
        m_store.update_summary(*id, s, secs);
      } else {
        m_store.complete_candidate(*id, s, secs);
      }
    }
    say(fmt::format("c{} {} rung {}: {}", *id, config.label(), rung,
                    out.ok ? fmt::format("{:.2f} us", out.latency_us) : out.failure));
    return out;
  };

  // A rung's configurations spread over the evaluation slots (one judge each, as the agent's
  // slots: one per GPU with --gpus); the strategy sees the outcomes in its own order.
  std::vector<std::unique_ptr<Judge>> more_judges;  // slots 1.., made when a rung first needs them
  const tuner::BatchTrialFn batch = [&](const std::vector<tuner::Config>& cs, int rung) {
    std::vector<tuner::TrialOutcome> out(cs.size());
    const int used = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(slots), cs.size()));
    while (static_cast<int>(more_judges.size()) < used - 1) {
      more_judges.push_back(make_judge(static_cast<int>(more_judges.size()) + 1, slots));
    }
    std::atomic<std::size_t> next{0};
    run_slot_threads(
        used,
        [&](int s) {
          Judge& j = s == 0 ? judge : *more_judges[static_cast<std::size_t>(s) - 1];
          for (std::size_t i; (i = next++) < cs.size();) out[i] = trial(j, cs[i], rung);
        },
        [&] { next = cs.size(); });
    return out;
  };
  const tuner::TuneResult result = tuner::run_strategy(configs, m_config.strategy, batch);
  const tuner::Config* winner = result.best_config();
  if (!winner) {
    if (m_stop_reason.empty()) m_stop_reason = fmt::format("tuner: none of {} trials passed", result.trials.size());
    return;
  }
  const std::int64_t id = candidate_of.at(winner->label());
  const SolutionDir dir = materialize(id);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<store::EvaluationRecord> full;
  {
    std::lock_guard lock(m_mutex);
    full = m_store.evaluations(id, "full");
  }
  if (full.empty()) {  // halving stopped below the top rung: one config was left
    full = to_rows(judge.evaluate(dir, m_shapes.all_workloads(), Stage::kFull, inner_seed()), "full", m_shapes);
    std::lock_guard lock(m_mutex);
    m_store.add_evaluations(id, full);
  }
  RepsBar b;
  {
    std::lock_guard lock(m_mutex);
    b = bar();
  }
  std::map<std::string, double> lat;
  for (const auto& [w, t] : passed_timings(full)) lat[w] = t.latency_us;
  std::optional<double> reps_us;
  if (!first_failure(full)) {
    double sum = 0;
    for (const auto* w : m_shapes.representatives()) sum += lat.count(w->value.workload.uuid) ? lat[w->value.workload.uuid] : 0;
    reps_us = sum / static_cast<double>(m_shapes.representatives().size());
  }
  Verdict v;
  if (const auto* bad = first_failure(full)) {
    v.tag = failure_tag(bad->status);
    v.tag_group = bad->shape_group;
    v.stage = "full";
    v.reason = failure_message(*bad);
  } else {
    v = promote_if_better(judge, id, dir, full, reps_us, b);
  }
  const auto s = summarize(id, v.tag, v.tag_group, v.stage, winner->label() + " won the tuner; " + v.reason, full, reps_us,
                           b, &v);
  {
    std::lock_guard lock(m_mutex);
    m_store.update_summary(id, s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), v.events);
    m_best_changed_here = m_best_changed_here || !v.events.empty();
    // The other configurations that passed lost to the winner.
    for (const auto& [label, other] : candidate_of) {
      if (other == id) continue;
      auto os = m_store.summary(other);
      if (!os || !os->tag.empty()) continue;
      os->tag = "slower";
      os->text += " Slower than the tuner's winner " + winner->label() + ".";
      m_store.update_summary(other, *os);
    }
  }
  v.lock = {};
  say(s.text.substr(0, 300));
  if (m_stop_reason.empty()) {
    m_stop_reason = fmt::format("tuner finished: {} trials over {} configurations, winner {}", result.trials.size(),
                                candidate_of.size(), winner->label());
  }
}

}  // namespace kforge::search
