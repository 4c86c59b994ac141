// @brief The five operator oracles (one file each); see oracle.h for the calling convention.
#pragma once

#include "ref/oracle.h"

namespace kforge::ref {

// gdn_decode_qk4_v8_d128_k_last: one recurrent step per sequence, k-last state.
TensorMap gdn_decode(const Axes& axes, const TensorMap& inputs);
// gdn_prefill_qk4_v8_d128_k_last: the same recurrence over cu_seqlens segments.
TensorMap gdn_prefill(const Axes& axes, const TensorMap& inputs);
// dsa_topk_indexer_fp8_h64_d128_topk2048_ps64: fp8 paged scores, top-k token ids.
TensorMap dsa_topk_indexer(const Axes& axes, const TensorMap& inputs);
// The indexer's scores sum_h relu(q_h . k_t) * w_h (double accumulation) of batch row `row`, one
// per logical token t < seq_lens[row]; the oracle ranks exactly these. Validates the row as the
// oracle does. Parallel over tokens inside, so callers go one row at a time.
std::vector<double> dsa_indexer_token_scores(const Axes& axes, const TensorMap& inputs, std::int64_t row);
// dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64: MLA over selected slots, base-2 lse.
TensorMap dsa_sparse_attention(const Axes& axes, const TensorMap& inputs);
// moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048: routing + two fp8 GEMMs.
TensorMap moe_fp8_block_scale(const Axes& axes, const TensorMap& inputs);
// Its DeepSeek-V3 routing (reads routing_logits, routing_bias, routed_scaling_factor): per token,
// kTopK global expert ids by descending biased score (ties to the lower id) and their weights.
struct MoeRouting {
  static constexpr int kTopK = 8;
  std::vector<std::int32_t> topk_ids;  // [seq_len * kTopK]
  std::vector<float> topk_weights;     // [seq_len * kTopK], sigmoid score / sum * scaling factor
};
MoeRouting moe_ds_routing(const Axes& axes, const TensorMap& inputs);

}  // namespace kforge::ref
