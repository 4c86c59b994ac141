#include "search/parents.h"

#include "core/rng.h"

namespace kforge::search {

ParentChoice choose_parent(const EliteSet& elites, std::uint64_t seed, int step) {
  if (!elites.best) return {elites.root, "the seed (no best yet)", ""};
  const CounterRng rng = CounterRng(seed).derive("parent");
  const auto i = static_cast<std::uint64_t>(step) * 2;
  const double u = rng.uniform(i);
  std::vector<std::pair<std::string, std::int64_t>> others;
  for (const auto& gb : elites.group_bests) {
    if (gb.second != *elites.best) others.push_back(gb);
  }
  if (u >= 0.5 && u < 0.8 && !others.empty()) {
    const auto& [group, id] = others[static_cast<std::size_t>(rng.integer(i + 1, 0, static_cast<std::int64_t>(others.size())))];
    return {id, "best on " + group, group};
  }
  if (u >= 0.8 && !elites.archive.empty()) {
    const auto k = static_cast<std::size_t>(rng.integer(i + 1, 0, static_cast<std::int64_t>(elites.archive.size())));
    return {elites.archive[k], "archive elite " + std::to_string(k + 1) + " of " + std::to_string(elites.archive.size()), ""};
  }
  return {*elites.best, "the best", ""};
}

}  // namespace kforge::search
