// @brief Parent selection: mostly the best, often a shape group's best, sometimes another elite
// of a small archive, so the search improves the leader without losing kernels that are best
// on part of the workloads (the reasoning is in docs/search-loop.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kforge::search {

struct EliteSet {
  std::int64_t root = 0;                                        // the run's seed candidate
  std::optional<std::int64_t> best;                             // the definition's best
  std::vector<std::pair<std::string, std::int64_t>> group_bests;  // (group, candidate)
  std::vector<std::int64_t> archive;  // full-gate passes, fastest on the representatives first
};

struct ParentChoice {
  std::int64_t id = 0;
  std::string why;          // "the best", "best on batch_size 1-4", "archive elite 3 of 8", "the seed"
  std::string focus_group;  // the group a group-best parent is best on ("" otherwise)
};

// Shares of the draws: the best 50%, a group best that is not the best 30%, an archive elite
// 20%; a share whose pool is empty falls to the best, and before any best to the root. The draw
// for a step depends only on (seed, step), so a resumed run chooses as the first one would have
// given the same elites.
ParentChoice choose_parent(const EliteSet& elites, std::uint64_t seed, int step);

inline constexpr std::size_t kArchiveSize = 8;

}  // namespace kforge::search
