#include "roofline/roofline.h"

#include <algorithm>

#include "core/error.h"
#include "ref/oracles.h"

namespace kforge {
namespace {

// Every input read once and every output written once: the floor's byte count.
double io_bytes(const Definition& def, const Axes& axes) {
  double bytes = 0;
  for (const auto* list : {&def.inputs, &def.outputs}) {
    for (const auto& [name, spec] : *list) {
      if (!spec.is_scalar()) bytes += static_cast<double>(shape_numel(resolve_shape(spec, axes)) * dtype_size(spec.dtype));
    }
  }
  return bytes;
}

double spec_bytes(const Definition& def, const Axes& axes, std::string_view name) {
  const TensorSpec* s = def.tensor(name);
  return static_cast<double>(shape_numel(resolve_shape(*s, axes)) * dtype_size(s->dtype));
}

const Tensor* value(const TensorMap* values, std::string_view name) {
  if (!values) return nullptr;
  auto it = values->find(name);
  return it == values->end() ? nullptr : &it->second;
}

RooflineEstimate gdn_decode(const Definition& def, const Axes& a) {
  RooflineEstimate e;
  const double heads = static_cast<double>(a.at("batch_size") * a.at("num_v_heads"));
  const double kv = static_cast<double>(a.at("head_size") * a.at("head_size"));
  e.bytes = io_bytes(def, a);
  // Per head: decay, k^T S, rank-1 update and q S, each a pass over the K x V state.
  e.flops = heads * 8 * kv;
  e.math = "fp32";
  e.basis = "state read once and written once; 8 K*V flops per head";
  return e;
}

RooflineEstimate gdn_prefill(const Definition& def, const Axes& a) {
  RooflineEstimate e;
  const double t = static_cast<double>(a.at("total_seq_len")), hv = static_cast<double>(a.at("num_v_heads"));
  const double k = static_cast<double>(a.at("head_size")), v = k, chunk = 64;
  e.bytes = io_bytes(def, a);
  // Chunked (WY) form on tensor cores: intra-chunk attention and the state update per token.
  e.flops = t * hv * (6 * chunk * k + 6 * k * v + 4 * chunk * v);
  e.math = "bf16";
  e.basis = "chunked form, chunk 64; state in/out once per sequence";
  return e;
}

RooflineEstimate dsa_attention(const Definition& def, const Axes& a, const TensorMap* values) {
  RooflineEstimate e;
  const std::int64_t tokens = a.at("num_tokens"), topk = a.at("topk");
  const double row = static_cast<double>(a.at("head_dim_ckv") + a.at("head_dim_kpe"));
  double valid = static_cast<double>(tokens * topk);
  if (const Tensor* idx = value(values, "sparse_indices")) {
    const auto d = idx->data<std::int32_t>();
    valid = static_cast<double>(std::count_if(d.begin(), d.end(), [](std::int32_t i) { return i >= 0; }));
    e.basis = std::to_string(static_cast<long long>(valid)) + " valid of " + std::to_string(tokens * topk) + " indices";
  } else {
    e.basis = "every index valid (upper bound)";
  }
  // Only the selected cache rows move, not the whole cache.
  e.bytes = io_bytes(def, a) - spec_bytes(def, a, "ckv_cache") - spec_bytes(def, a, "kpe_cache") + valid * row * 2;
  e.flops = 2.0 * static_cast<double>(a.at("num_qo_heads")) * valid * (row + static_cast<double>(a.at("head_dim_ckv")));
  e.math = "bf16";
  return e;
}

RooflineEstimate dsa_indexer(const Definition& def, const Axes& a, const TensorMap* values) {
  RooflineEstimate e;
  const std::int64_t batch = a.at("batch_size"), page = a.at("page_size");
  double tokens = static_cast<double>(batch * a.at("max_num_pages") * page);
  if (const Tensor* lens = value(values, "seq_lens")) {
    tokens = 0;
    for (auto l : lens->data<std::int32_t>()) tokens += l;
    e.basis = std::to_string(static_cast<long long>(tokens)) + " context tokens";
  } else {
    e.basis = "every row at max_num_pages pages (upper bound)";
  }
  const double per_token = static_cast<double>(a.at("head_dim_with_scale"));
  e.bytes = io_bytes(def, a) - spec_bytes(def, a, "k_index_cache_fp8") + tokens * per_token;
  e.flops = 2.0 * static_cast<double>(a.at("num_index_heads") * a.at("index_head_dim")) * tokens;
  e.math = "fp8";
  return e;
}

RooflineEstimate moe(const Definition& def, const Axes& a, const TensorMap* values) {
  RooflineEstimate e;
  const std::int64_t t = a.at("seq_len"), local = a.at("num_local_experts");
  const double h = static_cast<double>(a.at("hidden_size")), inter = static_cast<double>(a.at("intermediate_size"));
  double active = static_cast<double>(local), pairs = static_cast<double>(t * ref::MoeRouting::kTopK);
  if (values && value(values, "routing_logits") && value(values, "local_expert_offset")) {
    const auto routing = ref::moe_ds_routing(a, *values);
    const auto offset = static_cast<std::int64_t>(value(values, "local_expert_offset")->get(0));
    std::vector<bool> used(static_cast<std::size_t>(local), false);
    pairs = 0;
    for (auto id : routing.topk_ids) {
      if (id >= offset && id < offset + local) {
        used[static_cast<std::size_t>(id - offset)] = true;
        pairs += 1;
      }
    }
    active = static_cast<double>(std::count(used.begin(), used.end(), true));
    e.basis = std::to_string(static_cast<long long>(active)) + " of " + std::to_string(local) +
              " local experts active, " + std::to_string(static_cast<long long>(pairs)) + " token-expert pairs";
  } else {
    pairs = std::min(pairs, static_cast<double>(t * local));
    e.basis = "every local expert active (upper bound)";
  }
  const double weights = spec_bytes(def, a, "gemm1_weights") + spec_bytes(def, a, "gemm1_weights_scale") +
                         spec_bytes(def, a, "gemm2_weights") + spec_bytes(def, a, "gemm2_weights_scale");
  // Only the weights of experts that received tokens must be read.
  e.bytes = io_bytes(def, a) - weights + weights * active / static_cast<double>(local);
  e.flops = 6.0 * pairs * h * inter;  // GEMM1 2*(2I)*H plus GEMM2 2*H*I per pair
  e.math = "fp8";
  return e;
}

}  // namespace

DevicePeaks device_peaks(const std::string& preset) {
  if (preset == "h100") return {"h100", 2969, 800, 1463, 67};
  if (preset == "h100-spec") return {"h100-spec", 3350, 989, 1979, 67};
  throw Error("unknown device preset '" + preset + "'", "one of " + device_preset_names());
}

std::string device_preset_names() { return "h100, h100-spec"; }

std::set<std::string> roofline_value_inputs(const Definition& def) {
  if (def.name.starts_with("dsa_sparse_attention_")) return {"sparse_indices"};
  if (def.name.starts_with("dsa_topk_indexer_")) return {"seq_lens"};
  if (def.name.starts_with("moe_")) return {"routing_logits", "routing_bias", "local_expert_offset", "routed_scaling_factor"};
  return {};
}

RooflineEstimate estimate_roofline(const Definition& def, const Axes& axes, const TensorMap* values,
                                   const DevicePeaks& peaks) {
  RooflineEstimate e;
  if (def.name.starts_with("gdn_decode_")) {
    e = gdn_decode(def, axes);
  } else if (def.name.starts_with("gdn_prefill_")) {
    e = gdn_prefill(def, axes);
  } else if (def.name.starts_with("dsa_sparse_attention_")) {
    e = dsa_attention(def, axes, values);
  } else if (def.name.starts_with("dsa_topk_indexer_")) {
    e = dsa_indexer(def, axes, values);
  } else if (def.name.starts_with("moe_")) {
    e = moe(def, axes, values);
  } else {
    e.bytes = io_bytes(def, axes);
    e.math = "fp32";
    e.basis = "inputs and outputs once; FLOPs unknown for this definition";
  }
  const double rate = e.math == "fp8" ? peaks.fp8_tflops : e.math == "bf16" ? peaks.bf16_tflops : peaks.fp32_tflops;
  e.memory_floor_us = e.bytes / (peaks.bandwidth_gbps * 1e9) * 1e6;
  e.compute_floor_us = e.flops / (rate * 1e12) * 1e6;
  return e;
}

}  // namespace kforge
