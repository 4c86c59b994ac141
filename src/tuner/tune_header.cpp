#include "tuner/tune_header.h"

#include <cctype>
#include <charconv>
#include <vector>

#include "core/error.h"

namespace kforge::tuner {
namespace {

// Where, in one header, the value of `#define name` lies.
struct DefineSite {
  std::size_t value_begin = 0, value_end = 0;  // byte range of the integer in the text
  std::int64_t value = 0;
};

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::size_t skip_blank(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// The site of `#define name <integer>` in the line [begin, end), or nullopt when the line is no
// define of that name. Throws when it is one but its value is not an integer.
std::optional<DefineSite> match_line(std::string_view text, std::size_t begin, std::size_t end,
                                     const std::string& name) {
  const std::string_view line = text.substr(begin, end - begin);
  std::size_t i = skip_blank(line, 0);
  if (i >= line.size() || line[i] != '#') return std::nullopt;
  i = skip_blank(line, i + 1);
  if (line.substr(i, 6) != "define") return std::nullopt;
  i += 6;
  const std::size_t after_keyword = i;
  i = skip_blank(line, i);
  if (i == after_keyword) return std::nullopt;
  if (line.substr(i, name.size()) != name || (i + name.size() < line.size() && is_ident(line[i + name.size()]))) {
    return std::nullopt;
  }
  i += name.size();
  const std::size_t after_name = i;
  i = skip_blank(line, i);
  std::size_t j = i;
  if (j < line.size() && line[j] == '-') ++j;
  while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
  DefineSite site{begin + i, begin + j, 0};
  const auto [ptr, ec] = std::from_chars(line.data() + i, line.data() + j, site.value);
  // The integer must be the whole token: "4u", "(4)" or "0x4" are refused, not half-read.
  if (i == after_name || ec != std::errc() || ptr != line.data() + j || (j < line.size() && is_ident(line[j]))) {
    throw Error("'#define " + name + "' is followed by '" + std::string(line.substr(after_name)) + "'",
                "a decimal integer, e.g. '#define " + name + " 4'");
  }
  return site;
}

DefineSite find_define(std::string_view text, const std::string& name) {
  std::vector<DefineSite> sites;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    if (auto site = match_line(text, begin, end, name)) sites.push_back(*site);
    begin = end + 1;
  }
  if (sites.empty()) throw Error("no line '#define " + name + " <integer>'", "one such line per param");
  if (sites.size() > 1) {
    throw Error(std::to_string(sites.size()) + " lines '#define " + name + "'", "exactly one per param");
  }
  return sites.front();
}

}  // namespace

std::int64_t read_define(std::string_view header_text, const std::string& name) {
  return find_define(header_text, name).value;
}

std::string rewrite_defines(std::string_view header_text, const Config& config) {
  std::string out(header_text);
  for (const auto& [name, value] : config.values) {
    const DefineSite site = find_define(out, name);
    out.replace(site.value_begin, site.value_end - site.value_begin, std::to_string(value));
  }
  return out;
}

}  // namespace kforge::tuner
