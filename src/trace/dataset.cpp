#include "trace/dataset.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/json_locate.h"

namespace kforge {
namespace fs = std::filesystem;

std::string read_text_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open file", "a readable file").at_file(file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_under(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ext) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Parses JSON text; a syntax error names the line and column.
Json parse_json_text(const std::string& text, const std::string& file, int line_base) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    const int line = line_base + line_of_offset(text, e.byte == 0 ? 0 : e.byte - 1) - 1;
    std::string what = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 1, column 5: ".
    if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
    throw Error("malformed JSON: " + what, "valid JSON").at_file(file).at_line(line);
  }
}

// Runs parse(json) and annotates any Error with file and the line of the failing field.
template <class T, class Parse>
Located<T> parse_located(const std::string& text, const std::string& file, int line_base, Parse&& parse) {
  const Json j = parse_json_text(text, file, line_base);
  try {
    return {parse(j), file, line_base};
  } catch (Error& e) {
    const int rel = e.field().empty() ? 1 : std::max(1, json_line_of(text, e.field()));
    throw e.at_file(file).at_line(line_base + rel - 1);
  }
}

DatasetManifest load_manifest(const fs::path& root) {
  DatasetManifest m;
  const fs::path file = root / "kforge-dataset.json";
  if (!fs::exists(file)) return m;
  const std::string text = read_text_file(file);
  const Json j = parse_json_text(text, file.string(), 1);
  try {
    require_object(j, "the dataset manifest");
    if (auto policy = optional_string(j, "missing_blobs")) {
      if (*policy != "synthesize" && *policy != "error") {
        throw Error("unknown policy '" + *policy + "'", "\"synthesize\" or \"error\"").in_field("missing_blobs");
      }
      m.synthesize_missing_blobs = *policy == "synthesize";
    }
    if (j.contains("constraint_waivers")) {
      for (const auto& [def, waivers] : j["constraint_waivers"].items()) {
        for (const auto& [expr, why] : waivers.items()) {
          if (!why.is_string()) {
            throw Error("got " + why.dump(), "a reason string").in_field(def).in_field("constraint_waivers");
          }
          m.constraint_waivers[def][expr] = why.get<std::string>();
        }
      }
    }
  } catch (Error& e) {
    throw e.at_file(file.string()).at_line(std::max(1, json_line_of(text, e.field())));
  }
  return m;
}

template <class F>
void collect(std::vector<Error>* errors, F&& f) {
  if (!errors) {
    f();
    return;
  }
  try {
    f();
  } catch (Error& e) {
    errors->push_back(e);
  }
}

}  // namespace

const Located<Definition>* Dataset::definition(std::string_view name) const {
  for (const auto& d : definitions) {
    if (d.value.name == name) return &d;
  }
  return nullptr;
}

std::vector<const Located<Trace>*> Dataset::workloads_of(std::string_view def) const {
  std::vector<const Located<Trace>*> out;
  for (const auto& w : workloads) {
    if (w.value.definition == def) out.push_back(&w);
  }
  return out;
}

const Located<Trace>* Dataset::workload(std::string_view uuid) const {
  for (const auto& w : workloads) {
    if (w.value.workload.uuid == uuid) return &w;
  }
  return nullptr;
}

Located<Definition> load_definition_file(const fs::path& file) {
  return parse_located<Definition>(read_text_file(file), file.string(), 1, parse_definition);
}

Located<Solution> load_solution_file(const fs::path& file) {
  return parse_located<Solution>(read_text_file(file), file.string(), 1, parse_solution);
}

std::vector<Located<Trace>> load_trace_file(const fs::path& file, std::vector<Error>* errors) {
  std::vector<Located<Trace>> out;
  std::istringstream in(read_text_file(file));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    collect(errors, [&] { out.push_back(parse_located<Trace>(line, file.string(), number, parse_trace)); });
  }
  return out;
}

Dataset load_dataset(const fs::path& root, std::vector<Error>* errors) {
  if (!fs::is_directory(root)) {
    throw Error("not a directory", "a dataset folder with definitions/ and workloads/").at_file(root.string());
  }
  if (!fs::is_directory(root / "definitions")) {
    throw Error("no definitions/ folder", "the FlashInfer-Bench layout: definitions/, workloads/, ...")
        .at_file(root.string());
  }
  Dataset ds;
  ds.root = root;
  collect(errors, [&] { ds.manifest = load_manifest(root); });
  for (const auto& f : files_under(root / "definitions", ".json")) {
    collect(errors, [&] {
      auto d = load_definition_file(f);
      if (const auto* prev = ds.definition(d.value.name)) {
        throw Error("duplicate definition '" + d.value.name + "' (also in " + prev->file + ")",
                    "unique definition names").at_file(d.file).in_field("name");
      }
      ds.definitions.push_back(std::move(d));
    });
  }
  for (const auto& f : files_under(root / "workloads", ".jsonl")) {
    for (auto& t : load_trace_file(f, errors)) {
      collect(errors, [&] {
        if (!t.value.is_workload_only()) {
          throw Error("workload record carries a solution or evaluation", "solution and evaluation null")
              .at_file(t.file).at_line(t.line);
        }
        if (const auto* prev = ds.workload(t.value.workload.uuid)) {
          throw Error("duplicate workload uuid '" + t.value.workload.uuid + "' (also at " + prev->file + ":" +
                          std::to_string(prev->line) + ")", "unique uuids")
              .at_file(t.file).at_line(t.line).in_field("workload.uuid");
        }
        ds.workloads.push_back(std::move(t));
      });
    }
  }
  for (const auto& f : files_under(root / "solutions", ".json")) {
    collect(errors, [&] {
      auto s = load_solution_file(f);
      for (const auto& prev : ds.solutions) {
        if (prev.value.name == s.value.name) {
          throw Error("duplicate solution '" + s.value.name + "' (also in " + prev.file + ")",
                      "unique solution names").at_file(s.file).in_field("name");
        }
      }
      ds.solutions.push_back(std::move(s));
    });
  }
  for (const auto& f : files_under(root / "traces", ".jsonl")) {
    for (auto& t : load_trace_file(f, errors)) ds.traces.push_back(std::move(t));
  }
  return ds;
}

void append_traces(const fs::path& file, const std::vector<Trace>& traces) {
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::app | std::ios::binary);
  if (!out) throw Error("cannot open for append", "a writable path").at_file(file.string());
  for (const auto& t : traces) {
    out << to_json(t).dump() << '\n';
    out.flush();
  }
  if (!out) throw Error("write failed (disk full?)").at_file(file.string());
}

}  // namespace kforge
