// @brief The one user-facing error type: says where (file, line, field), what and what was expected.
#pragma once

#include <exception>
#include <string>

namespace kforge {

// Errors are raised deep (a dtype parser knows the bad value, not the file) and annotated on
// the way up (the loader adds file and line). what() always renders one line:
//   data/x.json:12: inputs.q.dtype: unknown dtype 'float7' (expected one of float32, ...)
class Error : public std::exception {
 public:
  explicit Error(std::string message, std::string expected = {});

  Error& at_file(std::string file);
  Error& at_line(int line);
  // Prepends a parent path: field "dtype" under "inputs.q" becomes "inputs.q.dtype".
  Error& in_field(const std::string& parent);

  const std::string& file() const { return m_file; }
  int line() const { return m_line; }
  const std::string& field() const { return m_field; }
  const std::string& message() const { return m_message; }
  const std::string& expected() const { return m_expected; }

  const char* what() const noexcept override { return m_rendered.c_str(); }

 private:
  void render();

  std::string m_message;
  std::string m_expected;
  std::string m_file;
  int m_line = 0;
  std::string m_field;
  std::string m_rendered;
};

// Throws Error(message, expected) unless cond holds; for invariants that are user-visible.
inline void require(bool cond, const std::string& message, const std::string& expected = {}) {
  if (!cond) throw Error(message, expected);
}

}  // namespace kforge
