// @brief Workload: concrete values of a definition's var axes and where each input comes from.
#pragma once

#include <cstdint>
#include <string>

#include "trace/json_fields.h"

namespace kforge {

struct InputSpec {
  enum class Kind { kRandom, kScalar, kSafetensors };
  Kind kind = Kind::kRandom;
  Json scalar_value;        // kScalar: an int, float or bool
  std::string path;         // kSafetensors: relative to the dataset root
  std::string tensor_key;   // kSafetensors
  JsonPassthrough passthrough;
};

struct Workload {
  std::string uuid;
  NamedList<std::int64_t> axes;  // var axes only
  NamedList<InputSpec> inputs;   // inputs absent here are random
  JsonPassthrough passthrough;

  // The spec for an input, defaulting to random as FlashInfer-Bench does.
  InputSpec input(std::string_view name) const;
};

Workload parse_workload(const Json& j);
Json to_json(const Workload& w);

}  // namespace kforge
