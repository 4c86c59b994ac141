#include "tuner/materialize.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "core/atomic_file.h"
#include "core/error.h"
#include "trace/dataset.h"
#include "tuner/tune_header.h"

namespace kforge::tuner {
namespace {

namespace fs = std::filesystem;

std::string folder_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._@=,-").find(c) != std::string_view::npos;
    if (!ok) c = '_';
  }
  // "." and ".." are not folder names of their own.
  if (out.find_first_not_of('.') == std::string::npos) out = "_" + out;
  return out;
}

bool is_inside(const fs::path& inner, const fs::path& outer) {
  const fs::path a = fs::weakly_canonical(outer), b = fs::weakly_canonical(inner);
  const auto [end_a, end_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return end_a == a.end();
}

// Removes a half-written temporary folder unless the rename consumed it.
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

std::string candidate_name(const std::string& solution_name, const Config& config) {
  return solution_name.substr(0, solution_name.find('@')) + "@" + config.label();
}

fs::path materialize(const SolutionDir& solution, const Config& config, const fs::path& into) {
  const TunableSpace space = parse_tunables(solution);
  for (const auto& [name, value] : config.values) {
    const bool known = std::any_of(space.params.begin(), space.params.end(), [&](const Param& p) { return p.name == name; });
    if (!known) throw Error("config sets '" + name + "', which is not a tunable param", "a param of tunables.params");
  }
  if (is_inside(into, solution.dir)) {
    throw Error("candidate folder " + into.string() + " lies inside the solution folder " + solution.dir.string(),
                "a folder outside the solution");
  }
  const fs::path json_file = solution.dir / "solution.json";
  Json j = Json::parse(read_text_file(json_file));  // load_solution_dir already checked it
  const std::string name = candidate_name(solution.solution.name, config);
  j["name"] = name;

  const auto src = std::find_if(solution.solution.sources.begin(), solution.solution.sources.end(),
                                [&](const SourceFile& f) { return f.path == space.header; });
  const std::string header_text = rewrite_defines(src->content, config);
  const auto index = static_cast<std::size_t>(src - solution.solution.sources.begin());
  Json& header_entry = j["sources"][index];
  const bool inline_header = header_entry.contains("content");
  if (inline_header) header_entry["content"] = header_text;

  const fs::path target = into / folder_name(name);
  const fs::path tmp = into / ("." + folder_name(name) + ".tmp." + std::to_string(::getpid()));
  RemoveOnExit cleanup{tmp};
  try {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    fs::copy(solution.dir, tmp, fs::copy_options::recursive);
    if (!inline_header) write_file_atomic(tmp / space.header, header_text);
    write_file_atomic(tmp / "solution.json", j.dump(2) + "\n");
    fs::remove_all(target);
    fs::rename(tmp, target);
  } catch (const fs::filesystem_error& e) {
    throw Error(std::string("cannot write the candidate folder: ") + e.what(), "a writable folder").at_file(target.string());
  }
  return target;
}

}  // namespace kforge::tuner
