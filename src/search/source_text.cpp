#include "search/source_text.h"

#include <cctype>

namespace kforge::search {

namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string blank_comments_and_literals(std::string_view s) {
  std::string out(s);
  auto blank = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to && i < out.size(); ++i) {
      if (out[i] != '\n') out[i] = ' ';
    }
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      std::size_t end = s.find('\n', i);
      if (end == std::string_view::npos) end = s.size();
      blank(i, end);
      i = end;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      std::size_t end = s.find("*/", i + 2);
      end = end == std::string_view::npos ? s.size() : end + 2;
      blank(i, end);
      i = end;
    } else if (c == 'R' && i + 1 < s.size() && s[i + 1] == '"' && (i == 0 || !ident_char(s[i - 1]) || s[i - 1] == 'u' ||
                                                                    s[i - 1] == 'U' || s[i - 1] == 'L' || s[i - 1] == '8')) {
      // R"delim( ... )delim"
      const std::size_t open = s.find('(', i + 2);
      if (open == std::string_view::npos) break;
      std::string close(")");
      close.append(s.substr(i + 2, open - i - 2)).push_back('"');
      std::size_t end = s.find(close, open + 1);
      end = end == std::string_view::npos ? s.size() : end + close.size();
      blank(i + 2, end - 1);
      i = end;
    } else if (c == '"' || c == '\'') {
      // A digit separator (1'000'000) is not a character literal.
      if (c == '\'' && i > 0 && std::isxdigit(static_cast<unsigned char>(s[i - 1]))) {
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != c && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
      blank(i + 1, std::min(j, s.size()));
      i = j + 1;
    } else {
      ++i;
    }
  }
  return out;
}

std::set<std::string> code_tokens(std::string_view source) {
  const std::string code = blank_comments_and_literals(source);
  std::set<std::string> out;
  std::size_t i = 0;
  while (i < code.size()) {
    if (ident_char(code[i])) {
      std::size_t j = i;
      while (j < code.size() && (ident_char(code[j]) || (!ident_start(code[i]) && code[j] == '.'))) ++j;
      out.insert(code.substr(i, j - i));
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

double jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 1;
  std::size_t common = 0;
  for (const auto& t : a) common += b.count(t);
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

}  // namespace kforge::search
