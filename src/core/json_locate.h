// @brief Finds the source line of a field in JSON text, so errors can say "file:line: field".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kforge {

// 1-based line of the byte at `offset`.
int line_of_offset(std::string_view text, std::size_t offset);

// 1-based line where the value at `field` starts, where field is a dotted path with [i] for
// array elements ("inputs.q.dtype", "sources[2].path"). Falls back to the deepest ancestor
// that exists; returns 0 if the text is not well-formed enough to scan.
int json_line_of(std::string_view text, const std::string& field);

}  // namespace kforge
