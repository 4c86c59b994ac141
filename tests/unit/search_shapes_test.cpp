// Shape discovery: the bundled definitions' bands checked by hand, ignored axes with their reason,
// and on random workload sets: a partition, bands that hold their workloads' values, and
// representatives independent of the input order.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/error.h"
#include "search/shapes.h"
#include "test_support.h"

namespace kforge::search {
namespace {

using test_support::bundled;

ShapeGrouping of(const std::string& def, const ShapeOptions& o = {}) {
  return group_workloads(test_support::definition(def), bundled().workloads_of(def), o);
}

std::int64_t axis(const Located<Trace>* w, const std::string& name) { return *w->value.workload.axes.find(name); }

TEST(SearchShapesTest, GdnDecodeInThreeBatchBandsOfAboutEqualCounts) {
  // 54 workloads: batch 1 (10), 4 (8), 8 (7), 16 (7), 32 (7), 48 (7), 64 (8); target 18 per band.
  const auto g = of(test_support::kGdnDecode);
  EXPECT_EQ(g.axes, std::vector<std::string>{"batch_size"});
  ASSERT_EQ(g.groups.size(), 3u);
  EXPECT_EQ(g.groups[0].label, "batch_size 1-4");
  EXPECT_EQ(g.groups[0].workloads.size(), 18u);
  EXPECT_EQ(g.groups[1].label, "batch_size 8-32");
  EXPECT_EQ(g.groups[1].workloads.size(), 21u);
  EXPECT_EQ(g.groups[2].label, "batch_size 48-64");
  EXPECT_EQ(g.groups[2].workloads.size(), 15u);
  // One representative each, the median of the group ordered by batch size then uuid.
  EXPECT_EQ(axis(g.groups[0].representatives.at(0), "batch_size"), 1);
  EXPECT_EQ(axis(g.groups[1].representatives.at(0), "batch_size"), 16);
  EXPECT_EQ(axis(g.groups[2].representatives.at(0), "batch_size"), 64);
  EXPECT_EQ(g.group_of(g.groups[1].workloads[3]->value.workload.uuid), "batch_size 8-32");
  EXPECT_EQ(g.group_of("no-such-uuid"), "");
  // One band per distinct value when there are few enough; several representatives spread out.
  const auto fine = of(test_support::kGdnDecode, {7, 2, 3});
  EXPECT_EQ(fine.groups.size(), 7u);
  EXPECT_EQ(fine.groups[0].label, "batch_size 1");
  EXPECT_EQ(fine.groups[0].representatives.size(), 3u);
  EXPECT_EQ(of(test_support::kGdnDecode, {1, 2, 1}).groups.at(0).label, "batch_size 1-64");
}

TEST(SearchShapesTest, DerivedAndConstantAxesAreNotGroupedBy) {
  const auto prefill = of(test_support::kGdnPrefill);
  EXPECT_EQ(prefill.axes, (std::vector<std::string>{"total_seq_len", "num_seqs"}));
  EXPECT_EQ(prefill.ignored_axes.at("len_cu_seqlens"), "follows num_seqs");
  EXPECT_EQ(prefill.groups.front().label.substr(0, 14), "total_seq_len ");
  const auto indexer = of(test_support::kDsaIndexer);
  EXPECT_EQ(indexer.ignored_axes.at("num_pages"), "constant (11923)");
  const auto one_axis = of(test_support::kDsaIndexer, {3, 1, 1});
  EXPECT_EQ(one_axis.axes, std::vector<std::string>{"batch_size"});
  EXPECT_EQ(one_axis.ignored_axes.at("max_num_pages"), "beyond the first 1 grouping axes");
  // No varying axis: one group.
  const auto single = group_workloads(test_support::definition(test_support::kGdnDecode),
                                      {bundled().workloads_of(test_support::kGdnDecode).front()});
  ASSERT_EQ(single.groups.size(), 1u);
  EXPECT_EQ(single.groups[0].label, "all");
  EXPECT_THROW(of(test_support::kGdnDecode, {0, 2, 1}), Error);
}

TEST(SearchShapesTest, RandomWorkloadSetsArePartitionedIntoBandsThatHoldTheirValues) {
  const Definition& def = test_support::definition(test_support::kGdnPrefill);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<Located<Trace>> store;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const std::int64_t seqs = 1 + rng() % 40, total = seqs + rng() % 9000;
      Located<Trace> t;
      t.value.definition = def.name;
      t.value.workload = test_support::workload(def.name, {{"total_seq_len", total}, {"num_seqs", seqs},
                                                          {"len_cu_seqlens", seqs + 1}});
      t.value.workload.uuid = "w" + std::to_string(round) + "-" + std::to_string(i);
      store.push_back(t);
    }
    std::vector<const Located<Trace>*> list;
    for (const auto& t : store) list.push_back(&t);
    const ShapeOptions o{1 + static_cast<int>(rng() % 4), 2, 1 + static_cast<int>(rng() % 3)};
    const auto g = group_workloads(def, list, o);
    std::set<std::string> seen, labels;
    for (const auto& group : g.groups) {
      EXPECT_TRUE(labels.insert(group.label).second) << group.label;
      EXPECT_FALSE(group.workloads.empty());
      EXPECT_EQ(group.representatives.size(), std::min<std::size_t>(group.workloads.size(), o.representatives));
      for (const auto* w : group.workloads) {
        EXPECT_TRUE(seen.insert(w->value.workload.uuid).second);
        for (const auto& b : group.bands) {
          EXPECT_GE(axis(w, b.axis), b.lo);
          EXPECT_LE(axis(w, b.axis), b.hi);
        }
      }
      for (const auto* r : group.representatives) {
        EXPECT_NE(std::find(group.workloads.begin(), group.workloads.end(), r), group.workloads.end());
      }
    }
    EXPECT_EQ(seen.size(), store.size());
    // Bands per axis at most as asked.
    for (const auto& a : g.axes) {
      std::set<std::pair<std::int64_t, std::int64_t>> bands;
      for (const auto& group : g.groups) {
        for (const auto& b : group.bands) {
          if (b.axis == a) bands.insert({b.lo, b.hi});
        }
      }
      EXPECT_LE(bands.size(), static_cast<std::size_t>(o.bands));
    }
    // The input order changes nothing.
    std::shuffle(list.begin(), list.end(), rng);
    const auto again = group_workloads(def, list, o);
    ASSERT_EQ(again.groups.size(), g.groups.size());
    for (std::size_t i = 0; i < g.groups.size(); ++i) {
      EXPECT_EQ(again.groups[i].label, g.groups[i].label);
      EXPECT_EQ(again.groups[i].representatives, g.groups[i].representatives);
    }
  }
}

}  // namespace
}  // namespace kforge::search
