// @brief One function per CLI verb; each adds its subcommand, options and callback.
#pragma once

#include <CLI/CLI.hpp>

namespace kforge {

void add_list_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_inputs_command(CLI::App& app);
void add_reference_command(CLI::App& app);
void add_roofline_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_worker_command(CLI::App& app);
void add_shapes_command(CLI::App& app);
void add_search_command(CLI::App& app);
void add_db_command(CLI::App& app);
void add_report_command(CLI::App& app);

}  // namespace kforge
