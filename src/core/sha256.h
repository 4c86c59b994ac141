// @brief SHA-256 (FIPS 180-4), for content-addressed caches (build artifacts, candidates).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kforge {

class Sha256 {
 public:
  Sha256();
  Sha256& update(std::string_view data);
  // Length-prefixed update, so ("ab","c") and ("a","bc") hash differently.
  Sha256& field(std::string_view data);
  std::string hex();  // finalizes; the object is spent afterwards

 private:
  void block(const std::uint8_t* p);

  std::array<std::uint32_t, 8> m_h;
  std::array<std::uint8_t, 64> m_buf{};
  std::size_t m_buf_len = 0;
  std::uint64_t m_total = 0;
};

std::string sha256_hex(std::string_view data);

}  // namespace kforge
