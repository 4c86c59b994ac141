#include "report/palette.h"

#include <array>
#include <utility>

#include "core/rng.h"

namespace kforge::report::palette {

std::string_view tag_color(std::string_view tag) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kKnown{{
      {"compile_error", "#9467bd"},
      {"runtime_error", "#8c564b"},
      {"timeout", "#e377c2"},
      {"incorrect", "#ff7f0e"},
      {"slower", "#bcbd22"},
      {"scan", "#17becf"},
  }};
  for (const auto& [name, color] : kKnown) {
    if (name == tag) return color;
  }
  static constexpr std::array<std::string_view, 6> kSpare{"#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"};
  return kSpare[stable_hash(tag) % kSpare.size()];
}

}  // namespace kforge::report::palette
