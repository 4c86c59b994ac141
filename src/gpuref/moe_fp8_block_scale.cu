#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {

void moe_fp8_block_scale(const Axes&, const DeviceTensorMap&, const TensorMap&, DeviceTensorMap&, cudaStream_t) {
  throw Error("moe_fp8_block_scale GPU reference: not yet written");
}

}  // namespace kforge::gpuref
