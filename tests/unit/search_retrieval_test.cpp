// Retrieval of earlier attempts: successes and failures ranked by code similarity to the parent,
// a bonus for the focus group, failure tags spread out; the parent and no-change steps left out.
#include <gtest/gtest.h>

#include "search/retrieval.h"

namespace kforge::search {
namespace {

PastAttempt attempt(std::int64_t id, const std::string& tag, const std::string& source, const std::string& group = "") {
  PastAttempt a;
  a.attempt.candidate.id = id;
  store::SummaryRecord s;
  s.candidate_id = id;
  s.tag = tag;
  s.tag_group = tag.empty() ? "" : group;
  s.outcome = {{"group_best", tag.empty() && !group.empty() ? Json::array({group}) : Json::array()}};
  a.attempt.summary = s;
  a.source = source;
  return a;
}

std::vector<std::int64_t> ids(const std::vector<Retrieved>& r) {
  std::vector<std::int64_t> out;
  for (const auto& x : r) out.push_back(x.attempt->attempt.candidate.id);
  return out;
}

TEST(SearchRetrievalTest, SimilarCodeFirstWithTheFocusGroupAndDiverseFailureTags) {
  const std::string parent = "tile load store warp reduce";
  const std::vector<PastAttempt> past = {
      attempt(1, "", "tile load store warp reduce"),         // identical code
      attempt(2, "", "completely other words here"),          // unlike the parent
      attempt(3, "", "tile load other words", "batch 64"),    // half like it, best on the focus group
      attempt(4, "compile_error", "tile load store warp reduce"),
      attempt(5, "compile_error", "tile load warp"),
      attempt(6, "incorrect", "tile words", "batch 64"),
      attempt(7, "no_change", "tile load store warp reduce"),  // nothing to learn
      attempt(8, "timeout", "tile load store warp reduce"),    // the parent itself
  };
  const auto r = retrieve_similar(past, {parent, "batch 64", 8, 2, 3});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(ids(r), (std::vector<std::int64_t>{1, 3, 4, 6, 5}));
  EXPECT_TRUE(r[0].success);
  EXPECT_DOUBLE_EQ(r[0].similarity, 1.0);
  EXPECT_DOUBLE_EQ(r[1].similarity, 2.0 / 7.0);  // {tile, load} of 7 tokens
  EXPECT_DOUBLE_EQ(r[1].score, 2.0 / 7.0 + 0.3);
  EXPECT_FALSE(r[2].success);
  // The second compile error (similarity 3/5, less 0.25 for its repeated tag) ranks below the wrong
  // result on the focus group (1/6 + 0.3), although its code is closer.
  EXPECT_DOUBLE_EQ(r[3].similarity, 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(r[3].score, 1.0 / 6.0 + 0.3);
  EXPECT_DOUBLE_EQ(r[4].similarity, 0.6);
  // Without a focus group or an excluded parent, asking for fewer: ties go to the newest.
  EXPECT_EQ(ids(retrieve_similar(past, {parent, "", 0, 1, 1})), (std::vector<std::int64_t>{1, 8}));
  EXPECT_TRUE(retrieve_similar({}, {parent, "", 0}).empty());
}

}  // namespace
}  // namespace kforge::search
