#include "harness/builder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "harness/process.h"
#include "harness/solution_abi_text.h"

namespace kforge {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> compile_command(const Solution& s, const BuildOptions& o, const fs::path& src_dir,
                                         const fs::path& out) {
  std::vector<std::string> cmd;
  const bool cuda = s.spec.language == "cuda";
  if (cuda) {
    const std::string arch = o.cuda_arch.substr(o.cuda_arch.find('_') + 1);  // "90a"
    // -cudart shared: the solution uses the same CUDA runtime instance as kforge.
    cmd = {"nvcc", "-O3", "-std=c++17", "-shared", "-Xcompiler", "-fPIC", "-lineinfo", "-cudart", "shared",
           "-gencode=arch=compute_" + arch + ",code=sm_" + arch};
  } else {
    cmd = {"c++", "-O3", "-std=c++20", "-shared", "-fPIC"};
  }
  cmd.push_back("-I" + src_dir.string());
  for (const auto& f : o.extra_flags) cmd.push_back(f);
  cmd.push_back("-o");
  cmd.push_back(out.string());
  for (const auto& f : s.sources) {
    const std::string ext = fs::path(f.path).extension().string();
    if (ext == ".cu" || ext == ".cpp" || ext == ".cc" || ext == ".cxx" || ext == ".c") {
      cmd.push_back((src_dir / f.path).string());
    }
  }
  if (cuda) cmd.push_back("-lcuda");
  return cmd;
}

// The compiler's --version text: part of the cache key, so a toolkit upgrade rebuilds.
std::string compiler_identity(const std::string& compiler) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(compiler);
  if (it != cache.end()) return it->second;
  ProcessOptions po;
  po.timeout_seconds = 60;
  const auto r = run_process({compiler, "--version"}, po);
  return cache[compiler] = r.ok() ? r.output : "unavailable: " + r.describe() + " " + r.output;
}

}  // namespace

bool is_native_language(const std::string& language) { return language == "cuda" || language == "cpp"; }

fs::path default_cache_dir() {
  if (const char* env = std::getenv("KFORGE_CACHE"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "kforge";
  return fs::temp_directory_path() / "kforge-cache";
}

BuildResult build_solution(const Solution& s, const BuildOptions& o) {
  if (!is_native_language(s.spec.language)) {
    throw Error("solution '" + s.name + "' has language '" + s.spec.language + "'",
                "cuda or cpp (python/triton solutions run only under FlashInfer-Bench)");
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string compiler = s.spec.language == "cuda" ? "nvcc" : "c++";
  Sha256 h;
  h.field("kforge-build-v1").field(s.spec.language).field(s.spec.entry_point).field(o.cuda_arch);
  h.field(compiler_identity(compiler)).field(kSolutionAbiHeader);
  for (const auto& f : o.extra_flags) h.field(f);
  for (const auto& f : s.sources) h.field(f.path).field(f.content);
  BuildResult r;
  r.key = h.hex();

  const fs::path dir = (o.cache_dir.empty() ? default_cache_dir() : o.cache_dir) / "build" / r.key;
  const fs::path lib = dir / "solution.so";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create build cache folder: " + ec.message()).at_file(dir.string());

  // One builder per key at a time (parallel evaluations of the same solution share the result).
  const int lock_fd = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_fd < 0) throw Error("cannot open build lock").at_file((dir / ".lock").string());
  ::flock(lock_fd, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};

  if (fs::exists(lib)) {
    r.ok = true;
    r.cached = true;
    r.library = lib;
    std::ifstream log(dir / "build.log");
    r.log.assign(std::istreambuf_iterator<char>(log), {});
  } else {
    const fs::path src = dir / "src";
    fs::create_directories(src);
    write_file_atomic(src / "kforge" / "solution_abi.h", std::string(kSolutionAbiHeader));
    for (const auto& f : s.sources) write_file_atomic(src / f.path, f.content);
    const fs::path tmp = dir / ("solution.so.tmp." + std::to_string(::getpid()));
    const auto cmd = compile_command(s, o, src, tmp);
    ProcessOptions po;
    po.timeout_seconds = o.timeout_seconds;
    po.cwd = src;
    const auto pr = run_process(cmd, po);
    std::string command_line;
    for (const auto& c : cmd) command_line += c + " ";
    r.log = "$ " + command_line + "\n" + pr.output + (pr.ok() ? "" : "\n[" + pr.describe() + "]\n");
    if (pr.ok() && fs::exists(tmp)) {
      write_file_atomic(dir / "build.log", r.log);
      fs::rename(tmp, lib);  // the .so appears whole or not at all
      r.ok = true;
      r.library = lib;
    } else {
      fs::remove(tmp, ec);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace kforge
