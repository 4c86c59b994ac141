#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "harness/solution_dir.h"
#include "synth/synthesizer.h"
#include "trace/validate.h"

namespace kforge {
namespace fs = std::filesystem;
namespace {

struct ValidateOptions {
  std::string path;
  bool json = false;
};

struct Report {
  std::size_t definitions = 0, solutions = 0, traces = 0;
  std::vector<Error> errors;
  // definition -> counts and notes (note text -> number of workloads it applies to)
  struct PerDef {
    std::size_t workloads = 0, valid = 0;
    std::map<std::string, std::size_t> notes;
  };
  std::map<std::string, PerDef> per_def;
};

Json error_json(const Error& e) {
  return {{"file", e.file()}, {"line", e.line()}, {"field", e.field()}, {"message", e.message()},
          {"expected", e.expected()}, {"text", e.what()}};
}

// Notes name the input ("routing_logits: blob ./blob/...x.safetensors not bundled; ...");
// dropping the per-workload path lets one line summarize every workload it applies to.
std::string generalize(const std::string& note) {
  const auto blob = note.find(": blob ");
  const auto rest = note.find(" not bundled");
  if (blob != std::string::npos && rest != std::string::npos) return note.substr(0, blob) + ": blob" + note.substr(rest);
  return note;
}

void check_workloads(const Dataset& ds, const std::vector<Located<Trace>>& records, Report& r) {
  for (const auto& w : records) {
    auto& pd = r.per_def[w.value.definition];
    ++pd.workloads;
    // Value constraints (cu_seqlens[-1]) are checked on synthesized tensors where no blob exists.
    SynthesizedInputs values;
    const auto* ld = ds.definition(w.value.definition);
    if (ld) {
      const auto needed = value_constraint_inputs(ld->value);
      if (!needed.empty()) {
        try {
          const std::set<std::string> only(needed.begin(), needed.end());
          values = synthesize_inputs(ld->value, w.value.workload, &ds, 0, &only);
          for (const auto& [n, p] : values.provenance) {
            if (p.find("blob ") != 0) ++pd.notes[n + ": value constraints checked on synthesized values (seed 0)"];
          }
        } catch (Error&) {
          // validate_workload reports the underlying problem (axes, blob) itself.
        }
      }
    }
    auto check = validate_workload(ds, w, [&](std::string_view n) -> const Tensor* {
      auto it = values.tensors.find(n);
      return it == values.tensors.end() ? nullptr : &it->second;
    });
    for (auto& e : check.errors) r.errors.push_back(e);
    if (check.ok()) ++pd.valid;
    for (const auto& n : check.notes) ++pd.notes[generalize(n)];
    for (const auto& n : check.waived) ++pd.notes["constraint waived by kforge-dataset.json: " + n];
  }
}

fs::path find_root(fs::path p) {
  for (p = fs::absolute(p).parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (fs::is_directory(p / "definitions")) return p;
  }
  return {};
}

Report validate_path(const fs::path& path) {
  Report r;
  if (fs::is_directory(path)) {
    Dataset ds = load_dataset(path, &r.errors);
    r.definitions = ds.definitions.size();
    r.solutions = ds.solutions.size();
    r.traces = ds.traces.size();
    for (const auto& d : ds.definitions) r.per_def[d.value.name];
    check_workloads(ds, ds.workloads, r);
    return r;
  }
  if (!fs::exists(path)) throw Error("no such file or directory", "a dataset folder or a .json/.jsonl file").at_file(path.string());
  try {
    if (path.extension() == ".jsonl") {
      const fs::path root = find_root(path);
      auto records = load_trace_file(path, &r.errors);
      if (root.empty()) {
        r.errors.push_back(Error("no dataset root (a parent folder with definitions/) to check workloads against",
                                 "the file inside a dataset").at_file(path.string()));
        return r;
      }
      std::vector<Error> ignored;  // problems elsewhere in the dataset are not this file's
      const Dataset ds = load_dataset(root, &ignored);
      check_workloads(ds, records, r);
    } else if (path.extension() == ".json") {
      const std::string text = [&] {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
      }();
      if (text.find("\"spec\"") != std::string::npos) {
        // A folder solution (solution.json beside its sources) may list sources by path only.
        if (path.filename() == "solution.json") {
          load_solution_dir(path.parent_path());
        } else {
          load_solution_file(path);
        }
        r.solutions = 1;
      } else {
        r.per_def[load_definition_file(path).value.name];
        r.definitions = 1;
      }
    } else {
      throw Error("unknown file type '" + path.extension().string() + "'", ".json (definition, solution) or .jsonl (workloads, traces)")
          .at_file(path.string());
    }
  } catch (Error& e) {
    r.errors.push_back(e);
  }
  return r;
}

void run_validate(const ValidateOptions& o) {
  const Report r = validate_path(o.path);
  std::size_t workloads = 0, valid = 0;
  for (const auto& [name, pd] : r.per_def) {
    workloads += pd.workloads;
    valid += pd.valid;
  }
  if (o.json) {
    Json errors = Json::array(), defs = Json::array();
    for (const auto& e : r.errors) errors.push_back(error_json(e));
    for (const auto& [name, pd] : r.per_def) {
      Json notes = Json::array();
      for (const auto& [n, c] : pd.notes) notes.push_back({{"note", n}, {"workloads", c}});
      defs.push_back({{"definition", name}, {"workloads", pd.workloads}, {"valid", pd.valid}, {"notes", notes}});
    }
    print_out(Json{{"path", o.path}, {"ok", r.errors.empty()}, {"definitions", r.definitions},
                   {"solutions", r.solutions}, {"traces", r.traces}, {"workloads", workloads}, {"valid_workloads", valid},
                   {"per_definition", defs}, {"errors", errors}}.dump(2) + "\n");
  } else {
    std::string out = fmt::format("{}: {} definitions, {} workloads, {} solutions, {} traces\n", o.path, r.definitions,
                                  workloads, r.solutions, r.traces);
    if (!r.per_def.empty()) {
      Table t({"DEFINITION", "WORKLOADS", "VALID"});
      for (const auto& [name, pd] : r.per_def) t.add({name, std::to_string(pd.workloads), std::to_string(pd.valid)});
      out += "\n" + t.render();
    }
    std::string notes;
    for (const auto& [name, pd] : r.per_def) {
      for (const auto& [n, c] : pd.notes) notes += fmt::format("  {}: {} ({} workloads)\n", name, n, c);
    }
    if (!notes.empty()) out += "\nnotes:\n" + notes;
    if (!r.errors.empty()) {
      out += fmt::format("\n{} errors:\n", r.errors.size());
      for (const auto& e : r.errors) out += std::string("  ") + e.what() + "\n";
    }
    out += r.errors.empty() ? fmt::format("\nOK: {} of {} workloads valid\n", valid, workloads)
                            : fmt::format("\nFAILED: {} errors; {} of {} workloads valid\n", r.errors.size(), valid, workloads);
    print_out(out);
  }
  if (!r.errors.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_validate_command(CLI::App& app) {
  auto opts = std::make_shared<ValidateOptions>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check a dataset folder (or one definition, solution or workload file): schema, axes, inputs, blobs and "
      "constraints. Exit 1 if anything is invalid; each error names file:line, field and what was expected");
  opts->path = default_data_dir();
  cmd->add_option("path", opts->path, "Dataset folder or file (default: $KFORGE_DATA or ./data)");
  add_json_flag(*cmd, opts->json);
  cmd->callback([opts] { run_validate(*opts); });
}

}  // namespace kforge
