#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {

void dsa_topk_indexer(const Axes&, const DeviceTensorMap&, const TensorMap&, DeviceTensorMap&, cudaStream_t) {
  throw Error("dsa_topk_indexer GPU reference: not yet written");
}

}  // namespace kforge::gpuref
