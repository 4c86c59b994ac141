// The hidden `worker` verb: the child process in which candidate code runs (see harness/worker.h).
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "harness/worker.h"

namespace kforge {

void add_worker_command(CLI::App& app) {
  auto job_file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("worker", "Internal: run one evaluation phase from a job file (started by eval/bench)");
  cmd->group("");  // hidden from --help
  cmd->add_option("--job", *job_file, "Job file written by the evaluator")->required();
  cmd->callback([job_file] {
    std::ifstream in(*job_file);
    if (!in) throw Error("cannot open job file", "a job.json written by kforge eval").at_file(*job_file);
    const WorkerJob job = worker_job_from_json(Json::parse(in));
    // The candidate runs in this process: leave it no schedule to read.
    std::filesystem::remove(*job_file);
    const int rc = run_worker(job);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace kforge
