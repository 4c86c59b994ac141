// @brief GDN decode on Hopper (the semantics of gdn_decode_qk4_v8_d128_k_last, any batch size and
// GVA head counts, head_size 128): the typed entry to the kernel of solutions/gdn_decode_hopper.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/float_types.h"

namespace kforge::kernels {

// Device pointers to row-major contiguous tensors, and their sizes. num_q_heads and num_k_heads
// must divide num_v_heads (v-head h reads q/k head h / (num_v_heads / num_*_heads)).
struct GdnDecodeArgs {
  const Bf16* q = nullptr;         // [batch, 1, num_q_heads, head_size], 8-byte aligned
  const Bf16* k = nullptr;         // [batch, 1, num_k_heads, head_size], 8-byte aligned
  const Bf16* v = nullptr;         // [batch, 1, num_v_heads, head_size]
  const float* state = nullptr;    // [batch, num_v_heads, head_size, head_size] k-last, 16-byte
                                   // aligned; nullptr: a zero state
  const float* a_log = nullptr;    // [num_v_heads]
  const Bf16* a = nullptr;         // [batch, 1, num_v_heads]
  const float* dt_bias = nullptr;  // [num_v_heads]
  const Bf16* b = nullptr;         // [batch, 1, num_v_heads]
  float scale = 0.0f;              // 0: 1/sqrt(head_size)
  Bf16* output = nullptr;          // [batch, 1, num_v_heads, head_size]
  float* new_state = nullptr;      // like state; may be `state` itself (an in-place update)
  std::int64_t batch = 0;
  std::int64_t num_q_heads = 4;
  std::int64_t num_k_heads = 4;
  std::int64_t num_v_heads = 8;
  std::int64_t head_size = 128;
};

// Enqueues one decode step on `stream` (nothing for batch 0). Throws kforge::Error naming the
// argument when sizes or pointers are not accepted, or with the CUDA error of the launch.
void gdn_decode(const GdnDecodeArgs& args, cudaStream_t stream);

}  // namespace kforge::kernels
