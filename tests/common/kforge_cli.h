// Shared by the tests that run the kforge binary end to end (tests/gpu/exploit_gpu_test.cu,
// tests/gpu/kernel_*_test.cu): which binary, and one run's exit code, output and traces.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/exploit_staging.h"
#include "trace/dataset.h"

namespace kforge::test_support {

// The kforge binary built next to the test (KFORGE_BINARY), or the KFORGE_BINARY environment
// variable when set.
inline std::filesystem::path kforge_binary() {
  if (const char* env = std::getenv("KFORGE_BINARY"); env && *env) return env;
  return KFORGE_BINARY;
}

struct CliRun {
  int exit_code = -1;
  std::string output;  // the command's stdout and stderr
  std::vector<Trace> traces;
};

// Runs `<env> <kforge> <args> 2>&1` through the shell (`args` and `env` already quoted) and
// loads every trace the run wrote under run_dir/traces.
inline CliRun run_kforge(const std::string& env, const std::string& args, const std::filesystem::path& run_dir) {
  const std::string cmd = env + " '" + kforge_binary().string() + "' " + args + " 2>&1";
  CliRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (std::filesystem::exists(run_dir / "traces")) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(run_dir / "traces")) {
      if (e.path().extension() != ".jsonl") continue;
      for (auto& t : load_trace_file(e.path())) r.traces.push_back(std::move(t.value));
    }
  }
  return r;
}

// `kforge eval` of a solution folder, short: three correctness trials on fresh inputs, then the
// performance phase with its checked calls (two timing trials of two warm-up and five timed
// calls). Builds are cached under scratch/cache; the run goes to scratch/runs/<run_name>.
inline CliRun eval_solution_briefly(const std::filesystem::path& solution, const std::filesystem::path& data,
                                    const std::string& workloads, const std::filesystem::path& scratch,
                                    const std::string& run_name, int timeout_seconds) {
  const std::filesystem::path run = scratch / "runs" / run_name;
  std::filesystem::remove_all(run);
  return run_kforge("KFORGE_CACHE='" + (scratch / "cache").string() + "'",
                    "eval --data '" + data.string() + "' -s '" + solution.string() + "'" +
                        (workloads.empty() ? "" : " -w " + workloads) +
                        " --seed 17 --trials 3 --warmup 2 --iterations 5 --timing-trials 2 --timeout " +
                        std::to_string(timeout_seconds) + " -o '" + run.string() + "'",
                    run);
}

// The run wrote `count` traces, all PASSED, and exited 0.
inline void expect_all_passed(const CliRun& run, std::size_t count) {
  ASSERT_EQ(run.traces.size(), count) << run.output;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  for (const auto& t : run.traces) {
    ASSERT_TRUE(t.evaluation.has_value()) << run.output;
    expect_evaluation(*t.evaluation, t.workload.uuid, EvalStatus::kPassed, {});
  }
}

}  // namespace kforge::test_support
