// @brief A solution's tunable parameters (solution.json "tunables") and the configurations they
// allow under their constraints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/solution_dir.h"

namespace kforge::tuner {

// One point of a space: a value per parameter, in the space's parameter order.
struct Config {
  std::vector<std::pair<std::string, std::int64_t>> values;

  std::optional<std::int64_t> get(std::string_view name) const;
  // "ROWS_PER_WARP=2,WARPS_PER_BLOCK=8": the candidate name suffix and the table label.
  std::string label() const;
  bool operator==(const Config&) const = default;
};

struct Param {
  std::string name;                   // a C identifier: the header's macro name
  std::vector<std::int64_t> values;   // distinct, in the order solution.json lists them
};

struct TunableSpace {
  std::string header;                 // the source (path as listed) holding the #define lines
  std::vector<Param> params;          // in solution.json order
  std::vector<std::string> constraints;  // src/trace/constraint.h expressions over param names
  Config defaults;                    // the values the header defines now
};

// Enumerating more configurations than this is refused (a typo such as a 1000-value list).
inline constexpr std::size_t kMaxConfigs = 1'000'000;

// Whether solution.json declares "tunables".
bool has_tunables(const SolutionDir& solution);

// Reads and checks "tunables": header is one of the sources and defines each param once as an
// integer; params is a non-empty object of non-empty lists of distinct integers named like C
// identifiers; constraints (optional) is a list of expressions over the param names that
// evaluate. Throws Error naming solution.json, the line and the field (e.g. tunables.params.TILE).
TunableSpace parse_tunables(const SolutionDir& solution);

// Every configuration (the last param varies fastest) that satisfies all constraints. Throws
// Error (field tunables.constraints[i]) when a constraint cannot be evaluated for some config,
// or when the product of the value counts exceeds kMaxConfigs.
std::vector<Config> enumerate(const TunableSpace& space);

// Whether the config satisfies every constraint of the space.
bool satisfies(const TunableSpace& space, const Config& config);

}  // namespace kforge::tuner
