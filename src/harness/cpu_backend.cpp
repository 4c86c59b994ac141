// The CPU backend: cpp solutions run on host memory in the worker process, so the whole
// pipeline (build, isolate, gate, time, trace, rank) runs on machines without a GPU.
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "harness/backend.h"

namespace kforge {
namespace {

class HostBuffer final : public BackendBuffer {
 public:
  explicit HostBuffer(std::size_t bytes) : m_bytes(bytes), m_data(new std::byte[std::max<std::size_t>(bytes, 1)]) {}
  void* data() override { return m_data.get(); }
  std::size_t bytes() const override { return m_bytes; }

 private:
  std::size_t m_bytes;
  std::unique_ptr<std::byte[]> m_data;
};

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  void* stream() override { return nullptr; }
  std::unique_ptr<BackendBuffer> alloc(std::size_t bytes) override { return std::make_unique<HostBuffer>(bytes); }
  void upload(BackendBuffer& dst, const Tensor& src) override {
    std::memcpy(dst.data(), src.bytes().data(), src.nbytes());
  }
  Tensor download(BackendBuffer& src, DType dtype, const Shape& shape) override {
    Tensor t(dtype, shape);
    std::memcpy(t.bytes().data(), src.data(), t.nbytes());
    return t;
  }
  void fill(BackendBuffer& dst, unsigned char byte) override { std::memset(dst.data(), byte, dst.bytes()); }
  void sync_stream() override {}
  void sync_all() override {}
  void check_errors() override {}

  TimingStats time_calls(const std::function<void()>& call, const TimingConfig& cfg) override {
    // Writing a buffer larger than any last-level cache evicts the candidate's data, the
    // host analogue of the L2 flush.
    std::vector<unsigned char> flush(cfg.cold_cache ? (64u << 20) : 0);
    unsigned char tick = 0;
    auto cold = [&] {
      if (!flush.empty()) std::memset(flush.data(), ++tick, flush.size());
    };
    for (int i = 0; i < cfg.warmup; ++i) {
      cold();
      call();
    }
    std::vector<double> us;
    for (int i = 0; i < cfg.iterations; ++i) {
      cold();
      const auto t0 = std::chrono::steady_clock::now();
      call();
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      if (cfg.after_timed_call) cfg.after_timed_call(i);
    }
    return summarize_times(std::move(us), "wall (steady_clock)");
  }

  Json environment() override {
    utsname u{};
    ::uname(&u);
    return {{"hardware", std::string("CPU ") + u.machine + " (" + std::to_string(std::thread::hardware_concurrency()) +
                             " threads)"},
            {"backend", "cpu"},
            {"kernel", std::string(u.sysname) + " " + u.release}};
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace kforge
