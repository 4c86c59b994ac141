// Shared by the kernel library's GPU tests: a case (one call's inputs as the oracle takes them)
// and its device buffers, so that each test states only how its typed arguments and outputs map.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "gpu/cuda_check.h"
#include "gpu/device_buffer.h"
#include "trace/axes.h"

namespace kforge::test_support {

// Host tensors, scale a rank-0 tensor, no "state" entry for zero states.
struct KernelCase {
  std::string label;
  Axes axes;
  TensorMap inputs;
};

// Device copies of a case's tensor inputs, and the outputs a test adds. A call poisons the
// outputs, launches on a stream, waits for that stream alone and copies the outputs back.
class KernelBuffers {
 public:
  explicit KernelBuffers(const KernelCase& c) {
    for (const auto& [name, t] : c.inputs) {
      if (!t.is_scalar()) m_inputs.emplace(name, to_device(t));
    }
  }

  bool has_input(const std::string& name) const { return m_inputs.contains(name); }
  const DeviceTensor& input_tensor(const std::string& name) const { return m_inputs.at(name); }
  template <class T>
  const T* input(const std::string& name) const {
    return static_cast<const T*>(m_inputs.at(name).data());
  }

  template <class T>
  T* add_output(const std::string& name, DType dtype, const Shape& shape) {
    return static_cast<T*>(m_outputs.insert_or_assign(name, device_empty(dtype, shape)).first->second.data());
  }

  // Fills every output with `poison` bytes and waits for the device, so that nothing pending
  // overlaps the call under test.
  void poison(int poison) const {
    for (const auto& [name, t] : m_outputs) {
      if (t.nbytes()) KFORGE_CUDA_CHECK(cudaMemset(t.data(), poison, t.nbytes()));
    }
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
  }

  // Waits for `stream` alone (work left elsewhere shows as missing output), checks for errors
  // and returns the outputs.
  TensorMap collect(cudaStream_t stream) const {
    KFORGE_CUDA_CHECK(cudaStreamSynchronize(stream));
    KFORGE_CUDA_CHECK(cudaGetLastError());
    TensorMap out;
    for (const auto& [name, t] : m_outputs) out.emplace(name, to_host(t));
    return out;
  }

  void expect_inputs_unchanged(const KernelCase& c) const {
    for (const auto& [name, t] : m_inputs) {
      EXPECT_TRUE(to_host(t).equals(c.inputs.at(name))) << c.label << ": input '" << name << "' was modified";
    }
  }

 private:
  std::map<std::string, DeviceTensor> m_inputs;
  std::map<std::string, DeviceTensor> m_outputs;
};

// Points the inputs that the GDN kernels' argument structs share (decode and prefill) at the
// buffers: q, k, v, the state (null when the case has none), A_log, a, dt_bias, b, and the scale.
template <class GdnArgs>
void bind_gdn_inputs(GdnArgs& a, const KernelBuffers& buffers, const KernelCase& c) {
  const auto bind = [&]<class T>(const T*& field, const std::string& name) { field = buffers.input<T>(name); };
  bind(a.q, "q");
  bind(a.k, "k");
  bind(a.v, "v");
  a.state = buffers.has_input("state") ? buffers.input<float>("state") : nullptr;
  bind(a.a_log, "A_log");
  bind(a.a, "a");
  bind(a.dt_bias, "dt_bias");
  bind(a.b, "b");
  a.scale = static_cast<float>(c.inputs.at("scale").get(0));
}

}  // namespace kforge::test_support
