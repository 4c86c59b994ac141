#include "search/search_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/rng.h"
#include "roofline/roofline.h"
#include "search/candidate_files.h"
#include "search/evaluation_rows.h"
#include "search/process_judge.h"
#include "synth/synthesizer.h"

namespace kforge::search {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMessageChars = 4000;  // a summary keeps this much of the failing log

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// The latest PASSED latency per workload over the stages that time the full protocol.
std::map<std::string, double> latest_latencies(const std::vector<store::EvaluationRecord>& rows) {
  std::map<std::string, double> out;
  for (const auto& r : rows) {
    const bool timed = r.stage == "timing" || r.stage == "full" || r.stage == "verify";
    if (timed && r.status == "PASSED" && r.latency_us) out[r.workload] = *r.latency_us;
  }
  return out;
}

// Mean over the workloads of `which` that `lat` has; nullopt unless it has them all.
std::optional<double> mean_over(const std::map<std::string, double>& lat, const std::vector<const Located<Trace>*>& which) {
  if (which.empty()) return std::nullopt;
  double sum = 0;
  for (const auto* w : which) {
    auto it = lat.find(w->value.workload.uuid);
    if (it == lat.end()) return std::nullopt;
    sum += it->second;
  }
  return sum / static_cast<double>(which.size());
}

}  // namespace

SearchRun::SearchRun(store::Store& store, store::RunRecord run, SearchConfig config, const SearchEnvironment& env)
    : m_store(store), m_run(std::move(run)), m_config(std::move(config)), m_env(env) {
  m_dataset = load_dataset(m_config.data);
  const auto* def = m_dataset.definition(m_config.definition);
  if (!def) throw Error("no definition '" + m_config.definition + "' in " + m_config.data.string());
  m_def = &def->value;
  const auto workloads = m_dataset.workloads_of(m_def->name);
  if (workloads.empty()) throw Error("definition '" + m_def->name + "' has no workloads in " + m_config.data.string());
  m_shapes = group_workloads(*m_def, workloads, m_config.shapes);
  const auto value_inputs = roofline_value_inputs(*m_def);
  for (const auto& g : m_shapes.groups) {
    double sum = 0;
    for (const auto* w : g.representatives) {
      const auto values = synthesize_inputs(*m_def, w->value.workload, &m_dataset, inner_seed(), &value_inputs);
      sum += estimate_roofline(*m_def, values.axes, value_inputs.empty() ? nullptr : &values.tensors, device_peaks("h100"))
                 .floor_us();
    }
    m_floor_us[g.label] = sum / static_cast<double>(g.representatives.size());
  }
  fs::create_directories(m_config.run_dir);
}

void SearchRun::say(const std::string& line) {
  static std::mutex say_mutex;
  std::lock_guard lock(say_mutex);
  if (m_env.progress) m_env.progress(line);
}

std::unique_ptr<Judge> SearchRun::make_judge(int slot, int slots) {
  if (m_env.make_judge) return m_env.make_judge(slot, slots);
  EvalConfig eval = m_config.eval;
  // Per process: workers of a killed run may still be writing into their folders.
  const fs::path work = m_config.run_dir / "work" / ("slot" + std::to_string(slot) + "-" + std::to_string(::getpid()));
  if (slots == 1 && m_config.gpus.empty()) {
    if (!m_env.kforge_exe.empty()) eval.worker_exe = m_env.kforge_exe;
    eval.work_dir = work;
    return std::make_unique<EvaluatorJudge>(m_dataset, eval);
  }
  std::map<std::string, std::string> env;
  if (!m_config.gpus.empty()) env["CUDA_VISIBLE_DEVICES"] = m_config.gpus.at(static_cast<std::size_t>(slot));
  const fs::path exe = m_env.kforge_exe.empty() ? fs::read_symlink("/proc/self/exe") : m_env.kforge_exe;
  return std::make_unique<ProcessJudge>(exe, m_config.data, eval, env, work);
}

std::uint64_t SearchRun::inner_seed() const { return CounterRng(m_run.seed).derive("inner").bits(0) | 1u; }

std::uint64_t SearchRun::verify_seed(std::int64_t candidate_id) const {
  return CounterRng(m_run.seed).derive("verify").bits(static_cast<std::uint64_t>(candidate_id)) | 1u;
}

std::string SearchRun::budget_spent() {
  const Budget& b = m_config.budget;
  if (m_next_step - 1 >= b.max_candidates) return fmt::format("max candidates ({})", b.max_candidates);
  double eval = 0, agent = 0;
  int since_promotion = 0;
  for (const auto& cs : m_store.run_candidates(m_run.id)) {
    eval += cs.candidate.eval_seconds;
    agent += cs.candidate.agent_seconds.value_or(0);
    if (cs.candidate.step == 0 || !cs.summary) continue;
    const bool promoted = cs.summary->outcome.is_object() && cs.summary->outcome.value("promoted", false);
    since_promotion = promoted ? 0 : since_promotion + 1;
  }
  if (b.eval_minutes > 0 && eval >= b.eval_minutes * 60) return fmt::format("evaluation budget ({} min)", b.eval_minutes);
  if (b.agent_minutes > 0 && agent >= b.agent_minutes * 60) return fmt::format("agent budget ({} min)", b.agent_minutes);
  if (b.patience > 0 && since_promotion >= b.patience) {
    return fmt::format("no promotion in the last {} candidates", b.patience);
  }
  return "";
}

EliteSet SearchRun::elites() {
  EliteSet e;
  e.root = m_root;
  if (auto b = m_store.best(m_def->name)) e.best = b->candidate_id;
  for (const auto& b : m_store.bests(m_def->name)) {
    const bool known = std::any_of(m_shapes.groups.begin(), m_shapes.groups.end(),
                                   [&](const ShapeGroup& g) { return g.label == b.shape_group; });
    if (!b.shape_group.empty() && known) e.group_bests.emplace_back(b.shape_group, b.candidate_id);
  }
  std::vector<std::pair<double, std::int64_t>> passed;
  for (const auto& cs : m_store.definition_candidates(m_def->name)) {
    const auto& s = cs.summary;
    if (s && s->latency_us && s->outcome.is_object() && s->outcome.value("full_passed", false) && cs.candidate.solution.contains("sources")) {
      passed.emplace_back(*s->latency_us, cs.candidate.id);
    }
  }
  std::sort(passed.begin(), passed.end());
  for (const auto& [us, id] : passed) {
    if (e.archive.size() < kArchiveSize) e.archive.push_back(id);
  }
  return e;
}

RepsBar SearchRun::bar() {
  RepsBar b;
  const auto reps = m_shapes.representatives();
  if (auto best = m_store.best(m_def->name)) b.overall_us = mean_over(latest_latencies(m_store.evaluations(best->candidate_id)), reps);
  for (const auto& rec : m_store.bests(m_def->name)) {
    for (const auto& g : m_shapes.groups) {
      if (g.label != rec.shape_group) continue;
      if (auto us = mean_over(latest_latencies(m_store.evaluations(rec.candidate_id)), g.representatives)) b.group_us[g.label] = *us;
    }
  }
  return b;
}

std::int64_t SearchRun::register_candidate(store::CandidateRecord c) {
  std::lock_guard lock(m_mutex);
  return m_store.add_candidate(c);
}

SolutionDir SearchRun::materialize(std::int64_t id) {
  std::optional<store::CandidateRecord> c;
  {
    std::lock_guard lock(m_mutex);
    c = m_store.candidate(id);
  }
  if (!c) throw Error("no candidate " + std::to_string(id)).at_file(m_store.file().string());
  return write_candidate(*c, m_config.run_dir / "candidates" / ("c" + std::to_string(id)));
}

void SearchRun::evaluate_candidate(Judge& judge, std::int64_t id) {
  const auto t0 = std::chrono::steady_clock::now();
  RepsBar b;
  {
    std::lock_guard lock(m_mutex);
    b = bar();
  }
  const SolutionDir dir = materialize(id);
  const CascadeOutcome co = run_cascade(judge, dir, m_shapes, b, inner_seed(), [&](const auto& rows) {
    std::lock_guard lock(m_mutex);
    m_store.add_evaluations(id, rows);
  });
  Verdict v;
  if (co.full_passed) {
    std::vector<store::EvaluationRecord> full;
    for (const auto& r : co.rows) {
      if (r.stage == "full") full.push_back(r);
    }
    v = promote_if_better(judge, id, dir, full, co.reps_us, b);
  } else {
    v.tag = co.tag;
    v.tag_group = co.tag_group;
    v.stage = co.stage;
    v.reason = co.message;
  }
  const auto summary = summarize(id, v.tag, v.tag_group, v.stage, v.reason, co.rows, co.reps_us, b, &v);
  {
    std::lock_guard lock(m_mutex);
    m_store.complete_candidate(id, summary, seconds_since(t0), v.events);
    ++m_completed;
    m_best_changed_here = m_best_changed_here || !v.events.empty();
  }
  v.lock = {};  // the next verification may now time against the new best
  say(fmt::format("c{} {} ({:.1f} s)", id, summary.text.substr(summary.text.find(':') + 2, 220), seconds_since(t0)));
}

SearchRun::Verdict SearchRun::promote_if_better(Judge& judge, std::int64_t id, const SolutionDir& dir,
                                                const std::vector<store::EvaluationRecord>& full_rows,
                                                std::optional<double> reps_us, const RepsBar& bar) {
  Verdict v;
  v.stage = "full";
  std::map<std::string, std::pair<std::int64_t, std::vector<store::EvaluationRecord>>> group_bests;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& b : m_store.bests(m_def->name)) {
      if (!b.shape_group.empty()) group_bests[b.shape_group] = {b.candidate_id, m_store.evaluations(b.candidate_id, "full")};
    }
  }
  const auto group_events = group_promotions(m_shapes, id, full_rows, group_bests, m_config.min_gain, m_run.id);
  std::string groups;
  for (const auto& e : group_events) groups += (groups.empty() ? "" : ", ") + e.shape_group;
  const bool attempt = !bar.overall_us || (reps_us && *reps_us < *bar.overall_us);
  if (!attempt) {
    v.events = group_events;
    v.tag = group_events.empty() ? "slower" : "";
    v.reason = fmt::format("passed every workload; {:.2f} us on the representatives is not below the best's {:.2f} us{}",
                           reps_us.value_or(0), *bar.overall_us, groups.empty() ? "" : "; best on " + groups);
    return v;
  }
  v.lock = std::unique_lock(m_promotion);
  std::optional<Contender> best;
  {
    std::lock_guard lock(m_mutex);
    if (auto b = m_store.best(m_def->name)) best = Contender{b->candidate_id, {}};
  }
  if (best) best->solution = materialize(best->id);
  say(fmt::format("c{}: re-verifying on new seeds{}", id, best ? fmt::format(", timed beside the best c{}", best->id) : ""));
  const PromotionOutcome po =
      verify_and_promote(judge, m_shapes, {id, dir}, best, verify_seed(id), m_config.min_gain, m_run.id);
  {
    std::lock_guard lock(m_mutex);
    m_store.add_evaluations(id, po.candidate_rows);
    if (best && !po.best_rows.empty()) m_store.add_evaluations(best->id, po.best_rows);
  }
  v.stage = "verify";
  v.reason = po.reason;
  if (po.promoted) {
    v.promoted = true;
    v.events = group_events;
    v.events.push_back(*po.event);
  } else if (po.tag == "slower") {
    v.events = group_events;
    v.tag = group_events.empty() ? "slower" : "";
    if (!groups.empty()) v.reason += "; best on " + groups;
  } else {
    v.tag = po.tag;  // failed on new seeds: not an elite of any group either
    v.tag_group = po.tag_group;
  }
  return v;
}

store::SummaryRecord SearchRun::summarize(std::int64_t id, const std::string& tag, const std::string& tag_group,
                                          const std::string& stage, const std::string& message,
                                          const std::vector<store::EvaluationRecord>& rows, std::optional<double> reps_us,
                                          const RepsBar& bar, const Verdict* verdict) {
  std::optional<store::CandidateRecord> c;
  std::vector<store::SourceFileRecord> parent_files;
  {
    std::lock_guard lock(m_mutex);
    c = m_store.candidate(id);
    if (c && !c->parents.empty()) parent_files = m_store.files(c->parents.front());
  }
  store::SummaryRecord s;
  s.candidate_id = id;
  s.tag = tag;
  s.tag_group = tag_group;
  s.stage = stage;
  s.changed = c->parents.empty() ? "the run's seed solution" : describe_changes(parent_files, c->files);
  s.latency_us = reps_us;
  Json groups = Json::object();
  for (const auto& g : m_shapes.groups) {
    // The group's first failure, else how its rows went; mean latencies per timed stage.
    Json o = {{"status", "not run"}};
    std::vector<store::EvaluationRecord> timing, full;
    for (const auto& r : rows) {
      if (r.shape_group != g.label) continue;
      const bool failed = !failure_tag(r.status).empty();
      if (o["status"] == "not run" || (failed && failure_tag(o["status"].get<std::string>()).empty())) o["status"] = r.status;
      if (r.stage == "timing") timing.push_back(r);
      if (r.stage == "full") full.push_back(r);
    }
    if (const auto m = group_means(timing); m.count(g.label)) o["timing_us"] = m.at(g.label);
    if (const auto m = group_means(full); m.count(g.label)) o["full_us"] = m.at(g.label);
    if (bar.group_us.count(g.label)) o["best_us"] = bar.group_us.at(g.label);
    groups[g.label] = o;
  }
  Json group_best = Json::array();
  bool promoted = false;
  if (verdict) {
    for (const auto& e : verdict->events) {
      if (!e.shape_group.empty()) group_best.push_back(e.shape_group);
    }
    promoted = verdict->promoted;
  }
  const bool full_passed = stage == "full" || stage == "verify" ? (tag.empty() || tag == "slower") : false;
  s.outcome = {{"groups", groups}, {"full_passed", full_passed}, {"promoted", promoted}, {"group_best", group_best},
               {"message", message.substr(0, kMessageChars)}};

  std::string what;
  if (promoted) {
    what = "promoted to best: " + first_line(message);
  } else if (tag.empty()) {
    what = "kept as an elite (" + first_line(message) + ")";
  } else if (tag == "slower") {
    what = "slower: " + first_line(message);
  } else {
    what = tag + (tag_group.empty() ? "" : " on " + tag_group) + " at " + stage + ": " + first_line(message);
  }
  const std::string parent = c->parents.empty() ? "" : " from c" + std::to_string(c->parents.front());
  s.text = fmt::format("c{} ({}{}, step {}): {}. Changed: {}.{}", id, c->generator, parent, c->step, what, s.changed,
                       c->plan.empty() ? "" : " Plan: " + first_line(c->plan));
  return s;
}

void SearchRun::complete_unevaluated(std::int64_t id, const std::string& tag, const std::string& message) {
  const auto s = summarize(id, tag, "", "generate", message, {}, std::nullopt, RepsBar{}, nullptr);
  {
    std::lock_guard lock(m_mutex);
    m_store.complete_candidate(id, s, 0);
    ++m_completed;
  }
  say(s.text.substr(0, 240));
}

void SearchRun::after_completion(Judge& judge) {
  int completed = 0;
  {
    std::lock_guard lock(m_mutex);
    completed = m_completed;
  }
  if (m_config.regression_every > 0 && completed > 0 && completed % m_config.regression_every == 0) regression(judge);
}

void SearchRun::regression(Judge& judge) {
  std::unique_lock promotion(m_promotion);
  std::vector<RegressionPair> pairs;
  std::uint64_t check = 0;  // which check of the run: its seeds
  {
    std::lock_guard lock(m_mutex);
    check = static_cast<std::uint64_t>(m_completed);
    pairs = regression_pairs(m_store.bests(m_def->name), m_store.best_history(m_def->name));
  }
  const std::uint64_t seed = CounterRng(m_run.seed).derive("regression").bits(check) | 1u;
  // The definition's pair (first) is re-timed on every workload; a group whose pair is the same is
  // decided on those rows, any other group's pair is re-timed on that group's workloads.
  std::optional<RegressionOutcome> whole;
  for (const RegressionPair& pair : pairs) {
    const std::string where = pair.group.empty() ? "" : " on " + pair.group;
    RegressionOutcome r;
    if (whole && pair.best_id == pairs.front().best_id && pair.previous_id == pairs.front().previous_id) {
      r = regression_verdict(m_shapes, pair.group, pair.best_id, pair.previous_id, whole->best_rows, whole->previous_rows,
                             m_config.min_gain, m_run.id);
    } else {
      say(fmt::format("regression check{}: the best c{} re-timed beside c{}", where, pair.best_id, pair.previous_id));
      const Contender b{pair.best_id, materialize(pair.best_id)};
      const Contender p{pair.previous_id, materialize(pair.previous_id)};
      r = regression_check(judge, m_shapes, pair.group, b, p, seed, m_config.min_gain, m_run.id);
      {
        std::lock_guard lock(m_mutex);
        m_store.add_evaluations(b.id, r.best_rows);
        m_store.add_evaluations(p.id, r.previous_rows);
      }
      if (pair.group.empty()) whole = r;
    }
    if (r.rollback) {
      std::lock_guard lock(m_mutex);
      m_store.record_best_change(*r.event);
    }
    say((r.rollback ? "ROLLBACK: " : "") + first_line(r.reason));
  }
}

void SearchRun::ensure_seed(Judge& judge) {
  {
    std::lock_guard lock(m_mutex);
    for (const auto& cs : m_store.run_candidates(m_run.id)) {
      if (cs.candidate.step == 0) m_root = cs.candidate.id;
    }
  }
  if (m_root != 0) return;
  const SolutionDir sd = load_solution_dir(m_config.solution);
  require(sd.solution.definition == m_def->name,
          "solution '" + sd.solution.name + "' implements '" + sd.solution.definition + "'", "a solution of " + m_def->name);
  store::CandidateRecord rec = candidate_record(sd.solution);
  rec.run_id = m_run.id;
  rec.step = 0;
  rec.generator = "seed";
  rec.plan = "the seed solution " + m_config.solution.string();
  m_root = register_candidate(rec);
  say(fmt::format("c{}: the seed solution {}", m_root, sd.solution.name));
  evaluate_candidate(judge, m_root);
}

void SearchRun::finish_pending(Judge& judge) {
  std::vector<store::CandidateSummary> pending;
  {
    std::lock_guard lock(m_mutex);
    std::set<int> steps;
    for (auto& cs : m_store.run_candidates(m_run.id)) {
      m_next_step = std::max(m_next_step, cs.candidate.step + 1);
      steps.insert(cs.candidate.step);
      if (cs.candidate.state == "pending" && cs.candidate.generator != "tune") pending.push_back(cs);
    }
    // Parallel slots may have registered a later step while an earlier one's agent still ran.
    if (m_config.generator == "agent") {
      for (int s = 1; s < m_next_step; ++s) {
        if (!steps.count(s)) m_missing_steps.insert(s);
      }
    }
  }
  for (const auto& cs : pending) {
    say(fmt::format("c{}: evaluating again (it was in flight when the run stopped)", cs.candidate.id));
    {
      std::lock_guard lock(m_mutex);
      m_store.discard_partial(cs.candidate.id);
    }
    if (cs.candidate.step == 0) m_root = cs.candidate.id;
    if (!cs.candidate.solution.contains("sources")) {
      complete_unevaluated(cs.candidate.id, "compile_error", "the agent left no readable solution folder");
    } else {
      evaluate_candidate(judge, cs.candidate.id);
    }
  }
}

void SearchRun::run() {
  const int slots = m_config.gpus.empty() ? std::max(1, m_config.jobs) : static_cast<int>(m_config.gpus.size());
  std::unique_ptr<Judge> judge = make_judge(0, slots);
  finish_pending(*judge);
  ensure_seed(*judge);
  if (m_config.generator == "tune") {
    run_tune(*judge, slots);
  } else {
    run_agent_slots(*judge, slots);
  }
  if (m_best_changed_here) regression(*judge);
  std::optional<store::BestRecord> best;
  {
    std::lock_guard lock(m_mutex);
    m_store.finish_run(m_run.id, m_stop_reason);
    best = m_store.best(m_def->name);
  }
  say(fmt::format("run {} finished: {}; best {}", m_run.id, m_stop_reason,
                  best ? fmt::format("c{} ({:.2f} us mean over every workload)", best->candidate_id, best->latency_us)
                       : std::string("none")));
}

}  // namespace kforge::search
