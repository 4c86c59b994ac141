// @brief Host tensor: a dtype, a shape and contiguous row-major bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/float_types.h"

namespace kforge {

using Shape = std::vector<std::int64_t>;

std::int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[2, 3]"

// The C++ type that holds one element of a dtype.
template <class T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::kFloat32; };
template <> struct dtype_of<Fp16> { static constexpr DType value = DType::kFloat16; };
template <> struct dtype_of<Bf16> { static constexpr DType value = DType::kBFloat16; };
template <> struct dtype_of<Fp8E4M3> { static constexpr DType value = DType::kFloat8E4M3FN; };
template <> struct dtype_of<Fp8E5M2> { static constexpr DType value = DType::kFloat8E5M2; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct dtype_of<std::int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct dtype_of<std::int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::kBool; };

// A scalar input is a tensor of rank 0 (one element), so inputs are uniformly tensors.
class Tensor {
 public:
  Tensor() = default;
  // Zero-filled. Callers that must not see zeros (synthesis, poisoning) overwrite explicitly.
  Tensor(DType dtype, Shape shape);

  template <class T>
  static Tensor scalar(T value) {
    Tensor t(dtype_of<T>::value, {});
    t.data<T>()[0] = value;
    return t;
  }

  DType dtype() const { return m_dtype; }
  const Shape& shape() const { return m_shape; }
  std::size_t rank() const { return m_shape.size(); }
  std::int64_t dim(std::size_t i) const { return m_shape.at(i); }
  std::int64_t numel() const { return shape_numel(m_shape); }
  std::size_t nbytes() const { return m_bytes.size(); }
  bool is_scalar() const { return m_shape.empty(); }

  std::span<std::byte> bytes() { return m_bytes; }
  std::span<const std::byte> bytes() const { return m_bytes; }

  // Typed view; throws if T is not this tensor's storage type.
  template <class T>
  std::span<T> data() {
    check_type(dtype_of<std::remove_const_t<T>>::value);
    return {reinterpret_cast<T*>(m_bytes.data()), m_bytes.size() / sizeof(T)};
  }
  template <class T>
  std::span<const T> data() const {
    check_type(dtype_of<std::remove_const_t<T>>::value);
    return {reinterpret_cast<const T*>(m_bytes.data()), m_bytes.size() / sizeof(T)};
  }

  // Element i (flat, row-major) decoded to double, for any dtype. Slow path: tests, tools.
  double get(std::int64_t i) const;
  // Stores v at flat index i, rounding as torch's cast to this dtype does.
  void set(std::int64_t i, double v);

  // Same dtype, shape and bytes.
  bool equals(const Tensor& other) const;

 private:
  void check_type(DType wanted) const;

  DType m_dtype = DType::kFloat32;
  Shape m_shape;
  std::vector<std::byte> m_bytes;
};

// Named tensors: a call's inputs or outputs.
using TensorMap = std::map<std::string, Tensor, std::less<>>;

// Decodes a whole floating tensor (any float dtype) to float32 values.
std::vector<float> to_float_vector(const Tensor& t);

}  // namespace kforge
