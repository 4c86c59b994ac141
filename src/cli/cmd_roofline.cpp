#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/table.h"
#include "roofline/roofline.h"
#include "synth/synthesizer.h"

namespace kforge {
namespace {

struct RooflineOptions {
  std::string data, definition, workload, device = "h100";
  double bandwidth = 0, bf16 = 0, fp8 = 0;
  std::uint64_t seed = 0;
  bool json = false;
};

void run_roofline(const RooflineOptions& o) {
  const Dataset ds = open_dataset(o.data);
  DevicePeaks peaks = device_peaks(o.device);
  if (o.bandwidth > 0) peaks.bandwidth_gbps = o.bandwidth;
  if (o.bf16 > 0) peaks.bf16_tflops = o.bf16;
  if (o.fp8 > 0) peaks.fp8_tflops = o.fp8;

  std::vector<const Definition*> defs;
  if (o.definition.empty()) {
    for (const auto& d : ds.definitions) defs.push_back(&d.value);
  } else {
    defs.push_back(&pick_definition(ds, o.definition));
  }
  Json rows = Json::array();
  Table t({"DEFINITION", "WORKLOAD", "AXES", "MOVED", "GFLOP", "MATH", "MEM us", "MATH us", "FLOOR us", "BOUND"});
  for (const Definition* def : defs) {
    std::vector<const Located<Trace>*> workloads;
    if (o.workload.empty()) {
      workloads = ds.workloads_of(def->name);
    } else {
      workloads.push_back(&pick_workload(ds, *def, o.workload));
    }
    const auto value_inputs = roofline_value_inputs(*def);
    for (const auto* w : workloads) {
      // Data-dependent counts (routing, valid indices, context lengths) come from the same
      // seeded inputs an evaluation would use.
      const auto values = synthesize_inputs(*def, w->value.workload, &ds, o.seed, &value_inputs);
      const auto e = estimate_roofline(*def, values.axes, value_inputs.empty() ? nullptr : &values.tensors, peaks);
      rows.push_back({{"definition", def->name}, {"workload", w->value.workload.uuid}, {"axes", Json(values.axes)},
                      {"bytes", e.bytes}, {"flops", e.flops}, {"math", e.math}, {"memory_floor_us", e.memory_floor_us},
                      {"compute_floor_us", e.compute_floor_us}, {"floor_us", e.floor_us()}, {"bound", e.bound()},
                      {"basis", e.basis}});
      t.add({def->name, w->value.workload.uuid.substr(0, 8), format_var_axes(*def, values.axes), format_bytes(e.bytes),
             fmt::format("{:.3f}", e.flops / 1e9), e.math, fmt::format("{:.2f}", e.memory_floor_us),
             fmt::format("{:.2f}", e.compute_floor_us), fmt::format("{:.2f}", e.floor_us()), e.bound()});
    }
  }
  if (o.json) {
    print_out(Json{{"device", {{"preset", peaks.name}, {"bandwidth_gbps", peaks.bandwidth_gbps},
                               {"bf16_tflops", peaks.bf16_tflops}, {"fp8_tflops", peaks.fp8_tflops},
                               {"fp32_tflops", peaks.fp32_tflops}}},
                   {"seed", o.seed}, {"workloads", rows}}.dump(2) + "\n");
    return;
  }
  print_out(fmt::format("device {}: {:.0f} GB/s, bf16 {:.0f} / fp8 {:.0f} / fp32 {:.0f} TFLOP/s; floor = max(bytes / "
                        "bandwidth, FLOPs / rate)\n",
                        peaks.name, peaks.bandwidth_gbps, peaks.bf16_tflops, peaks.fp8_tflops, peaks.fp32_tflops) +
            t.render());
}

}  // namespace

void add_roofline_command(CLI::App& app) {
  auto opts = std::make_shared<RooflineOptions>();
  auto* cmd = app.add_subcommand(
      "roofline", "Per workload: bytes that must move, FLOPs that must be done, and the floor in microseconds "
                  "for a device's bandwidth and peak rates");
  add_data_option(*cmd, opts->data);
  cmd->add_option("-d,--definition", opts->definition, "Only this definition (default: all)");
  cmd->add_option("-w,--workload", opts->workload, "Only this workload (uuid, prefix or index; needs -d)");
  cmd->add_option("--device", opts->device, "Peak-rate preset: " + device_preset_names() + " (default h100, measured)");
  cmd->add_option("--bandwidth-gbps", opts->bandwidth, "Override DRAM bandwidth, GB/s (read + write)");
  cmd->add_option("--bf16-tflops", opts->bf16, "Override the bf16 tensor-core rate, TFLOP/s");
  cmd->add_option("--fp8-tflops", opts->fp8, "Override the fp8 tensor-core rate, TFLOP/s");
  cmd->add_option("--seed", opts->seed, "Seed of the inputs whose values set the counts (routing, indices)");
  add_json_flag(*cmd, opts->json);
  cmd->callback([opts] { run_roofline(*opts); });
}

}  // namespace kforge
