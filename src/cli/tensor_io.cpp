#include "cli/tensor_io.h"

#include <cmath>
#include <limits>

#include "core/safetensors.h"

namespace kforge {

void save_tensors(const std::filesystem::path& file, const TensorMap& tensors, const std::vector<std::string>& order,
                  const Json& metadata) {
  std::vector<std::pair<std::string, const Tensor*>> list;
  for (const auto& name : order) {
    if (auto it = tensors.find(name); it != tensors.end()) list.emplace_back(name, &it->second);
  }
  write_safetensors(file, list, {{"kforge", metadata.dump()}});
}

TensorMap load_tensors(const std::filesystem::path& file, Json* metadata) {
  auto raw = read_safetensors(file);
  if (metadata) {
    const auto meta = read_safetensors_metadata(file);
    auto it = meta.find("kforge");
    *metadata = it == meta.end() ? Json::object() : Json::parse(it->second);
  }
  return {raw.begin(), raw.end()};
}

Json tensor_summary(const std::string& name, const Tensor& t) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, abs_sum = 0;
  std::int64_t finite = 0;
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = t.get(i);
    if (!std::isfinite(v)) continue;
    ++finite;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    abs_sum += std::fabs(v);
  }
  return {{"name", name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"numel", n},
          {"finite", finite}, {"min", finite ? lo : 0.0}, {"max", finite ? hi : 0.0},
          {"mean_abs", finite ? abs_sum / static_cast<double>(finite) : 0.0}};
}

}  // namespace kforge
