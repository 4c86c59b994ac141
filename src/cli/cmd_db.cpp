#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "core/error.h"
#include "store/store.h"

namespace kforge {
namespace {

struct DbOptions {
  std::string db = store::default_store_file().string();
  bool json = false;
  std::int64_t id = 0;
  std::string definition, tag;
  std::int64_t run = 0;
  bool history = false, files = false;
};

store::Store open_store(const DbOptions& o) {
  if (!std::filesystem::exists(o.db)) {
    throw Error("no search store", "a database written by `kforge search` (--db or $KFORGE_DB)").at_file(o.db);
  }
  return store::Store(o.db);
}

std::string us(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : "-"; }

std::string clip(std::string s, std::size_t n) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s.size() > n ? s.substr(0, n - 3) + "..." : s;
}

std::string tag_of(const store::CandidateSummary& cs) {
  if (!cs.summary) return cs.candidate.state;
  if (cs.summary->outcome.is_object() && cs.summary->outcome.value("promoted", false)) return "promoted";
  return cs.summary->tag.empty() ? "ok" : cs.summary->tag;
}

void show_runs(const DbOptions& o) {
  auto st = open_store(o);
  Json rows = Json::array();
  Table t({"RUN", "DEFINITION", "GENERATOR", "STATUS", "CANDIDATES", "PROMOTED", "STARTED", "STOP REASON"});
  for (const auto& r : st.runs()) {
    const auto cands = st.run_candidates(r.id);
    int promoted = 0;
    for (const auto& cs : cands) promoted += tag_of(cs) == "promoted";
    Json j = to_json(r);
    j["candidates"] = cands.size();
    j["promoted"] = promoted;
    rows.push_back(j);
    t.add({std::to_string(r.id), r.definition, r.generator, r.status, std::to_string(cands.size()), std::to_string(promoted),
           r.created.substr(0, 19), clip(r.stop_reason, 60)});
  }
  print_out(o.json ? rows.dump(2) + "\n" : (t.empty() ? "no runs\n" : t.render()));
}

void show_candidate(const DbOptions& o) {
  auto st = open_store(o);
  auto c = st.candidate(o.id);
  if (!c) throw Error("no candidate " + std::to_string(o.id)).at_file(o.db);
  const auto summary = st.summary(o.id);
  const auto evals = st.evaluations(o.id);
  if (o.json) {
    Json j = to_json(*c);
    if (!o.files) j.erase("files");
    j["summary"] = summary ? to_json(*summary) : Json();
    Json e = Json::array();
    for (const auto& r : evals) e.push_back(to_json(r));
    j["evaluations"] = e;
    print_out(j.dump(2) + "\n");
    return;
  }
  std::string parents;
  for (auto p : c->parents) parents += (parents.empty() ? "c" : ", c") + std::to_string(p);
  std::string out = fmt::format(
      "candidate c{} ({}), run {} step {}, {} from {}\ndefinition {}, state {}, created {}\nhash {}\nevaluation {:.1f} s{}\n",
      c->id, c->name, c->run_id, c->step, c->generator, parents.empty() ? "nothing" : parents, c->definition, c->state,
      c->created, c->content_hash, c->eval_seconds,
      c->agent_seconds ? fmt::format(", agent {:.1f} s exit {}", *c->agent_seconds, c->agent_exit.value_or(-1)) : "");
  if (!c->plan.empty()) out += "plan: " + clip(c->plan, 300) + "\n";
  if (summary) out += "summary [" + (summary->tag.empty() ? std::string("no failure") : summary->tag) + "]: " + summary->text + "\n";
  std::string files;
  for (const auto& f : c->files) files += (files.empty() ? "" : ", ") + f.path + fmt::format(" ({} B)", f.content.size());
  out += "files: " + files + "\n";
  Table t({"STAGE", "WORKLOAD", "GROUP", "STATUS", "LATENCY us", "SPREAD us", "MAX ABS ERR"});
  for (const auto& r : evals) {
    t.add({r.stage, r.workload.substr(0, 8), r.shape_group, r.status, us(r.latency_us), us(r.spread_us),
           r.max_abs_error ? fmt::format("{:.2e}", *r.max_abs_error) : "-"});
  }
  if (!t.empty()) out += t.render();
  if (o.files) {
    for (const auto& f : c->files) out += "\n--- " + f.path + " ---\n" + f.content + (f.content.empty() || f.content.back() == '\n' ? "" : "\n");
  }
  print_out(out);
}

void show_lineage(const DbOptions& o) {
  auto st = open_store(o);
  const auto chain = st.lineage(o.id);
  Json rows = Json::array();
  Table t({"CANDIDATE", "RUN", "STEP", "GENERATOR", "OUTCOME", "REPS us", "CHANGED"});
  for (const auto& cs : chain) {
    rows.push_back(to_json(cs));
    t.add({"c" + std::to_string(cs.candidate.id), std::to_string(cs.candidate.run_id), std::to_string(cs.candidate.step),
           cs.candidate.generator, tag_of(cs), us(cs.summary ? cs.summary->latency_us : std::nullopt),
           clip(cs.summary ? cs.summary->changed : "", 60)});
  }
  print_out(o.json ? rows.dump(2) + "\n" : t.render());
}

void show_best(const DbOptions& o) {
  auto st = open_store(o);
  const auto bests = st.bests(o.definition);
  const auto history = o.history ? st.best_history(o.definition) : std::vector<store::BestEvent>{};
  if (o.json) {
    Json b = Json::array(), h = Json::array();
    for (const auto& x : bests) b.push_back(to_json(x));
    for (const auto& e : history) h.push_back(to_json(e));
    Json out = {{"best", b}};
    if (o.history) out["history"] = h;
    print_out(out.dump(2) + "\n");
    return;
  }
  Table t({"DEFINITION", "GROUP", "CANDIDATE", "LATENCY us", "NOISE us", "UPDATED"});
  for (const auto& b : bests) {
    t.add({b.definition, b.shape_group.empty() ? "(all workloads)" : b.shape_group, "c" + std::to_string(b.candidate_id),
           fmt::format("{:.2f}", b.latency_us), fmt::format("{:.2f}", b.noise_us), b.updated.substr(0, 19)});
  }
  std::string out = t.empty() ? "no best yet\n" : t.render();
  if (o.history) {
    Table h({"EVENT", "DEFINITION", "GROUP", "CANDIDATE", "PREVIOUS", "LATENCY us", "REASON"});
    for (const auto& e : history) {
      h.add({e.event, e.definition, e.shape_group.empty() ? "(all)" : e.shape_group, "c" + std::to_string(e.candidate_id),
             e.previous_id ? "c" + std::to_string(*e.previous_id) : "-", fmt::format("{:.2f}", e.latency_us),
             clip(e.reason, 80)});
    }
    out += "\n" + h.render();
  }
  print_out(out);
}

void show_failures(const DbOptions& o) {
  auto st = open_store(o);
  const auto list = st.failures(o.tag, o.run ? std::optional<std::int64_t>(o.run) : std::nullopt);
  if (o.json) {
    Json rows = Json::array();
    for (const auto& cs : list) rows.push_back(to_json(cs));
    print_out(rows.dump(2) + "\n");
    return;
  }
  std::map<std::string, int> counts;
  Table t({"CANDIDATE", "RUN", "STEP", "TAG", "GROUP", "STAGE", "SUMMARY"});
  for (const auto& cs : list) {
    ++counts[cs.summary->tag];
    t.add({"c" + std::to_string(cs.candidate.id), std::to_string(cs.candidate.run_id), std::to_string(cs.candidate.step),
           cs.summary->tag, cs.summary->tag_group, cs.summary->stage, clip(cs.summary->text, 90)});
  }
  std::string head;
  for (const auto& [tag, n] : counts) head += (head.empty() ? "" : ", ") + fmt::format("{} {}", tag, n);
  print_out(list.empty() ? "no failures\n" : head + "\n" + t.render());
}

CLI::App* sub(CLI::App& db, const std::string& name, const std::string& help, const std::shared_ptr<DbOptions>& o) {
  auto* cmd = db.add_subcommand(name, help);
  cmd->add_option("--db", o->db, "The search store (default: $KFORGE_DB or runs/kforge.db)");
  add_json_flag(*cmd, o->json);
  return cmd;
}

}  // namespace

void add_db_command(CLI::App& app) {
  auto o = std::make_shared<DbOptions>();
  auto* db = app.add_subcommand("db", "Inspect the search store: runs, a candidate, its lineage, the bests with their history, "
                                      "failures by tag");
  db->require_subcommand(1);
  sub(*db, "runs", "Every run: definition, generator, status, candidates, promotions, why it stopped", o)->callback([o] {
    show_runs(*o);
  });
  auto* cand = sub(*db, "candidate", "One candidate: parents, plan, summary, files, every evaluation row", o);
  cand->add_option("id", o->id, "Candidate id")->required();
  cand->add_flag("--files", o->files, "Also print the source files");
  cand->callback([o] { show_candidate(*o); });
  auto* lin = sub(*db, "lineage", "A candidate's ancestry by first parent, root first", o);
  lin->add_option("id", o->id, "Candidate id")->required();
  lin->callback([o] { show_lineage(*o); });
  auto* best = sub(*db, "best", "The best per definition (all workloads) and per shape group", o);
  best->add_option("-d,--definition", o->definition, "Only this definition");
  best->add_flag("--history", o->history, "Also the promotions and rollbacks, oldest first");
  best->callback([o] { show_best(*o); });
  auto* fail = sub(*db, "failures",
                   "Candidates with a failure tag (scan, compile_error, runtime_error, timeout, incorrect, slower, "
                   "no_change), newest first",
                   o);
  fail->add_option("--tag", o->tag, "Only this tag");
  fail->add_option("--run", o->run, "Only this run");
  fail->callback([o] { show_failures(*o); });
}

}  // namespace kforge
