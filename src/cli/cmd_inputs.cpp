#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "cli/tensor_io.h"
#include "synth/synthesizer.h"

namespace kforge {
namespace {

struct InputsOptions {
  std::string data, definition, workload, out;
  std::uint64_t seed = 0;
  bool json = false;
};

void run_inputs(const InputsOptions& o) {
  const Dataset ds = open_dataset(o.data);
  const Definition& def = pick_definition(ds, o.definition);
  const auto& w = pick_workload(ds, def, o.workload);
  const auto inputs = synthesize_inputs(def, w.value.workload, &ds, o.seed);
  const std::string out = o.out.empty() ? default_tensor_file(def, w.value.workload, o.seed, "inputs") : o.out;
  Json prov = Json::object();
  for (const auto& [n, p] : inputs.provenance) prov[n] = p;
  Json axes(inputs.axes);
  std::vector<std::string> order;
  for (const auto& [n, s] : def.inputs) order.push_back(n);
  save_tensors(out, inputs.tensors, order,
               {{"definition", def.name}, {"workload", w.value.workload.uuid}, {"seed", o.seed}, {"axes", axes},
                {"provenance", prov}});
  if (o.json) {
    Json rows = Json::array();
    for (const auto& [n, t] : inputs.tensors) {
      Json s = tensor_summary(n, t);
      s["source"] = prov[n];
      rows.push_back(s);
    }
    print_out(Json{{"file", out}, {"definition", def.name}, {"workload", w.value.workload.uuid}, {"seed", o.seed},
                   {"inputs", rows}}.dump(2) + "\n");
    return;
  }
  Table t({"INPUT", "DTYPE", "SHAPE", "SOURCE"});
  for (const auto& [n, p] : inputs.provenance) {
    const Tensor& tensor = inputs.tensors.at(n);
    t.add({n, std::string(dtype_name(tensor.dtype())), shape_to_string(tensor.shape()), p});
  }
  print_out(fmt::format("{} workload {} ({}), seed {}\n", def.name, w.value.workload.uuid,
                        format_var_axes(def, inputs.axes), o.seed) +
            t.render() + fmt::format("wrote {}\n", out));
}

}  // namespace

void add_inputs_command(CLI::App& app) {
  auto opts = std::make_shared<InputsOptions>();
  auto* cmd = app.add_subcommand(
      "inputs",
      "Synthesize one workload's inputs (seeded, reproducible) into a safetensors file, saying where each came "
      "from: workload scalar, blob, structured generator or FlashInfer-Bench random");
  add_data_option(*cmd, opts->data);
  cmd->add_option("-d,--definition", opts->definition, "Definition name")->required();
  cmd->add_option("-w,--workload", opts->workload, "Workload uuid, unique uuid prefix, or index (see kforge list -d)")->required();
  cmd->add_option("--seed", opts->seed, "Seed; the same seed gives the same bytes (default 0)");
  cmd->add_option("-o,--out", opts->out, "Output file (default: <definition>_<uuid8>_seed<N>.inputs.safetensors)");
  add_json_flag(*cmd, opts->json);
  cmd->callback([opts] { run_inputs(*opts); });
}

}  // namespace kforge
