// @brief Where a candidate runs: host memory and a steady clock (cpu), or device memory and
// GPU timers (cuda). The worker is written once against this interface.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/stats.h"
#include "core/tensor.h"
#include "trace/json_fields.h"

namespace kforge {

struct TimingConfig {
  int warmup = 10;
  int iterations = 50;
  bool cold_cache = true;    // flush L2 (cuda) or the last-level cache (cpu) before each call
  std::string method = "cupti";  // cuda: cupti | events | graph; cpu: wall
  // Runs after timed call i completed, outside the measured time (not in graph mode).
  std::function<void(int)> after_timed_call;
};

// Memory that belongs to a backend (device or host); moves only.
class BackendBuffer {
 public:
  virtual ~BackendBuffer() = default;
  virtual void* data() = 0;
  virtual std::size_t bytes() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual void* stream() = 0;  // handed to the entry point (cudaStream_t, or null)
  virtual std::unique_ptr<BackendBuffer> alloc(std::size_t bytes) = 0;
  virtual void upload(BackendBuffer& dst, const Tensor& src) = 0;
  virtual Tensor download(BackendBuffer& src, DType dtype, const Shape& shape) = 0;
  virtual void fill(BackendBuffer& dst, unsigned char byte) = 0;
  // Waits for the stream handed to the candidate, then for everything on the device; a
  // difference between the two reveals work the candidate did not order on its stream.
  virtual void sync_stream() = 0;
  virtual void sync_all() = 0;
  // Reports an asynchronous fault (illegal address...) as Error.
  virtual void check_errors() = 0;
  virtual TimingStats time_calls(const std::function<void()>& call, const TimingConfig& cfg) = 0;
  virtual Json environment() = 0;
};

std::unique_ptr<Backend> make_cpu_backend();
// Throws Error when kforge was built without CUDA or no device is present.
std::unique_ptr<Backend> make_cuda_backend();
bool cuda_backend_available();

}  // namespace kforge
