// @brief Owning device allocation and host<->device copies of kforge tensors.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "core/tensor.h"
#include "gpu/cuda_check.h"

namespace kforge {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : m_bytes(bytes) {
    if (bytes) KFORGE_CUDA_CHECK(cudaMalloc(&m_ptr, bytes));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)), m_bytes(std::exchange(o.m_bytes, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(m_ptr, o.m_ptr);
    std::swap(m_bytes, o.m_bytes);
    return *this;
  }
  ~DeviceBuffer() {
    if (m_ptr) cudaFree(m_ptr);
  }

  void* get() const { return m_ptr; }
  std::size_t bytes() const { return m_bytes; }

 private:
  void* m_ptr = nullptr;
  std::size_t m_bytes = 0;
};

// A tensor living on the device: same dtype/shape vocabulary as the host Tensor.
struct DeviceTensor {
  DeviceBuffer buffer;
  DType dtype = DType::kFloat32;
  Shape shape;

  void* data() const { return buffer.get(); }
  std::size_t nbytes() const { return buffer.bytes(); }
};

inline DeviceTensor to_device(const Tensor& t) {
  DeviceTensor d{DeviceBuffer(t.nbytes()), t.dtype(), t.shape()};
  if (t.nbytes()) KFORGE_CUDA_CHECK(cudaMemcpy(d.data(), t.bytes().data(), t.nbytes(), cudaMemcpyHostToDevice));
  return d;
}

inline Tensor to_host(const DeviceTensor& d) {
  Tensor t(d.dtype, d.shape);
  if (t.nbytes()) KFORGE_CUDA_CHECK(cudaMemcpy(t.bytes().data(), d.data(), t.nbytes(), cudaMemcpyDeviceToHost));
  return t;
}

inline DeviceTensor device_empty(DType dtype, const Shape& shape) {
  return {DeviceBuffer(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype)), dtype, shape};
}

}  // namespace kforge
