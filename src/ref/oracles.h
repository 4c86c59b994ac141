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
// dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64: MLA over selected slots, base-2 lse.
TensorMap dsa_sparse_attention(const Axes& axes, const TensorMap& inputs);
// moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048: routing + two fp8 GEMMs.
TensorMap moe_fp8_block_scale(const Axes& axes, const TensorMap& inputs);

}  // namespace kforge::ref
