// @brief Plain, obviously-correct CUDA reference kernels for the five operators (fp32
// accumulation). They make correctness checks of full-size workloads fast and are themselves
// checked against the CPU oracles (src/ref) on small shapes.
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"
#include "gpu/device_buffer.h"
#include "trace/axes.h"
#include "trace/definition.h"

namespace kforge::gpuref {

using DeviceTensorMap = std::map<std::string, DeviceTensor, std::less<>>;

// Runs the GPU reference of `def` (matched by name family like find_oracle) on `stream`.
// `inputs` holds every tensor input on the device; `scalars` every scalar input (rank-0 host
// tensors); `outputs` must hold every output, allocated with the definition's dtype and shape.
// Throws Error for an unknown definition or a CUDA failure. Does not synchronize the stream.
void run(const Definition& def, const Axes& axes, const DeviceTensorMap& inputs, const TensorMap& scalars,
         DeviceTensorMap& outputs, cudaStream_t stream);

// Whether a GPU reference exists for this definition.
bool has_gpu_reference(std::string_view definition_name);

}  // namespace kforge::gpuref
