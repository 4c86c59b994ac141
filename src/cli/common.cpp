#include "cli/common.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace kforge {

std::string default_data_dir() {
  if (const char* env = std::getenv("KFORGE_DATA"); env && *env) return env;
  return "data";
}

void add_data_option(CLI::App& cmd, std::string& data) {
  data = default_data_dir();
  cmd.add_option("--data", data, "Dataset folder in the FlashInfer-Bench layout (default: $KFORGE_DATA or ./data)");
}

void add_json_flag(CLI::App& cmd, bool& json) {
  cmd.add_flag("--json", json, "Print machine-readable JSON instead of a table");
}

Dataset open_dataset(const std::string& dir) { return load_dataset(dir); }

const Definition& pick_definition(const Dataset& ds, const std::string& name) {
  if (const auto* d = ds.definition(name)) return d->value;
  std::string names;
  for (const auto& d : ds.definitions) names += (names.empty() ? "" : ", ") + d.value.name;
  throw Error("no definition '" + name + "' in " + ds.root.string(), "one of: " + names);
}

const Located<Trace>& pick_workload(const Dataset& ds, const Definition& def, const std::string& which) {
  const auto list = ds.workloads_of(def.name);
  if (list.empty()) throw Error("definition '" + def.name + "' has no workloads", "workloads under workloads/");
  const bool all_digits = !which.empty() && which.find_first_not_of("0123456789") == std::string::npos;
  if (all_digits && which.size() < 6) {
    const auto i = std::stoul(which);
    if (i < list.size()) return *list[i];
    throw Error("workload index " + which + " out of range", "0.." + std::to_string(list.size() - 1));
  }
  const Located<Trace>* found = nullptr;
  for (const auto* w : list) {
    if (w->value.workload.uuid.rfind(which, 0) == 0) {
      if (found) throw Error("workload prefix '" + which + "' is ambiguous", "a longer uuid prefix");
      found = w;
    }
  }
  if (!found) {
    throw Error("no workload '" + which + "' for " + def.name,
                "a uuid, a unique uuid prefix, or an index 0.." + std::to_string(list.size() - 1) +
                    " (see kforge list --definition " + def.name + ")");
  }
  return *found;
}

std::vector<const Located<Trace>*> select_workloads(const Dataset& ds, const Definition& def, const std::string& which) {
  if (which == "all" || which.empty()) return ds.workloads_of(def.name);
  std::vector<const Located<Trace>*> out;
  std::size_t start = 0;
  while (start <= which.size()) {
    const std::size_t comma = which.find(',', start);
    const std::string item = which.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(&pick_workload(ds, def, item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string default_tensor_file(const Definition& def, const Workload& w, std::uint64_t seed, std::string_view kind) {
  return fmt::format("{}_{}_seed{}.{}.safetensors", def.name, w.uuid.substr(0, 8), seed, kind);
}

void print_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace kforge
