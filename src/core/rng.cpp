#include "core/rng.h"

#include <cmath>
#include <numbers>

namespace kforge {

std::int64_t CounterRng::integer(std::uint64_t i, std::int64_t lo, std::int64_t hi) const {
  const auto span = static_cast<std::uint64_t>(hi - lo);
  // Rejection-free modulo of 64 random bits: bias below span / 2^64, far under any test's reach.
  return lo + static_cast<std::int64_t>(bits(i) % span);
}

double CounterRng::normal(std::uint64_t i) const {
  const std::uint64_t pair = i & ~std::uint64_t{1};
  const double r = std::sqrt(-2.0 * std::log(uniform(pair)));
  const double theta = 2.0 * std::numbers::pi * uniform(pair + 1);
  return (i & 1) ? r * std::sin(theta) : r * std::cos(theta);
}

CounterRng CounterRng::derive(std::uint64_t salt) const {
  // One mixing step of the parent keyed by the salt decorrelates sibling streams.
  return CounterRng(CounterRng(m_key ^ (salt * 0xD6E8FEB86659FD93ull)).bits(0));
}

CounterRng CounterRng::derive(std::string_view name) const { return derive(stable_hash(name)); }

std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace kforge
