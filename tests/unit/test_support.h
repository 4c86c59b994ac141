// Shared by the unit tests that run on the bundled dataset (data/): the contest definitions' names,
// the dataset itself (loaded once per test program), and small workloads and definitions built
// from it by replacing axis values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "trace/dataset.h"

namespace kforge::test_support {

inline const std::string kGdnDecode = "gdn_decode_qk4_v8_d128_k_last";
inline const std::string kGdnPrefill = "gdn_prefill_qk4_v8_d128_k_last";
inline const std::string kDsaAttention = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
inline const std::string kDsaIndexer = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
inline const std::string kMoe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

// Axis values by name, e.g. {{"batch_size", 3}}.
using AxisValues = std::vector<std::pair<std::string, std::int64_t>>;

inline const Dataset& bundled() {
  static const Dataset ds = load_dataset(std::filesystem::path(KFORGE_SOURCE_DIR) / "data");
  return ds;
}

inline const Definition& definition(const std::string& name) {
  const auto* d = bundled().definition(name);
  if (!d) throw Error("test setup: bundled definition '" + name + "' missing");
  return d->value;
}

// The definition with some const axes changed. The name is kept, so the structured rules and
// the oracle still apply; they read every size from the axes.
inline Definition shrunk(Definition def, const AxisValues& consts) {
  for (const auto& [name, value] : consts) {
    AxisSpec* a = def.axes.find(name);
    if (!a || !a->is_const) throw Error("test setup: '" + name + "' is not a const axis of " + def.name);
    a->value = value;
  }
  return def;
}

// The first bundled workload of the definition with its var axes replaced; the input specs
// (random, scalar, safetensors) stay as the dataset has them.
inline Workload workload(const std::string& def_name, const AxisValues& axes) {
  const auto list = bundled().workloads_of(def_name);
  if (list.empty()) throw Error("test setup: no bundled workload of " + def_name);
  Workload w = list.front()->value.workload;
  for (const auto& [name, value] : axes) {
    std::int64_t* v = w.axes.find(name);
    if (!v) throw Error("test setup: workload has no axis '" + name + "'");
    *v = value;
  }
  return w;
}

}  // namespace kforge::test_support
