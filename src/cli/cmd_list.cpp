#include <fmt/format.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "trace/axes.h"

namespace kforge {
namespace {

struct ListOptions {
  std::string data;
  std::string definition;
  bool json = false;
};

// "batch_size 1..64" per var axis over the definition's workloads.
std::string axis_ranges(const Definition& def, const std::vector<const Located<Trace>*>& workloads) {
  std::string out;
  for (const auto& axis : def.var_axes()) {
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const auto* w : workloads) {
      if (const auto* v = w->value.workload.axes.find(axis)) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
    }
    if (!out.empty()) out += ", ";
    out += lo > hi ? axis : lo == hi ? fmt::format("{} {}", axis, lo) : fmt::format("{} {}..{}", axis, lo, hi);
  }
  return out;
}

void run_list(const ListOptions& o) {
  const Dataset ds = open_dataset(o.data);
  if (!o.definition.empty()) {
    const Definition& def = pick_definition(ds, o.definition);
    const auto workloads = ds.workloads_of(def.name);
    if (o.json) {
      Json arr = Json::array();
      for (std::size_t i = 0; i < workloads.size(); ++i) {
        arr.push_back({{"index", i}, {"uuid", workloads[i]->value.workload.uuid}, {"axes", to_json(workloads[i]->value.workload)["axes"]}});
      }
      print_out(Json{{"definition", def.name}, {"workloads", arr}}.dump(2) + "\n");
      return;
    }
    std::vector<std::string> headers{"#", "UUID"};
    for (const auto& a : def.var_axes()) headers.push_back(a);
    Table t(headers);
    for (std::size_t i = 0; i < workloads.size(); ++i) {
      std::vector<std::string> row{std::to_string(i), workloads[i]->value.workload.uuid};
      for (const auto& a : def.var_axes()) {
        const auto* v = workloads[i]->value.workload.axes.find(a);
        row.push_back(v ? std::to_string(*v) : "?");
      }
      t.add(row);
    }
    print_out(fmt::format("{} ({}, {} workloads)\n", def.name, def.op_type, workloads.size()) + t.render());
    return;
  }
  if (o.json) {
    Json arr = Json::array();
    for (const auto& d : ds.definitions) {
      const auto w = ds.workloads_of(d.value.name);
      Json axes = Json::object();
      for (const auto& [n, a] : d.value.axes) axes[n] = a.is_const ? Json(a.value) : Json("var");
      arr.push_back({{"name", d.value.name}, {"op_type", d.value.op_type}, {"file", d.file},
                     {"workloads", w.size()}, {"axes", axes}});
    }
    print_out(Json{{"dataset", ds.root.string()}, {"definitions", arr}}.dump(2) + "\n");
    return;
  }
  Table t({"DEFINITION", "OP_TYPE", "WORKLOADS", "VAR AXES (range over workloads)"});
  for (const auto& d : ds.definitions) {
    const auto w = ds.workloads_of(d.value.name);
    t.add({d.value.name, d.value.op_type, std::to_string(w.size()), axis_ranges(d.value, w)});
  }
  print_out(t.render());
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto opts = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List definitions (with workload counts and axis ranges) or one definition's workloads");
  add_data_option(*cmd, opts->data);
  cmd->add_option("-d,--definition", opts->definition, "Show this definition's workloads with their axes");
  add_json_flag(*cmd, opts->json);
  cmd->callback([opts] { run_list(*opts); });
}

}  // namespace kforge
