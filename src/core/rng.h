// @brief Counter-based random numbers: value i of a stream depends only on (key, i).
#pragma once

#include <cstdint>
#include <string_view>

namespace kforge {

// SplitMix64's finalizer over key + (i+1)*gamma. Because draw i needs no earlier draw, a tensor
// can be filled in parallel chunks (or one element alone) and still give the same bytes.
class CounterRng {
 public:
  explicit CounterRng(std::uint64_t key) : m_key(key) {}

  std::uint64_t bits(std::uint64_t i) const {
    std::uint64_t z = m_key + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): 53 random bits, never exactly 0 (safe for log).
  double uniform(std::uint64_t i) const {
    return (static_cast<double>(bits(i) >> 11) + 0.5) * 0x1.0p-53;
  }
  // Uniform integer in [lo, hi); hi > lo.
  std::int64_t integer(std::uint64_t i, std::int64_t lo, std::int64_t hi) const;
  // Standard normal for element i (Box-Muller over draws 2*(i/2) and 2*(i/2)+1; even i takes
  // the cosine branch, odd i the sine branch, so pairs share their two uniforms).
  double normal(std::uint64_t i) const;

  // A child stream, e.g. one per tensor: derive(hash("q")).
  CounterRng derive(std::uint64_t salt) const;
  CounterRng derive(std::string_view name) const;

  std::uint64_t key() const { return m_key; }

 private:
  std::uint64_t m_key;
};

// FNV-1a: stable across platforms and runs (std::hash is not).
std::uint64_t stable_hash(std::string_view s);

}  // namespace kforge
