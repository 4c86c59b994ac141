// @brief Shared by the kernel library's typed APIs: the solution ABI's descriptors of their
// arguments, and the checks of the device pointers they pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.h"
#include "kforge/abi_descriptor.h"
#include "kforge/solution_abi.h"

namespace kforge::kernels {

// A row-major contiguous tensor descriptor of the ABI.
inline kforge_arg tensor_arg(const void* data, kforge_dtype dtype, std::initializer_list<std::int64_t> shape) {
  // The ABI's one pointer type; inputs are only read.
  return contiguous_tensor_arg(const_cast<void*>(data), dtype, shape.begin(), shape.size());
}

// A float32 scalar descriptor of the ABI.
inline kforge_arg float_scalar_arg(double value) {
  kforge_arg s{};
  s.kind = KFORGE_SCALAR;
  s.dtype = KFORGE_FLOAT32;
  s.scalar.f64 = value;
  return s;
}

// Throws unless `p` is non-null and aligned to `align` bytes (null passes when may_be_null).
inline void check_pointer(std::string_view op, const void* p, std::size_t align, const char* name,
                          bool may_be_null = false) {
  const std::string what = std::string(op) + ": " + name;
  if (p == nullptr) {
    require(may_be_null, what + " is null", "a device pointer");
    return;
  }
  require(reinterpret_cast<std::uintptr_t>(p) % align == 0, what + " is not " + std::to_string(align) + "-byte aligned",
          "an address aligned to " + std::to_string(align) + " bytes");
}

}  // namespace kforge::kernels
