// Stand-ins for the CUDA backend and GPU reference in builds without nvcc.
#include "harness/backend.h"
#include "harness/reference_provider.h"

namespace kforge {

bool cuda_backend_available() { return false; }

std::unique_ptr<Backend> make_cuda_backend() {
  throw Error("kforge was built without CUDA", "a build with nvcc present for cuda solutions");
}

std::unique_ptr<ReferenceProvider> make_gpu_reference() {
  throw Error("kforge was built without CUDA", "a build with nvcc present for --reference gpu");
}

}  // namespace kforge
