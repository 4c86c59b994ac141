#include "search/shapes.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace kforge::search {

namespace {

std::int64_t axis_value(const Located<Trace>& w, const std::string& axis) {
  const std::int64_t* v = w.value.workload.axes.find(axis);
  if (!v) {
    throw Error("workload " + w.value.workload.uuid + " has no value for var axis '" + axis + "'")
        .at_file(w.file)
        .at_line(w.line);
  }
  return *v;
}

// Whether `axis` takes one value per value of `by` across the workloads.
bool follows(const std::vector<const Located<Trace>*>& workloads, const std::string& axis, const std::string& by) {
  std::map<std::int64_t, std::int64_t> seen;
  for (const auto* w : workloads) {
    const auto [it, fresh] = seen.emplace(axis_value(*w, by), axis_value(*w, axis));
    if (!fresh && it->second != axis_value(*w, axis)) return false;
  }
  return true;
}

// Bands of about equal workload counts; a value is never split between bands.
std::vector<AxisBand> cut_bands(const std::string& axis, const std::vector<const Located<Trace>*>& workloads,
                                int bands) {
  std::map<std::int64_t, std::size_t> counts;
  for (const auto* w : workloads) ++counts[axis_value(*w, axis)];
  const std::size_t target = (workloads.size() + static_cast<std::size_t>(bands) - 1) / static_cast<std::size_t>(bands);
  std::vector<AxisBand> out;
  if (counts.size() <= static_cast<std::size_t>(bands)) {  // few values: one band each
    for (const auto& [value, n] : counts) out.push_back({axis, value, value});
    return out;
  }
  std::size_t in_band = 0;
  for (const auto& [value, n] : counts) {
    if (in_band == 0) out.push_back({axis, value, value});
    out.back().hi = value;
    in_band += n;
    if (in_band >= target && static_cast<int>(out.size()) < bands) in_band = 0;
  }
  return out;
}

std::string band_text(const AxisBand& b) {
  return b.axis + " " + (b.lo == b.hi ? std::to_string(b.lo) : std::to_string(b.lo) + "-" + std::to_string(b.hi));
}

}  // namespace

std::string ShapeGrouping::group_of(const std::string& workload_uuid) const {
  for (const auto& g : groups) {
    for (const auto* w : g.workloads) {
      if (w->value.workload.uuid == workload_uuid) return g.label;
    }
  }
  return "";
}

std::vector<const Located<Trace>*> ShapeGrouping::representatives() const {
  std::vector<const Located<Trace>*> out;
  for (const auto& g : groups) out.insert(out.end(), g.representatives.begin(), g.representatives.end());
  return out;
}

std::vector<const Located<Trace>*> ShapeGrouping::all_workloads() const {
  std::vector<const Located<Trace>*> out;
  for (const auto& g : groups) out.insert(out.end(), g.workloads.begin(), g.workloads.end());
  return out;
}

ShapeGrouping group_workloads(const Definition& def, const std::vector<const Located<Trace>*>& workloads,
                              const ShapeOptions& options) {
  require(options.bands >= 1, "bands per axis must be at least 1", ">= 1");
  require(options.representatives >= 1, "representatives per group must be at least 1", ">= 1");
  ShapeGrouping g;
  g.definition = def.name;
  for (const std::string& axis : def.var_axes()) {
    std::set<std::int64_t> distinct;
    for (const auto* w : workloads) distinct.insert(axis_value(*w, axis));
    if (distinct.size() <= 1) {
      g.ignored_axes[axis] = distinct.empty() ? "no workloads" : "constant (" + std::to_string(*distinct.begin()) + ")";
      continue;
    }
    auto leader = std::find_if(g.axes.begin(), g.axes.end(), [&](const std::string& a) { return follows(workloads, axis, a); });
    if (leader != g.axes.end()) {
      g.ignored_axes[axis] = "follows " + *leader;
    } else if (static_cast<int>(g.axes.size()) >= options.max_axes) {
      g.ignored_axes[axis] = "beyond the first " + std::to_string(options.max_axes) + " grouping axes";
    } else {
      g.axes.push_back(axis);
    }
  }

  std::vector<std::vector<AxisBand>> per_axis;
  for (const auto& axis : g.axes) per_axis.push_back(cut_bands(axis, workloads, options.bands));
  // A group per band combination, keyed by band indices so groups come out in axis order.
  std::map<std::vector<std::size_t>, ShapeGroup> by_key;
  for (const auto* w : workloads) {
    std::vector<std::size_t> key;
    for (std::size_t a = 0; a < g.axes.size(); ++a) {
      const std::int64_t v = axis_value(*w, g.axes[a]);
      std::size_t b = 0;
      while (per_axis[a][b].hi < v) ++b;
      key.push_back(b);
    }
    ShapeGroup& group = by_key[key];
    if (group.workloads.empty()) {
      for (std::size_t a = 0; a < key.size(); ++a) group.bands.push_back(per_axis[a][key[a]]);
      for (const auto& b : group.bands) group.label += (group.label.empty() ? "" : ", ") + band_text(b);
      if (group.label.empty()) group.label = "all";
    }
    group.workloads.push_back(w);
  }
  for (auto& [key, group] : by_key) {
    std::vector<const Located<Trace>*> sorted = group.workloads;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Located<Trace>* x, const Located<Trace>* y) {
      for (const auto& axis : g.axes) {
        if (axis_value(*x, axis) != axis_value(*y, axis)) return axis_value(*x, axis) < axis_value(*y, axis);
      }
      return x->value.workload.uuid < y->value.workload.uuid;
    });
    const std::size_t n = sorted.size();
    const std::size_t k = std::min(n, static_cast<std::size_t>(options.representatives));
    for (std::size_t i = 0; i < k; ++i) group.representatives.push_back(sorted[(2 * i + 1) * n / (2 * k)]);
    g.groups.push_back(std::move(group));
  }
  return g;
}

}  // namespace kforge::search
