// @brief Shape discovery: a definition's workloads grouped by their variable axes into bands a
// user can read ("batch_size 1-4"), with deterministic representatives. The search's inner
// loop evaluates the representatives; promotion evaluates every workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trace/dataset.h"

namespace kforge::search {

struct ShapeOptions {
  int bands = 3;     // bands per grouping axis (fewer when an axis has fewer distinct values)
  int max_axes = 2;  // grouping axes at most (the first in definition order)
  int representatives = 1;  // per group
};

struct AxisBand {
  std::string axis;
  std::int64_t lo = 0, hi = 0;  // inclusive
};

struct ShapeGroup {
  std::string label;  // "batch_size 1-4", "total_seq_len 6-76, num_seqs 1"
  std::vector<AxisBand> bands;
  std::vector<const Located<Trace>*> workloads;        // dataset order
  std::vector<const Located<Trace>*> representatives;  // a subset of workloads
};

struct ShapeGrouping {
  std::string definition;
  std::vector<std::string> axes;  // the grouping axes
  // Var axes not used, with why: "constant (8462)" or "follows num_seqs".
  std::map<std::string, std::string> ignored_axes;
  std::vector<ShapeGroup> groups;

  // The label of the group holding the workload ("" when none does).
  std::string group_of(const std::string& workload_uuid) const;
  // Every group's representatives, group by group.
  std::vector<const Located<Trace>*> representatives() const;
  // Every workload, group by group.
  std::vector<const Located<Trace>*> all_workloads() const;
};

// Groups the workloads (of one definition). Grouping axes: the definition's var axes that vary
// across the workloads and are not a function of an axis already chosen (len_cu_seqlens follows
// num_seqs), at most `max_axes`. Each axis is cut into bands of about equal workload counts
// without splitting a value (one band per value when it has no more values than bands); groups are the non-empty combinations of bands. Representatives are
// evenly spaced through the group ordered by axis values then uuid (one: the median). With no
// varying axis there is one group, "all".
ShapeGrouping group_workloads(const Definition& def, const std::vector<const Located<Trace>*>& workloads,
                              const ShapeOptions& options = {});

}  // namespace kforge::search
