#include "search/candidate_files.h"

#include <algorithm>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"

namespace kforge::search {

namespace fs = std::filesystem;

std::string content_hash(const Solution& solution) {
  Sha256 h;
  h.field(to_json(solution)["spec"].dump());
  std::vector<const SourceFile*> sources;
  for (const auto& s : solution.sources) sources.push_back(&s);
  std::sort(sources.begin(), sources.end(), [](const SourceFile* a, const SourceFile* b) { return a->path < b->path; });
  for (const auto* s : sources) h.field(s->path).field(s->content);
  return h.hex();
}

store::CandidateRecord candidate_record(const Solution& solution) {
  store::CandidateRecord c;
  c.definition = solution.definition;
  c.name = solution.name;
  c.content_hash = content_hash(solution);
  Json j = to_json(solution);
  for (auto& src : j["sources"]) src.erase("content");
  c.solution = std::move(j);
  for (const auto& s : solution.sources) c.files.push_back({s.path, s.content});
  return c;
}

Solution solution_of(const store::CandidateRecord& candidate) {
  Json j = candidate.solution;
  std::map<std::string, const std::string*> content;
  for (const auto& f : candidate.files) content[f.path] = &f.content;
  for (auto& src : j["sources"]) {
    auto it = content.find(src.value("path", std::string()));
    if (it == content.end()) {
      throw Error("candidate " + std::to_string(candidate.id) + " lacks the file of source '" +
                  src.value("path", std::string()) + "'");
    }
    src["content"] = *it->second;
  }
  return parse_solution(j);
}

SolutionDir write_candidate(const store::CandidateRecord& candidate, const fs::path& dir) {
  Solution s = solution_of(candidate);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& f : s.sources) write_file_atomic(dir / f.path, f.content);
  write_file_atomic(dir / "solution.json", candidate.solution.dump(2) + "\n");
  return {dir, std::move(s)};
}

namespace {

std::map<std::string, int> line_counts(const std::string& text) {
  std::map<std::string, int> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++out[text.substr(start, end - start)];
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string describe_changes(const std::vector<store::SourceFileRecord>& before,
                             const std::vector<store::SourceFileRecord>& after) {
  std::map<std::string, const std::string*> old_files, new_files;
  for (const auto& f : before) old_files[f.path] = &f.content;
  for (const auto& f : after) new_files[f.path] = &f.content;
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  for (const auto& [path, text] : new_files) {
    auto it = old_files.find(path);
    if (it == old_files.end()) {
      add("new " + path);
      continue;
    }
    if (*it->second == *text) continue;
    // Lines as multisets: a moved line counts as neither added nor removed.
    auto was = line_counts(*it->second), now = line_counts(*text);
    int added = 0, removed = 0;
    for (const auto& [line, n] : now) added += std::max(0, n - (was.count(line) ? was[line] : 0));
    for (const auto& [line, n] : was) removed += std::max(0, n - (now.count(line) ? now[line] : 0));
    add(added + removed == 0 ? path + ": lines moved"
                             : path + ": +" + std::to_string(added) + " -" + std::to_string(removed) + " lines");
  }
  for (const auto& [path, text] : old_files) {
    if (!new_files.count(path)) add("removed " + path);
  }
  return out.empty() ? "no change" : out;
}

}  // namespace kforge::search
