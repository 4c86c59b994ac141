// kforge: produce, verify and rank fast GPU kernels for LLM inference.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "kforge: reads FlashInfer-Bench datasets (definitions, workloads, solutions, traces), synthesizes valid "
      "inputs, runs reference oracles, computes roofline floors, and evaluates and ranks candidate kernels under "
      "a strict correctness gate.\n"
      "Run `kforge VERB --help` for each verb."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kforge 0.1.0");
  kforge::add_list_command(app);
  kforge::add_validate_command(app);
  kforge::add_inputs_command(app);
  kforge::add_reference_command(app);
  kforge::add_roofline_command(app);
  kforge::add_eval_command(app);
  kforge::add_bench_command(app);
  kforge::add_worker_command(app);
  kforge::add_shapes_command(app);
  kforge::add_search_command(app);
  kforge::add_db_command(app);
  kforge::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const kforge::Error& e) {
    std::fprintf(stderr, "kforge: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kforge: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
