#include "gpuref/gpuref_ops.h"

namespace kforge::gpuref {

void gdn_decode(const Axes&, const DeviceTensorMap&, const TensorMap&, DeviceTensorMap&, cudaStream_t) {
  throw Error("gdn_decode GPU reference: not yet written");
}

}  // namespace kforge::gpuref
