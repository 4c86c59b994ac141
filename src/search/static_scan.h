// @brief The cascade's first stage: a scan of a candidate's sources for calls the solution ABI
// forbids in the entry point (include/kforge/solution_abi.h): allocation, device or stream
// synchronization, file, network and process access, timers and sleeps, the environment.
//
// kforge cannot tell which code the entry point reaches, so every source is scanned; a
// solution allocates through the ABI's workspace instead. Comments and literals are ignored.
// Containers (std::vector) and threads are not scanned: they are legitimate on the CPU backend.
// The scan is a cheap early rejection with a readable reason; the gate's runtime checks (poisoned
// outputs, stream-ordering snapshots, fresh inputs) remain what makes cheating fail.
#pragma once

#include <string>
#include <vector>

#include "trace/solution.h"

namespace kforge::search {

struct ForbiddenName {
  std::string name;      // an identifier, or a prefix ending in '_' (curl_)
  bool call_only;        // flagged only when followed by '(' (malloc(...)), else any use (ifstream)
  std::string category;  // allocation | synchronization | file | network | process | timer | environment
};

// The list the scan applies, in the order documented in docs/search-loop.md.
const std::vector<ForbiddenName>& forbidden_names();

struct ScanFinding {
  std::string file;
  int line = 0;
  std::string name;
  std::string category;
};

std::vector<ScanFinding> scan_sources(const Solution& solution);

// "gdn.cu:12: cudaMalloc (allocation)", one finding per line.
std::string describe(const std::vector<ScanFinding>& findings);

}  // namespace kforge::search
