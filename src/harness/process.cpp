#include "harness/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "core/error.h"

namespace kforge {

std::string ProcessResult::describe() const {
  if (timed_out) return "timed out after " + std::to_string(static_cast<int>(seconds)) + " s";
  if (signal) return std::string("killed by ") + sigabbrev_np(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

namespace {

void append_capped(std::string& out, const char* data, std::size_t n, std::size_t cap, std::size_t& dropped) {
  // Keep the first half of the cap and a rolling tail: errors are usually at the end.
  const std::size_t head = cap / 2;
  out.append(data, n);
  if (out.size() > cap) {
    const std::size_t excess = out.size() - cap;
    out.erase(head, excess);
    dropped += excess;
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw Error("internal: run_process with no argv");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(std::string("pipe failed: ") + std::strerror(errno));
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: own process group, output into the pipe, then exec. Only async-signal-safe calls.
    ::setpgid(0, 0);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : options.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    const char msg[] = "exec failed\n";
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill
  ::close(pipe_fds[1]);

  ProcessResult r;
  std::size_t dropped = 0;
  const auto deadline = start + std::chrono::duration<double>(options.timeout_seconds);
  bool eof = false;
  char buf[65536];
  while (!eof) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    const int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, std::min(wait_ms, 1000));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n > 0) {
        append_capped(r.output, buf, static_cast<std::size_t>(n), options.max_output_bytes, dropped);
      } else if (n == 0) {
        eof = true;
      }
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  // After EOF the child may still be running (it closed its output): wait up to the deadline.
  while (true) {
    const pid_t w = ::waitpid(pid, &status, r.timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      continue;
    }
    ::usleep(2000);
  }
  ::kill(-pid, SIGKILL);  // leftover grandchildren of a finished child
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status) && !r.timed_out) r.signal = WTERMSIG(status);
  if (dropped) r.output.insert(r.output.size() / 2, "\n[... " + std::to_string(dropped) + " bytes of output dropped ...]\n");
  return r;
}

}  // namespace kforge
