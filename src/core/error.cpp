#include "core/error.h"

namespace kforge {

Error::Error(std::string message, std::string expected)
    : m_message(std::move(message)), m_expected(std::move(expected)) {
  render();
}

Error& Error::at_file(std::string file) {
  if (m_file.empty()) m_file = std::move(file);
  render();
  return *this;
}

Error& Error::at_line(int line) {
  if (m_line == 0) m_line = line;
  render();
  return *this;
}

Error& Error::in_field(const std::string& parent) {
  if (parent.empty()) return *this;
  if (m_field.empty()) {
    m_field = parent;
  } else if (m_field.front() == '[') {
    m_field = parent + m_field;
  } else {
    m_field = parent + "." + m_field;
  }
  render();
  return *this;
}

void Error::render() {
  std::string out;
  if (!m_file.empty()) {
    out += m_file;
    if (m_line > 0) out += ":" + std::to_string(m_line);
    out += ": ";
  }
  if (!m_field.empty()) out += m_field + ": ";
  out += m_message;
  if (!m_expected.empty()) out += " (expected " + m_expected + ")";
  // One line, always: messages may quote user text containing newlines.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  m_rendered = std::move(out);
}

}  // namespace kforge
