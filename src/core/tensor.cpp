#include "core/tensor.h"

#include <cstring>

namespace kforge {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : m_dtype(dtype), m_shape(std::move(shape)) {
  if (dtype == DType::kFloat4E2M1) {
    throw Error("float4_e2m1 tensors are not supported", "a dtype used by the contest operators");
  }
  for (auto d : m_shape) {
    if (d < 0) throw Error("negative dimension in shape " + shape_to_string(m_shape));
  }
  m_bytes.resize(static_cast<std::size_t>(shape_numel(m_shape)) * dtype_size(dtype));
}

void Tensor::check_type(DType wanted) const {
  if (wanted != m_dtype) {
    throw Error("internal: tensor of dtype " + std::string(dtype_name(m_dtype)) +
                " accessed as " + std::string(dtype_name(wanted)));
  }
}

namespace {
template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
}  // namespace

double Tensor::get(std::int64_t i) const {
  const std::byte* p = m_bytes.data() + static_cast<std::size_t>(i) * dtype_size(m_dtype);
  switch (m_dtype) {
    case DType::kFloat32: return load<float>(p);
    case DType::kFloat16: return fp16_to_float(load<Fp16>(p));
    case DType::kBFloat16: return bf16_to_float(load<Bf16>(p));
    case DType::kFloat8E4M3FN: return fp8e4m3_to_float(load<Fp8E4M3>(p));
    case DType::kFloat8E5M2: return fp8e5m2_to_float(load<Fp8E5M2>(p));
    case DType::kInt64: return static_cast<double>(load<std::int64_t>(p));
    case DType::kInt32: return load<std::int32_t>(p);
    case DType::kInt16: return load<std::int16_t>(p);
    case DType::kInt8: return load<std::int8_t>(p);
    case DType::kBool: return load<std::uint8_t>(p) != 0 ? 1.0 : 0.0;
    case DType::kFloat4E2M1: break;
  }
  throw Error("internal: get() on unsupported dtype");
}

void Tensor::set(std::int64_t i, double v) {
  std::byte* p = m_bytes.data() + static_cast<std::size_t>(i) * dtype_size(m_dtype);
  // torch casts a double to a reduced float through float32 first (c10 Half/BFloat16/Float8
  // constructors take float), so this does too.
  const auto f = static_cast<float>(v);
  switch (m_dtype) {
    case DType::kFloat32: store(p, f); return;
    case DType::kFloat16: store(p, float_to_fp16(f)); return;
    case DType::kBFloat16: store(p, float_to_bf16(f)); return;
    case DType::kFloat8E4M3FN: store(p, float_to_fp8e4m3(f)); return;
    case DType::kFloat8E5M2: store(p, float_to_fp8e5m2(f)); return;
    case DType::kInt64: store(p, static_cast<std::int64_t>(v)); return;
    case DType::kInt32: store(p, static_cast<std::int32_t>(v)); return;
    case DType::kInt16: store(p, static_cast<std::int16_t>(v)); return;
    case DType::kInt8: store(p, static_cast<std::int8_t>(v)); return;
    case DType::kBool: store(p, static_cast<std::uint8_t>(v != 0.0)); return;
    case DType::kFloat4E2M1: break;
  }
  throw Error("internal: set() on unsupported dtype");
}

bool Tensor::equals(const Tensor& other) const {
  return m_dtype == other.m_dtype && m_shape == other.m_shape && m_bytes == other.m_bytes;
}

std::vector<float> to_float_vector(const Tensor& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::kFloat32: {
      auto d = t.data<float>();
      std::copy(d.begin(), d.end(), out.begin());
      return out;
    }
    case DType::kBFloat16: {
      auto d = t.data<Bf16>();
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = bf16_to_float(d[i]);
      return out;
    }
    case DType::kFloat8E4M3FN: {
      auto d = t.data<Fp8E4M3>();
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = fp8e4m3_to_float(d[i]);
      return out;
    }
    default:
      for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<float>(t.get(static_cast<std::int64_t>(i)));
      }
      return out;
  }
}

}  // namespace kforge
