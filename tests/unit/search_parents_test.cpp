// Parent selection: the seed before any best; then the best, group bests and archive elites in
// about the documented shares; the same (seed, step) always chooses the same parent.
#include <gtest/gtest.h>

#include <map>

#include "search/parents.h"

namespace kforge::search {
namespace {

TEST(SearchParentsTest, TheSeedUntilThereIsABest) {
  EliteSet e;
  e.root = 1;
  const auto c = choose_parent(e, 9, 3);
  EXPECT_EQ(c.id, 1);
  EXPECT_EQ(c.why, "the seed (no best yet)");
}

TEST(SearchParentsTest, SharesBetweenTheBestGroupBestsAndTheArchive) {
  EliteSet e;
  e.root = 1;
  e.best = 5;
  e.group_bests = {{"batch_size 1-4", 5}, {"batch_size 8-32", 7}, {"batch_size 48-64", 8}};
  e.archive = {5, 7, 8, 9};
  std::map<std::string, int> kinds;
  std::map<std::int64_t, int> ids;
  const int n = 4000;
  for (int step = 1; step <= n; ++step) {
    const auto c = choose_parent(e, 123, step);
    EXPECT_EQ(c.id, choose_parent(e, 123, step).id);  // deterministic
    ++ids[c.id];
    ++kinds[c.why == "the best" ? "best" : c.why.rfind("best on", 0) == 0 ? "group" : c.why.rfind("archive", 0) == 0 ? "archive" : c.why];
    if (c.why.rfind("best on", 0) == 0) {
      EXPECT_NE(c.focus_group, "batch_size 1-4");  // that group's best is the best itself
      EXPECT_FALSE(c.focus_group.empty());
    }
  }
  EXPECT_EQ(kinds.size(), 3u);
  EXPECT_NEAR(kinds["best"] / double(n), 0.5, 0.05);
  EXPECT_NEAR(kinds["group"] / double(n), 0.3, 0.05);
  EXPECT_NEAR(kinds["archive"] / double(n), 0.2, 0.05);
  EXPECT_GT(ids[9], 0);  // an archive-only elite is reached
  // Empty pools fall to the best.
  EliteSet only_best;
  only_best.root = 1;
  only_best.best = 5;
  for (int step = 1; step <= 50; ++step) EXPECT_EQ(choose_parent(only_best, 123, step).id, 5);
}

}  // namespace
}  // namespace kforge::search
