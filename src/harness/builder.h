// @brief Builds a native solution (cuda with nvcc, cpp with the host compiler) into a shared
// object, cached by a hash of sources, flags, compiler and architecture.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "trace/solution.h"

namespace kforge {

struct BuildOptions {
  std::string cuda_arch = "sm_90a";  // -gencode=arch=compute_90a,code=sm_90a
  std::filesystem::path cache_dir;   // empty: $KFORGE_CACHE, else ~/.cache/kforge
  std::vector<std::string> extra_flags;
  double timeout_seconds = 600;
};

struct BuildResult {
  bool ok = false;
  std::filesystem::path library;  // the .so when ok
  std::string log;                // compiler output (also on success: warnings)
  std::string key;                // cache key (sha256)
  bool cached = false;
  double seconds = 0;
};

// Languages kforge builds natively; others (python, triton) are FlashInfer-Bench-only.
bool is_native_language(const std::string& language);

// Never throws for a compiler failure: that is a COMPILE_ERROR result carrying the log.
// Throws Error for an unsupported language or an unusable cache folder.
BuildResult build_solution(const Solution& solution, const BuildOptions& options);

std::filesystem::path default_cache_dir();

}  // namespace kforge
