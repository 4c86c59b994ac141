// @brief Runs a child process with a hard timeout, capturing its output; a crash or hang of
// the child never takes the caller down.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kforge {

struct ProcessOptions {
  double timeout_seconds = 300;
  std::filesystem::path cwd;                       // empty: inherit
  std::map<std::string, std::string> env;          // added to (or replacing in) the environment
  std::size_t max_output_bytes = 4 << 20;          // keeps the head and tail beyond this
};

struct ProcessResult {
  int exit_code = -1;   // valid when exited normally
  int signal = 0;       // non-zero when killed by a signal
  bool timed_out = false;
  std::string output;   // stdout and stderr interleaved
  double seconds = 0;

  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit 3", "killed by SIGSEGV (Segmentation fault)", "timed out after 300 s"
  std::string describe() const;
};

// argv[0] is looked up in PATH. The child runs in its own process group, which is killed
// (SIGKILL) on timeout, so grandchildren die with it.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

}  // namespace kforge
