// @brief A dataset folder in the FlashInfer-Bench layout: definitions, workloads, solutions,
// traces and blobs, loaded with the file and line of every record.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "trace/definition.h"
#include "trace/solution.h"
#include "trace/trace.h"

namespace kforge {

template <class T>
struct Located {
  T value;
  std::string file;
  int line = 0;
};

// kforge's own file at the dataset root (kforge-dataset.json), optional. It states what the
// dataset knowingly lacks, so a real dataset stays strict and the bundled one can be honest:
//   "missing_blobs": "synthesize"  -- safetensors files named by workloads may be absent;
//                                     the synthesizer supplies those inputs.
//   "constraint_waivers": {"<definition>": {"<constraint>": "<why>"}}
struct DatasetManifest {
  bool synthesize_missing_blobs = false;
  std::map<std::string, std::map<std::string, std::string>> constraint_waivers;
};

struct Dataset {
  std::filesystem::path root;
  DatasetManifest manifest;
  std::vector<Located<Definition>> definitions;
  std::vector<Located<Trace>> workloads;  // workload-only traces
  std::vector<Located<Solution>> solutions;
  std::vector<Located<Trace>> traces;

  const Located<Definition>* definition(std::string_view name) const;
  std::vector<const Located<Trace>*> workloads_of(std::string_view definition) const;
  const Located<Trace>* workload(std::string_view uuid) const;
};

// Loads every file under root. If `errors` is given, bad records are reported there and
// skipped; otherwise the first one throws. Errors carry file and line.
Dataset load_dataset(const std::filesystem::path& root, std::vector<Error>* errors = nullptr);

// Single files, for `kforge validate FILE`.
Located<Definition> load_definition_file(const std::filesystem::path& file);
Located<Solution> load_solution_file(const std::filesystem::path& file);
// One record per non-empty line.
std::vector<Located<Trace>> load_trace_file(const std::filesystem::path& file, std::vector<Error>* errors = nullptr);

// A whole file as text; throws Error naming the file when it cannot be opened.
std::string read_text_file(const std::filesystem::path& file);
// Regular files under dir (recursively) whose extension is ext (".jsonl"), sorted; none if dir
// is not a folder.
std::vector<std::filesystem::path> files_under(const std::filesystem::path& dir, const std::string& ext);

// Writes traces as JSONL, appending; each line is written whole and flushed.
void append_traces(const std::filesystem::path& file, const std::vector<Trace>& traces);

}  // namespace kforge
