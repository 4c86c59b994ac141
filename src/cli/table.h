// @brief Plain-text tables for terminal output (the JSON forms are built separately).
#pragma once

#include <string>
#include <vector>

namespace kforge {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : m_headers(std::move(headers)) {}
  void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
  bool empty() const { return m_rows.empty(); }
  // Columns padded to their widest cell; numeric-looking cells right-aligned.
  std::string render() const;

 private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<std::string>> m_rows;
};

std::string format_fixed(double v, int decimals);
std::string format_bytes(double bytes);  // "67.1 MB"

}  // namespace kforge
