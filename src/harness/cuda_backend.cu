// The CUDA backend of the worker and the GPU reference provider: device memory, a non-blocking
// stream handed to the candidate, GPU timers (gpu/timer.h).
#include <cuda_runtime.h>

#include "gpu/device_buffer.h"
#include "gpu/environment.h"
#include "gpu/timer.h"
#include "gpuref/gpu_reference.h"
#include "harness/backend.h"
#include "harness/reference_provider.h"

namespace kforge {
namespace {

class DeviceBackendBuffer final : public BackendBuffer {
 public:
  explicit DeviceBackendBuffer(std::size_t bytes) : m_buf(bytes) {}
  void* data() override { return m_buf.get(); }
  std::size_t bytes() const override { return m_buf.bytes(); }

 private:
  DeviceBuffer m_buf;
};

::kforge::GpuTimingConfig::Method gpu_method(const std::string& m) {
  if (m == "events") return ::kforge::GpuTimingConfig::Method::kEvents;
  if (m == "graph") return ::kforge::GpuTimingConfig::Method::kGraph;
  return ::kforge::GpuTimingConfig::Method::kCupti;
}

TimingStats time_on_gpu(const std::function<void(cudaStream_t)>& call, cudaStream_t stream, const TimingConfig& cfg) {
  GpuTimingConfig g;
  g.warmup = cfg.warmup;
  g.iterations = cfg.iterations;
  g.cold_l2 = cfg.cold_cache;
  g.method = gpu_method(cfg.method);
  g.after_timed_call = cfg.after_timed_call;
  const GpuTimingResult r = time_gpu_calls(call, stream, g);
  return {r.per_call_us, r.median_us, r.mean_us, r.min_us, r.max_us, r.stddev_us, r.method};
}

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    KFORGE_CUDA_CHECK(cudaSetDevice(0));
    // Non-blocking: plain cudaMemcpy on the legacy stream does not wait for it, so the worker
    // can observe whether the candidate's work is ordered on the stream it was given.
    KFORGE_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking));
  }
  ~CudaBackend() override { cudaStreamDestroy(m_stream); }

  std::string name() const override { return "cuda"; }
  void* stream() override { return m_stream; }
  std::unique_ptr<BackendBuffer> alloc(std::size_t bytes) override { return std::make_unique<DeviceBackendBuffer>(bytes); }
  void upload(BackendBuffer& dst, const Tensor& src) override {
    KFORGE_CUDA_CHECK(cudaMemcpy(dst.data(), src.bytes().data(), src.nbytes(), cudaMemcpyHostToDevice));
  }
  Tensor download(BackendBuffer& src, DType dtype, const Shape& shape) override {
    Tensor t(dtype, shape);
    KFORGE_CUDA_CHECK(cudaMemcpy(t.bytes().data(), src.data(), t.nbytes(), cudaMemcpyDeviceToHost));
    return t;
  }
  void fill(BackendBuffer& dst, unsigned char byte) override {
    KFORGE_CUDA_CHECK(cudaMemset(dst.data(), byte, dst.bytes()));
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
  }
  void sync_stream() override { KFORGE_CUDA_CHECK(cudaStreamSynchronize(m_stream)); }
  void sync_all() override { KFORGE_CUDA_CHECK(cudaDeviceSynchronize()); }
  void check_errors() override {
    KFORGE_CUDA_CHECK(cudaGetLastError());
    KFORGE_CUDA_CHECK(cudaDeviceSynchronize());
  }
  TimingStats time_calls(const std::function<void()>& call, const TimingConfig& cfg) override {
    return time_on_gpu([&](cudaStream_t) { call(); }, m_stream, cfg);
  }
  Json environment() override {
    const GpuEnvironment e = snapshot_environment(0);
    // The UUID tells apart same-model GPUs of one host (which slot of a multi-GPU search ran it).
    return {{"hardware", e.name},
            {"backend", "cuda"},
            {"gpu_uuid", e.uuid},
            {"sm_count", e.sm_count},
            {"l2_bytes", e.l2_bytes},
            {"cuda_driver", e.driver_version},
            {"cuda_runtime", e.runtime_version},
            {"sm_clock_mhz", e.sm_clock_mhz},
            {"mem_clock_mhz", e.mem_clock_mhz},
            {"clock_source", e.clock_source}};
  }

 private:
  cudaStream_t m_stream = nullptr;
};

class GpuReference final : public ReferenceProvider {
 public:
  GpuReference() { KFORGE_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking)); }
  ~GpuReference() override { cudaStreamDestroy(m_stream); }
  std::string name() const override { return "gpu-reference"; }

  TensorMap outputs(const Definition& def, const Axes& axes, const TensorMap& inputs) override {
    Resident r = upload(def, axes, inputs);
    gpuref::run(def, axes, r.inputs, r.scalars, r.outputs, m_stream);
    KFORGE_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    TensorMap out;
    for (const auto& [name, t] : r.outputs) out.emplace(name, to_host(t));
    return out;
  }

  TimingStats time(const Definition& def, const Axes& axes, const TensorMap& inputs, const TimingConfig& cfg) override {
    Resident r = upload(def, axes, inputs);
    return time_on_gpu([&](cudaStream_t s) { gpuref::run(def, axes, r.inputs, r.scalars, r.outputs, s); }, m_stream, cfg);
  }

 private:
  struct Resident {
    gpuref::DeviceTensorMap inputs, outputs;
    TensorMap scalars;
  };
  Resident upload(const Definition& def, const Axes& axes, const TensorMap& inputs) {
    Resident r;
    for (const auto& [name, spec] : def.inputs) {
      const Tensor& t = inputs.at(name);
      if (spec.is_scalar()) {
        r.scalars.emplace(name, t);
      } else {
        r.inputs.emplace(name, to_device(t));
      }
    }
    for (const auto& [name, spec] : def.outputs) r.outputs.emplace(name, device_empty(spec.dtype, resolve_shape(spec, axes)));
    return r;
  }
  cudaStream_t m_stream = nullptr;
};

}  // namespace

bool cuda_backend_available() { return cuda_device_available(); }

std::unique_ptr<Backend> make_cuda_backend() {
  if (!cuda_device_available()) throw Error("no CUDA device available", "a GPU for cuda solutions");
  return std::make_unique<CudaBackend>();
}

std::unique_ptr<ReferenceProvider> make_gpu_reference() {
  if (!cuda_device_available()) throw Error("no CUDA device available", "a GPU for --reference gpu");
  return std::make_unique<GpuReference>();
}

}  // namespace kforge
