// @brief The worker: the only process that loads candidate code. It runs one phase of one
// evaluation (correctness trials, or timing plus checks) from a job file and writes a result
// file and the candidate's outputs; it never sees reference outputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/backend.h"
#include "trace/json_fields.h"

namespace kforge {

struct WorkerJob {
  std::string phase;  // "correctness" | "performance"
  std::filesystem::path dataset;
  std::string definition;
  std::string workload;  // uuid
  std::filesystem::path library;
  std::string entry;
  std::string backend;  // "cpu" | "cuda"
  std::vector<std::uint64_t> seeds;  // correctness: one per trial; performance: the rotating timing sets
  std::uint64_t post_check_seed = 0;  // performance: one more checked call on new inputs
  int timing_trials = 3;
  TimingConfig timing;
  std::filesystem::path out_dir;  // result.json and <name>.safetensors outputs go here
};

Json to_json(const WorkerJob& job);
WorkerJob worker_job_from_json(const Json& j);

// Poison written into every output before each call: all-ones bytes make floats NaN; 0x7F bytes
// make int32 outputs 0x7F7F7F7F, an impossible index. Unwritten elements cannot pass the gate.
unsigned char poison_byte(DType dtype);

// Runs the job; writes out_dir/result.json. Returns the process exit code (0 even when the
// candidate failed: the failure is in the result; non-zero only for a broken job).
int run_worker(const WorkerJob& job);

}  // namespace kforge
