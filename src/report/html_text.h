// @brief Text made safe for HTML and SVG (element content and quoted attribute values).
#pragma once

#include <string>
#include <string_view>

namespace kforge::report {

// Escapes & < > " ' and drops control characters other than tab and newline, so any label
// (agents write them) renders as text and never as markup.
std::string escape_html(std::string_view text);

}  // namespace kforge::report
