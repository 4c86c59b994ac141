#include "search/task_file.h"

#include <fmt/format.h>

namespace kforge::search {

namespace {

std::string us(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : "-"; }

void operator_section(std::string& md, const Definition& def) {
  md += "## The operator: " + def.name + "\n\n";
  if (def.description) md += *def.description + "\n\n";
  md += "Axes: ";
  bool first = true;
  for (const auto& [name, a] : def.axes) {
    if (!first) md += ", ";
    md += name;
    if (a.is_const) {
      md += '=';
      md += std::to_string(a.value);
    } else {
      md += " (varies)";
    }
    first = false;
  }
  md += "\n\n| tensor | role | shape | dtype | meaning |\n|---|---|---|---|---|\n";
  auto rows = [&](const NamedList<TensorSpec>& list, const char* role) {
    for (const auto& [name, t] : list) {
      std::string shape = "scalar";
      if (t.shape) {
        shape = "[";
        for (std::size_t i = 0; i < t.shape->size(); ++i) shape += (i ? ", " : "") + (*t.shape)[i];
        shape += "]";
      }
      md += "| " + name + " | " + role + " | " + shape + " | " + std::string(dtype_name(t.dtype)) + " | " +
            t.description.value_or("") + " |\n";
    }
  };
  rows(def.inputs, "input");
  rows(def.outputs, "output");
  md += "\nThe reference (the semantics the gate checks against):\n\n```python\n" + def.reference + "\n```\n\n";
}

}  // namespace

std::string render_task(const TaskInputs& in) {
  const Definition& def = *in.definition;
  std::string md = fmt::format("# Task: a faster `{}` (step {})\n\n", def.name, in.step);
  md +=
      "Improve the kernel in `solution/` (a copy of candidate c" + std::to_string(in.parent_id) +
      ", the parent). Edit its files in place; keep `solution.json`'s entry point and the kforge solution ABI "
      "(`include/kforge/solution_abi.h`). Write `PLAN.md` next to `solution/`: its first line says in one sentence "
      "what you changed, the rest why. When you exit, kforge evaluates `solution/`: a static scan for forbidden calls "
      "(allocation, device or stream synchronization, file, network or process access, timers, sleeps, getenv), "
      "a build, a quick gate and timing on the representatives below, the full gate on every workload, and, if it "
      "beats the best, a re-verification on new seeds timed beside the best. Only a win beyond the measured noise "
      "is promoted.\n\n";
  operator_section(md, def);

  md += "## Shape groups\n\nNumbers are mean latencies in microseconds; the floor is the roofline bound (" + in.device +
        ") and the gap is parent / floor.\n\n| group | workloads | representative | parent us | best us | floor us | gap |\n"
        "|---|---|---|---|---|---|---|\n";
  for (const auto& g : in.groups) {
    const std::string gap = g.parent_us && g.floor_us && *g.floor_us > 0 ? fmt::format("x{:.1f}", *g.parent_us / *g.floor_us) : "-";
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", g.group, g.workloads, g.representative, us(g.parent_us),
                      us(g.best_us), us(g.floor_us), gap);
  }
  if (!in.focus_group.empty()) md += "\nFocus this step on **" + in.focus_group + "** (see the parent below).\n";

  md += "\n## The parent: c" + std::to_string(in.parent_id) + " " + in.parent_name + " (" + in.parent_why + ")\n\n";
  if (!in.parent_summary.empty()) md += in.parent_summary + "\n\n";
  md += "Files (under `solution/`): ";
  for (std::size_t i = 0; i < in.files.size(); ++i) md += (i ? ", " : "") + std::string("`") + in.files[i] + "`";
  md += "\n\n";

  md += "## The evaluator's last errors\n\n";
  if (in.last_errors.empty()) md += "None in this run so far.\n\n";
  for (const auto& e : in.last_errors) {
    md += "- c" + std::to_string(e.candidate_id) + ": " + e.tag + (e.group.empty() ? "" : " on " + e.group) +
          " (stage " + e.stage + ")\n\n```\n" + e.text + (e.text.empty() || e.text.back() == '\n' ? "" : "\n") + "```\n\n";
  }

  md += "## Earlier attempts most like this one\n\n";
  if (in.similar.empty()) md += "None yet.\n\n";
  for (const auto& r : in.similar) {
    const auto& a = r.attempt->attempt;
    md += fmt::format("- c{} ({}, {}; code similarity {:.2f}): {}\n", a.candidate.id,
                      r.success ? "success" : "failure: " + a.summary->tag, a.candidate.generator, r.similarity,
                      a.summary->text);
  }

  md += "\n## Check a draft\n\n```sh\n" + in.eval_command + "\n```\n\nIt evaluates `solution/` on the representatives "
        "(exit status 0 when every workload passes) and prints the latency per workload.\n";
  return md;
}

}  // namespace kforge::search
