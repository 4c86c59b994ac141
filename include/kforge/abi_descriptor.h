// @brief The solution ABI's tensor descriptor (kforge/solution_abi.h) built on the host: shared
// by the evaluator's worker, which passes synthesized inputs, and the kernel library's typed APIs,
// which pass their callers' pointers. Not part of a solution's build.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kforge/solution_abi.h"

namespace kforge {

// A row-major contiguous tensor of `rank` extents; the caller keeps rank <= KFORGE_MAX_RANK.
inline kforge_arg contiguous_tensor_arg(void* data, kforge_dtype dtype, const std::int64_t* shape, std::size_t rank) {
  kforge_arg t{};
  t.kind = KFORGE_TENSOR;
  t.dtype = dtype;
  t.data = data;
  t.rank = static_cast<std::int32_t>(rank);
  std::int64_t stride = 1;
  for (std::size_t i = rank; i-- > 0;) {
    t.shape[i] = shape[i];
    t.strides[i] = stride;
    stride *= shape[i];
  }
  return t;
}

}  // namespace kforge
