#include "core/json_locate.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace kforge {
namespace {

struct Token {
  bool is_index;
  std::string key;
  std::size_t index;
};

std::vector<Token> split_field(const std::string& field) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < field.size()) {
    if (field[i] == '.') {
      ++i;
    } else if (field[i] == '[') {
      const std::size_t close = field.find(']', i);
      if (close == std::string::npos) break;
      out.push_back({true, {}, std::stoul(field.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else {
      const std::size_t stop = field.find_first_of(".[", i);
      const std::size_t end = stop == std::string::npos ? field.size() : stop;
      out.push_back({false, field.substr(i, end - i), 0});
      i = end;
    }
  }
  return out;
}

// A forgiving scanner: it only needs to walk well-formed JSON and finds positions, no values.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : m_text(text) {}

  // Returns the offset of the value at path[depth...], or of the deepest ancestor found.
  std::optional<std::size_t> find(const std::vector<Token>& path) {
    skip_ws();
    return find_in_value(path, 0);
  }

 private:
  std::optional<std::size_t> find_in_value(const std::vector<Token>& path, std::size_t depth) {
    skip_ws();
    const std::size_t start = m_pos;
    if (depth == path.size()) return start;
    if (m_pos >= m_text.size()) return std::nullopt;
    const char c = m_text[m_pos];
    if (c == '{' && !path[depth].is_index) {
      ++m_pos;
      while (true) {
        skip_ws();
        if (at('}')) return start;
        auto key = read_string();
        if (!key) return start;
        skip_ws();
        if (!at(':')) return start;
        ++m_pos;
        if (*key == path[depth].key) {
          auto r = find_in_value(path, depth + 1);
          return r ? r : start;
        }
        if (!skip_value()) return start;
        skip_ws();
        if (at(',')) ++m_pos;
      }
    }
    if (c == '[' && path[depth].is_index) {
      ++m_pos;
      for (std::size_t i = 0;; ++i) {
        skip_ws();
        if (at(']')) return start;
        if (i == path[depth].index) {
          auto r = find_in_value(path, depth + 1);
          return r ? r : start;
        }
        if (!skip_value()) return start;
        skip_ws();
        if (at(',')) ++m_pos;
      }
    }
    return start;
  }

  bool at(char c) const { return m_pos < m_text.size() && m_text[m_pos] == c; }

  void skip_ws() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' ||
                                     m_text[m_pos] == '\t' || m_text[m_pos] == '\r')) {
      ++m_pos;
    }
  }

  std::optional<std::string> read_string() {
    if (!at('"')) return std::nullopt;
    ++m_pos;
    std::string out;
    while (m_pos < m_text.size() && m_text[m_pos] != '"') {
      if (m_text[m_pos] == '\\') ++m_pos;  // escapes only matter for skipping
      if (m_pos < m_text.size()) out += m_text[m_pos++];
    }
    if (m_pos >= m_text.size()) return std::nullopt;
    ++m_pos;
    return out;
  }

  bool skip_value() {
    skip_ws();
    if (m_pos >= m_text.size()) return false;
    const char c = m_text[m_pos];
    if (c == '"') return read_string().has_value();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (m_pos < m_text.size()) {
        const char d = m_text[m_pos];
        if (d == '"') {
          if (!read_string()) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') --depth;
        ++m_pos;
        if (depth == 0) return true;
      }
      return false;
    }
    while (m_pos < m_text.size() && m_text[m_pos] != ',' && m_text[m_pos] != '}' &&
           m_text[m_pos] != ']') {
      ++m_pos;
    }
    return true;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

}  // namespace

int line_of_offset(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

int json_line_of(std::string_view text, const std::string& field) {
  Scanner s(text);
  auto pos = s.find(split_field(field));
  return pos ? line_of_offset(text, *pos) : 0;
}

}  // namespace kforge
