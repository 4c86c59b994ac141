// @brief Options and look-ups shared by the CLI verbs: dataset, definition, workload selection.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/dataset.h"

namespace kforge {

// Default dataset: $KFORGE_DATA, else ./data.
std::string default_data_dir();

void add_data_option(CLI::App& cmd, std::string& data);
void add_json_flag(CLI::App& cmd, bool& json);

Dataset open_dataset(const std::string& dir);
// Errors list what exists, so a typo is one glance from its fix.
const Definition& pick_definition(const Dataset& ds, const std::string& name);
// By uuid, uuid prefix (unique), or 0-based index within the definition's workloads.
const Located<Trace>& pick_workload(const Dataset& ds, const Definition& def, const std::string& which);
// "all" (or empty): every workload of def; else comma-separated uuids, prefixes or indices.
std::vector<const Located<Trace>*> select_workloads(const Dataset& ds, const Definition& def, const std::string& which);
// "<definition>_<uuid8>_seed<N>.<kind>.safetensors", the default file of `inputs` and `reference`.
std::string default_tensor_file(const Definition& def, const Workload& w, std::uint64_t seed, std::string_view kind);

// Prints to stdout (JSON or text, as chosen by the caller) in one write.
void print_out(const std::string& text);

}  // namespace kforge
