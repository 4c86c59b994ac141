#include <chrono>

#include "harness/reference_provider.h"
#include "ref/oracle.h"

namespace kforge {
namespace {

class CpuReference final : public ReferenceProvider {
 public:
  std::string name() const override { return "cpu-oracle"; }
  TensorMap outputs(const Definition& def, const Axes& axes, const TensorMap& inputs) override {
    return run_oracle(def, axes, inputs);
  }
  TimingStats time(const Definition& def, const Axes& axes, const TensorMap& inputs, const TimingConfig& cfg) override {
    // The oracle favours exactness over speed and can take seconds: a few calls suffice.
    std::vector<double> us;
    const int calls = std::max(1, std::min(cfg.iterations, 3));
    for (int i = 0; i < calls; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      run_oracle(def, axes, inputs);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    return summarize_times(std::move(us), "wall (steady_clock), CPU oracle");
  }
};

}  // namespace

std::unique_ptr<ReferenceProvider> make_cpu_reference() { return std::make_unique<CpuReference>(); }

}  // namespace kforge
