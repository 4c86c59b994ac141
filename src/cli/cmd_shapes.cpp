#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "search/shapes.h"
#include "trace/axes.h"

namespace kforge {
namespace {

struct ShapesOptions {
  std::string data, definition;
  search::ShapeOptions shapes;
  bool json = false;
};

void run_shapes(const ShapesOptions& o) {
  const Dataset ds = open_dataset(o.data);
  const Definition& def = pick_definition(ds, o.definition);
  const auto g = search::group_workloads(def, ds.workloads_of(def.name), o.shapes);
  auto axes_text = [&](const Located<Trace>* w) { return format_var_axes(def, resolve_axes(def, w->value.workload)); };
  if (o.json) {
    Json groups = Json::array();
    for (const auto& group : g.groups) {
      Json bands = Json::array(), reps = Json::array(), members = Json::array();
      for (const auto& b : group.bands) bands.push_back({{"axis", b.axis}, {"lo", b.lo}, {"hi", b.hi}});
      for (const auto* w : group.representatives) reps.push_back(w->value.workload.uuid);
      for (const auto* w : group.workloads) members.push_back(w->value.workload.uuid);
      groups.push_back({{"label", group.label}, {"bands", bands}, {"count", group.workloads.size()},
                        {"representatives", reps}, {"workloads", members}});
    }
    print_out(Json{{"definition", def.name}, {"axes", g.axes}, {"ignored_axes", g.ignored_axes}, {"groups", groups}}.dump(2) +
              "\n");
    return;
  }
  std::string ignored;
  for (const auto& [axis, why] : g.ignored_axes) ignored += (ignored.empty() ? "" : ", ") + axis + " (" + why + ")";
  Table t({"GROUP", "WORKLOADS", "REPRESENTATIVES"});
  std::size_t total = 0;
  for (const auto& group : g.groups) {
    std::string reps;
    for (const auto* w : group.representatives) reps += (reps.empty() ? "" : "; ") + w->value.workload.uuid.substr(0, 8) + " " + axes_text(w);
    t.add({group.label, std::to_string(group.workloads.size()), reps});
    total += group.workloads.size();
  }
  std::string axes;
  for (const auto& a : g.axes) axes += (axes.empty() ? "" : ", ") + a;
  print_out(fmt::format("{}: {} workloads in {} groups by {}{}\n", def.name, total, g.groups.size(),
                        axes.empty() ? "nothing (no axis varies)" : axes, ignored.empty() ? "" : "; ignored: " + ignored) +
            t.render());
}

}  // namespace

void add_shapes_command(CLI::App& app) {
  auto o = std::make_shared<ShapesOptions>();
  auto* cmd = app.add_subcommand(
      "shapes", "Group a definition's workloads by their variable axes into readable bands (about equal counts, a value "
                "never split), with counts and deterministic representatives: the search evaluates the representatives "
                "in its inner loop and every workload before promoting");
  add_data_option(*cmd, o->data);
  cmd->add_option("definition", o->definition, "Definition name")->required();
  cmd->add_option("--bands", o->shapes.bands, "Bands per grouping axis (default 3)")->check(CLI::Range(1, 100));
  cmd->add_option("--max-axes", o->shapes.max_axes, "Grouping axes at most, first in definition order (default 2)")
      ->check(CLI::Range(0, 10));
  cmd->add_option("--reps", o->shapes.representatives, "Representatives per group (default 1: the median)")
      ->check(CLI::Range(1, 1000));
  add_json_flag(*cmd, o->json);
  cmd->callback([o] { run_shapes(*o); });
}

}  // namespace kforge
