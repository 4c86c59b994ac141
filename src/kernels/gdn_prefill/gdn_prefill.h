// @brief GDN prefill on Hopper (the semantics of gdn_prefill_qk4_v8_d128_k_last: 4 q/k heads, 8
// v-heads, head_size 128, variable-length sequences, k-last float32 state): the typed entry to
// the kernels of solutions/gdn_prefill_hopper.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/float_types.h"

namespace kforge::kernels {

// Device pointers to row-major contiguous tensors, and their sizes. A pointer may be null only
// where its tensor has no elements (and `state` always: zero initial states).
struct GdnPrefillArgs {
  const Bf16* q = nullptr;                   // [total_seq_len, 4, 128], 16-byte aligned
  const Bf16* k = nullptr;                   // [total_seq_len, 4, 128], 16-byte aligned
  const Bf16* v = nullptr;                   // [total_seq_len, 8, 128], 16-byte aligned
  const float* state = nullptr;              // [num_seqs, 8, 128, 128] k-last, 16-byte aligned
  const float* a_log = nullptr;              // [8]
  const Bf16* a = nullptr;                   // [total_seq_len, 8]
  const float* dt_bias = nullptr;            // [8]
  const Bf16* b = nullptr;                   // [total_seq_len, 8]
  const std::int64_t* cu_seqlens = nullptr;  // [num_seqs + 1], non-decreasing within [0, total_seq_len]
  float scale = 0.0f;                        // 0: 1/sqrt(128)
  Bf16* output = nullptr;                    // [total_seq_len, 8, 128], 16-byte aligned
  float* new_state = nullptr;                // like state; may be `state` itself (an in-place update)
  std::int64_t total_seq_len = 0;
  std::int64_t num_seqs = 0;                 // at most 65535
};

// Device workspace bytes a call of these sizes needs (0 for calls small enough for the
// recurrent path). Throws kforge::Error for sizes gdn_prefill does not take.
std::size_t gdn_prefill_workspace_bytes(std::int64_t total_seq_len, std::int64_t num_seqs);

// Enqueues the prefill on `stream`. `workspace`: device memory of at least
// gdn_prefill_workspace_bytes, 16-byte aligned, any contents (the call writes every byte it
// reads); it must not be in use by another call in flight. Rows of `output` that no segment
// covers are zeroed, and so are the states of empty sequences, as in the reference. Throws
// kforge::Error naming the argument when sizes or pointers are not accepted, or with the CUDA
// error of a launch.
void gdn_prefill(const GdnPrefillArgs& args, void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace kforge::kernels
