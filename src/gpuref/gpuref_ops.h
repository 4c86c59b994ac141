// @brief One launcher per operator (one .cu file each); gpu_reference.cu dispatches by name.
#pragma once

#include "gpuref/gpu_reference.h"

namespace kforge::gpuref {

void gdn_decode(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out, cudaStream_t s);
void gdn_prefill(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out, cudaStream_t s);
void dsa_topk_indexer(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out, cudaStream_t s);
void dsa_sparse_attention(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out, cudaStream_t s);
void moe_fp8_block_scale(const Axes& axes, const DeviceTensorMap& in, const TensorMap& scalars, DeviceTensorMap& out, cudaStream_t s);

}  // namespace kforge::gpuref
