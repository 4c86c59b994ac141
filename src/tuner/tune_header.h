// @brief The tunable header's `#define NAME value` lines: reading a value, rewriting values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tuner/tunable_space.h"

namespace kforge::tuner {

// The integer of the one line `#define <name> <integer>` (anything after the integer, such as a
// comment, is allowed). Throws Error when there is no such line, more than one, or the value is
// not a decimal integer.
std::int64_t read_define(std::string_view header_text, const std::string& name);

// The text with each config value written into its `#define` line; everything else (comments,
// other lines, the rest of each rewritten line) is kept byte for byte. Throws like read_define.
std::string rewrite_defines(std::string_view header_text, const Config& config);

}  // namespace kforge::tuner
