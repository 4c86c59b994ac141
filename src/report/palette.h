// @brief The report's colors, shared by the chart, its legend and the screenshot test (which
// looks for these exact colors in the rendered page).
#pragma once

#include <string_view>

namespace kforge::report::palette {

inline constexpr std::string_view kDot = "#1f77b4";       // a passing candidate
inline constexpr std::string_view kBest = "#d62728";      // the running best (step line, rollbacks)
inline constexpr std::string_view kBaseline = "#2ca02c";  // the baseline (dashed)
inline constexpr std::string_view kPlotBackground = "#f3f6fa";
inline constexpr std::string_view kGrid = "#dde3ea";
inline constexpr std::string_view kAxis = "#4a5560";

// A failure tag's color: fixed for the tags the loop writes, and for any other tag one of a
// spare set chosen by a stable hash of the tag, so a tag has the same color in every report.
std::string_view tag_color(std::string_view tag);

}  // namespace kforge::report::palette
