#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {

void dsa_sparse_attention(const Axes&, const DeviceTensorMap&, const TensorMap&, DeviceTensorMap&, cudaStream_t) {
  throw Error("dsa_sparse_attention GPU reference: not yet written");
}

}  // namespace kforge::gpuref
