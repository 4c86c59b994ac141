#include <fmt/format.h>

#include <chrono>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "cli/tensor_io.h"
#include "ref/oracle.h"
#include "roofline/roofline.h"
#include "synth/synthesizer.h"

namespace kforge {
namespace {

// Beyond this the CPU oracle runs for many minutes (MoE at thousands of tokens: hours).
constexpr double kCpuFlopBudget = 2e11;

struct ReferenceOptions {
  std::string data, definition, workload, inputs, out;
  std::uint64_t seed = 0;
  bool force = false, json = false;
};

void run_reference(const ReferenceOptions& o) {
  const Dataset ds = open_dataset(o.data);
  const Definition& def = pick_definition(ds, o.definition);
  const auto& w = pick_workload(ds, def, o.workload);
  const Axes axes = resolve_axes(def, w.value.workload);

  const auto cost = estimate_roofline(def, axes, nullptr, device_peaks("h100"));
  if (cost.flops > kCpuFlopBudget && !o.force) {
    throw Error(fmt::format("workload {} needs about {:.0f} GFLOP on the CPU oracle (many minutes)",
                            w.value.workload.uuid, cost.flops / 1e9),
                "a smaller workload, or --force to run it anyway");
  }
  TensorMap inputs;
  Json meta = {{"definition", def.name}, {"workload", w.value.workload.uuid}};
  if (!o.inputs.empty()) {
    Json in_meta;
    inputs = load_tensors(o.inputs, &in_meta);
    meta["inputs_file"] = o.inputs;
    if (in_meta.contains("seed")) meta["seed"] = in_meta["seed"];
  } else {
    inputs = synthesize_inputs(def, w.value.workload, &ds, o.seed).tensors;
    meta["seed"] = o.seed;
  }
  const auto start = std::chrono::steady_clock::now();
  const TensorMap outputs = run_oracle(def, axes, inputs);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  meta["oracle_seconds"] = seconds;

  const std::string out = o.out.empty() ? default_tensor_file(def, w.value.workload, o.seed, "reference") : o.out;
  std::vector<std::string> order;
  for (const auto& [n, s] : def.outputs) order.push_back(n);
  save_tensors(out, outputs, order, meta);

  Json rows = Json::array();
  for (const auto& n : order) rows.push_back(tensor_summary(n, outputs.at(n)));
  if (o.json) {
    print_out(Json{{"file", out}, {"definition", def.name}, {"workload", w.value.workload.uuid},
                   {"seconds", seconds}, {"outputs", rows}}.dump(2) + "\n");
    return;
  }
  Table t({"OUTPUT", "DTYPE", "SHAPE", "FINITE", "MIN", "MAX", "MEAN|X|"});
  for (const auto& r : rows) {
    t.add({r["name"], r["dtype"], shape_to_string(r["shape"].get<Shape>()),
           fmt::format("{}/{}", r["finite"].get<std::int64_t>(), r["numel"].get<std::int64_t>()),
           fmt::format("{:.4g}", r["min"].get<double>()), fmt::format("{:.4g}", r["max"].get<double>()),
           fmt::format("{:.4g}", r["mean_abs"].get<double>())});
  }
  print_out(fmt::format("{} workload {} ({}): CPU oracle {:.3f} s\n", def.name, w.value.workload.uuid,
                        format_var_axes(def, axes), seconds) +
            t.render() + fmt::format("wrote {}\n", out));
}

}  // namespace

void add_reference_command(CLI::App& app) {
  auto opts = std::make_shared<ReferenceOptions>();
  auto* cmd = app.add_subcommand(
      "reference", "Run the CPU reference oracle on a workload (synthesized inputs, or a file from `kforge inputs`) "
                   "and write its outputs to a safetensors file");
  add_data_option(*cmd, opts->data);
  cmd->add_option("-d,--definition", opts->definition, "Definition name")->required();
  cmd->add_option("-w,--workload", opts->workload, "Workload uuid, unique uuid prefix, or index")->required();
  cmd->add_option("--seed", opts->seed, "Seed for synthesized inputs (default 0)");
  cmd->add_option("--inputs", opts->inputs, "Use these inputs (from kforge inputs) instead of synthesizing");
  cmd->add_option("-o,--out", opts->out, "Output file (default: <definition>_<uuid8>_seed<N>.reference.safetensors)");
  cmd->add_flag("--force", opts->force, "Run even when the workload is too large for a quick CPU run");
  add_json_flag(*cmd, opts->json);
  cmd->callback([opts] { run_reference(*opts); });
}

}  // namespace kforge
