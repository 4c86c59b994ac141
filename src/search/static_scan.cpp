#include "search/static_scan.h"

#include <cctype>

#include "search/source_text.h"

namespace kforge::search {

namespace {

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

const ForbiddenName* match(const std::string& ident, bool followed_by_paren) {
  for (const auto& f : forbidden_names()) {
    const bool prefix = f.name.back() == '_';
    const bool hit = prefix ? ident.rfind(f.name, 0) == 0 : ident == f.name;
    if (hit && (!f.call_only || followed_by_paren)) return &f;
  }
  return nullptr;
}

// Whether the line holding position `pos` is an #include directive.
bool is_include_line(const std::string& code, std::size_t pos) {
  const std::size_t nl = code.rfind('\n', pos);
  std::size_t p = nl == std::string::npos ? 0 : nl + 1;
  while (p < pos && (code[p] == ' ' || code[p] == '\t')) ++p;
  if (p >= pos || code[p] != '#') return false;
  ++p;
  while (p < pos && (code[p] == ' ' || code[p] == '\t')) ++p;
  return code.compare(p, 7, "include") == 0;
}

}  // namespace

const std::vector<ForbiddenName>& forbidden_names() {
  static const std::vector<ForbiddenName> list = {
      // Allocation: the timed call must not allocate (the ABI's workspace is allocated before timing).
      {"cudaMalloc", true, "allocation"}, {"cudaMallocAsync", true, "allocation"},
      {"cudaMallocManaged", true, "allocation"}, {"cudaMallocHost", true, "allocation"},
      {"cudaMallocPitch", true, "allocation"}, {"cudaMalloc3D", true, "allocation"},
      {"cudaHostAlloc", true, "allocation"}, {"cudaFree", true, "allocation"}, {"cudaFreeAsync", true, "allocation"},
      {"cudaFreeHost", true, "allocation"}, {"malloc", true, "allocation"}, {"calloc", true, "allocation"},
      {"realloc", true, "allocation"}, {"free", true, "allocation"}, {"aligned_alloc", true, "allocation"},
      {"posix_memalign", true, "allocation"},
      // Synchronization: work must be ordered on the given stream, never waited for in the call.
      {"cudaDeviceSynchronize", true, "synchronization"}, {"cudaStreamSynchronize", true, "synchronization"},
      {"cudaEventSynchronize", true, "synchronization"}, {"cudaThreadSynchronize", true, "synchronization"},
      // Files: results must be computed, not read back.
      {"fopen", true, "file"}, {"freopen", true, "file"}, {"open", true, "file"}, {"openat", true, "file"},
      {"creat", true, "file"}, {"mmap", true, "file"}, {"dlopen", true, "file"}, {"ifstream", false, "file"},
      {"ofstream", false, "file"}, {"fstream", false, "file"}, {"filebuf", false, "file"},
      {"filesystem", false, "file"},
      // Network.
      {"socket", true, "network"}, {"connect", true, "network"}, {"getaddrinfo", true, "network"},
      {"gethostbyname", true, "network"}, {"curl_", false, "network"},
      // Processes.
      {"system", true, "process"}, {"popen", true, "process"}, {"fork", true, "process"}, {"execv", true, "process"},
      {"execve", true, "process"}, {"execvp", true, "process"}, {"execl", true, "process"},
      {"execlp", true, "process"},
      // Timers and sleeps: a kernel that looks at the clock can tell timing from checking.
      {"clock", true, "timer"}, {"clock_gettime", true, "timer"}, {"gettimeofday", true, "timer"},
      {"time", true, "timer"}, {"chrono", false, "timer"}, {"sleep", true, "timer"}, {"usleep", true, "timer"},
      {"nanosleep", true, "timer"}, {"sleep_for", true, "timer"}, {"sleep_until", true, "timer"},
      // The environment: a switch the harness cannot see.
      {"getenv", true, "environment"}, {"secure_getenv", true, "environment"}, {"setenv", true, "environment"},
      {"putenv", true, "environment"}, {"environ", false, "environment"},
  };
  return list;
}

std::vector<ScanFinding> scan_sources(const Solution& solution) {
  std::vector<ScanFinding> out;
  for (const auto& src : solution.sources) {
    const std::string code = blank_comments_and_literals(src.content);
    int line = 1;
    std::size_t i = 0;
    while (i < code.size()) {
      const char c = code[i];
      if (c == '\n') {
        ++line;
        ++i;
      } else if (ident_char(c) && !std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t j = i;
        while (j < code.size() && ident_char(code[j])) ++j;
        std::size_t k = j;
        while (k < code.size() && (code[k] == ' ' || code[k] == '\t')) ++k;
        const std::string ident = code.substr(i, j - i);
        // An #include's header name (<chrono>) is not a use.
        if (const auto* f = match(ident, k < code.size() && code[k] == '(')) {
          if (!is_include_line(code, i)) out.push_back({src.path, line, ident, f->category});
        }
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        while (i < code.size() && ident_char(code[i])) ++i;
      } else {
        ++i;
      }
    }
  }
  return out;
}

std::string describe(const std::vector<ScanFinding>& findings) {
  std::string out;
  for (const auto& f : findings) out += f.file + ":" + std::to_string(f.line) + ": " + f.name + " (" + f.category + ")\n";
  return out;
}

}  // namespace kforge::search
