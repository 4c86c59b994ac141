// The agent generator's side of SearchRun: evaluation slots (one thread each, one judge each),
// a step per proposal, and the TASK.md each step's agent reads.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/sha256.h"
#include "search/agent.h"
#include "search/candidate_files.h"
#include "search/evaluation_rows.h"
#include "search/search_run.h"
#include "search/slot_threads.h"
#include "trace/axes.h"

namespace kforge::search {

namespace fs = std::filesystem;

namespace {

// Every regular file under `dir` as text (what an agent left when solution.json is unreadable).
std::vector<store::SourceFileRecord> raw_files(const fs::path& dir) {
  std::vector<store::SourceFileRecord> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back({fs::relative(e.path(), dir).string(), read_text_file(e.path())});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

// The name without an earlier "-r<run>s<step>" suffix, so names do not stack.
std::string root_name(const std::string& name) {
  const auto at = name.rfind("-r");
  if (at == std::string::npos) return name;
  const std::string tail = name.substr(at + 2);
  const auto s = tail.find('s');
  const bool digits = s != std::string::npos && s > 0 && s + 1 < tail.size() &&
                      tail.find_first_not_of("0123456789s") == std::string::npos && tail.find('s', s + 1) == std::string::npos;
  return digits ? name.substr(0, at) : name;
}

}  // namespace

void SearchRun::run_agent_slots(Judge& first, int slots) {
  require(!m_config.agent_cmd.empty(), "the agent generator needs a command", "--agent-cmd '...'");
  auto slot_loop = [&](Judge& judge) {
    for (;;) {
      int step = 0;
      {
        std::lock_guard lock(m_mutex);
        if (m_stop) return;
        if (!m_missing_steps.empty()) {  // counted in the budget when first started
          step = *m_missing_steps.begin();
          m_missing_steps.erase(m_missing_steps.begin());
        } else {
          const std::string spent = budget_spent();
          if (!spent.empty()) {
            m_stop = true;
            m_stop_reason = spent;
            return;
          }
          step = m_next_step++;
        }
      }
      agent_step(judge, step);
      after_completion(judge);
    }
  };
  run_slot_threads(
      slots,
      [&](int s) {
        std::unique_ptr<Judge> own;
        if (s > 0) own = make_judge(s, slots);
        slot_loop(s == 0 ? first : *own);
      },
      [&] {
        std::lock_guard lock(m_mutex);
        m_stop = true;
      });
}

void SearchRun::agent_step(Judge& judge, int step) {
  ParentChoice choice;
  std::optional<store::CandidateRecord> parent;
  std::string task;
  {
    std::lock_guard lock(m_mutex);
    choice = choose_parent(elites(), m_run.seed, step);
    parent = m_store.candidate(choice.id);
    if (!parent) throw Error("parent candidate " + std::to_string(choice.id) + " missing").at_file(m_store.file().string());
    task = task_markdown(choice, *parent, step);
  }
  const fs::path ws = m_config.run_dir / "steps" / ("step-" + std::to_string(step));
  prepare_workspace(ws, *parent, task);
  say(fmt::format("step {}: agent on c{} ({})", step, choice.id, choice.why));
  const AgentStep a = run_agent(m_config.agent_cmd, ws, step, m_config.agent_timeout_seconds);

  store::CandidateRecord rec;
  if (a.solution) {
    rec = candidate_record(a.solution->solution);
  } else {
    rec.definition = m_def->name;
    rec.solution = Json::object();
    rec.files = raw_files(ws / "solution");
    Sha256 h;
    for (const auto& f : rec.files) h.field(f.path).field(f.content);
    rec.content_hash = h.hex();
  }
  rec.name = fmt::format("{}-r{}s{}", root_name(parent->name), m_run.id, step);
  if (rec.solution.contains("name")) rec.solution["name"] = rec.name;
  rec.run_id = m_run.id;
  rec.step = step;
  rec.generator = "agent";
  rec.parents = {choice.id};
  rec.plan = a.plan;
  rec.agent_seconds = a.seconds;
  rec.agent_exit = a.exit_code;
  const std::int64_t id = register_candidate(rec);
  const std::string agent = fmt::format("agent exit {}{} after {:.1f} s", a.exit_code, a.timed_out ? " (timed out)" : "",
                                        a.seconds);
  if (!a.solution) {
    complete_unevaluated(id, "compile_error", "the solution folder is unreadable: " + a.load_error + " (" + agent + ")");
  } else if (rec.content_hash == parent->content_hash) {
    complete_unevaluated(id, "no_change", "the sources are the parent's (" + agent + ")");
  } else {
    say(fmt::format("c{}: {}; evaluating", id, agent));
    evaluate_candidate(judge, id);
  }
}

std::string SearchRun::task_markdown(const ParentChoice& choice, const store::CandidateRecord& parent, int step) {
  TaskInputs t;
  t.definition = m_def;
  t.device = "h100";
  t.step = step;
  t.parent_id = parent.id;
  t.parent_name = parent.name;
  t.parent_why = choice.why;
  if (auto s = m_store.summary(parent.id)) t.parent_summary = s->text;
  for (const auto& f : parent.files) t.files.push_back(f.path);

  // The parent's numbers per group: its full gate when it has one, else its timing stage.
  const auto rows = m_store.evaluations(parent.id);
  std::vector<store::EvaluationRecord> full, timing;
  for (const auto& r : rows) {
    if (r.stage == "full") full.push_back(r);
    if (r.stage == "timing") timing.push_back(r);
  }
  const auto parent_us = group_means(full.empty() ? timing : full);
  std::map<std::string, double> best_us;
  for (const auto& b : m_store.bests(m_def->name)) best_us[b.shape_group] = b.latency_us;
  double worst_gap = 0;
  for (const auto& g : m_shapes.groups) {
    GroupNumbers n;
    n.group = g.label;
    n.workloads = static_cast<int>(g.workloads.size());
    const auto* rep = g.representatives.front();
    n.representative = rep->value.workload.uuid.substr(0, 8) + " " +
                       format_var_axes(*m_def, resolve_axes(*m_def, rep->value.workload));
    if (parent_us.count(g.label)) n.parent_us = parent_us.at(g.label);
    if (best_us.count(g.label)) n.best_us = best_us.at(g.label);
    n.floor_us = m_floor_us.at(g.label);
    if (n.parent_us && *n.floor_us > 0 && *n.parent_us / *n.floor_us > worst_gap) {
      worst_gap = *n.parent_us / *n.floor_us;
      if (choice.focus_group.empty()) t.focus_group = g.label;
    }
    t.groups.push_back(n);
  }
  if (!choice.focus_group.empty()) t.focus_group = choice.focus_group;

  for (const auto& f : m_store.failures("", m_run.id)) {
    if (t.last_errors.size() >= 3) break;
    if (f.summary->tag == "slower" || f.summary->tag == "no_change") continue;
    t.last_errors.push_back({f.candidate.id, f.summary->tag, f.summary->tag_group, f.summary->stage,
                             f.summary->outcome.value("message", std::string())});
  }

  std::vector<PastAttempt> attempts;
  for (auto& cs : m_store.definition_candidates(m_def->name, 200)) {
    std::string source;
    for (const auto& f : m_store.files(cs.candidate.id)) source += f.content + "\n";
    attempts.push_back({std::move(cs), std::move(source)});
  }
  std::string parent_source;
  for (const auto& f : parent.files) parent_source += f.content + "\n";
  t.similar = retrieve_similar(attempts, {parent_source, t.focus_group, parent.id});

  std::string reps;
  for (const auto* w : m_shapes.representatives()) reps += (reps.empty() ? "" : ",") + w->value.workload.uuid;
  const EvalConfig& e = m_config.eval;
  t.eval_command = fmt::format("{} eval --data {} -s solution -w {} --trials {} --warmup {} --iterations {} "
                               "--timing-trials {} --timeout {}{}",
                               m_env.kforge_exe.empty() ? "kforge" : m_env.kforge_exe.string(), m_config.data.string(),
                               reps, e.trials, e.timing.warmup, e.timing.iterations, e.timing_trials, e.timeout_seconds,
                               e.timing.cold_cache ? "" : " --warm-cache");
  return render_task(t);
}

}  // namespace kforge::search
