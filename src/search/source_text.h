// @brief C, C++ and CUDA source as code: comments and literals blanked out, identifiers listed.
// Shared by the forbidden-call scan and the code similarity of retrieval.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace kforge::search {

// The text with every comment and the inside of every string and character literal (raw
// strings included) replaced by spaces; newlines are kept, so line numbers do not move.
std::string blank_comments_and_literals(std::string_view source);

// Identifiers and numbers of the code (comments and literals excluded), as a set.
std::set<std::string> code_tokens(std::string_view source);

// |A and B| / |A or B|; 1 when both are empty.
double jaccard(const std::set<std::string>& a, const std::set<std::string>& b);

}  // namespace kforge::search
