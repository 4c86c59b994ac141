// @brief Trace: one evaluation of a solution on a workload (or a bare workload, as in the
// dataset's workloads/*.jsonl, where solution and evaluation are null).
#pragma once

#include <optional>
#include <string>

#include "trace/json_fields.h"
#include "trace/workload.h"

namespace kforge {

enum class EvalStatus {
  kPassed,
  kIncorrectShape,
  kIncorrectNumerical,
  kIncorrectDtype,
  kRuntimeError,
  kCompileError,
  kTimeout,
};

std::string_view status_name(EvalStatus s);  // "PASSED", ...
EvalStatus parse_status(std::string_view name);

struct Environment {
  std::string hardware;
  NamedList<std::string> libs;
  JsonPassthrough passthrough;
};

struct Correctness {
  double max_relative_error = 0;
  double max_absolute_error = 0;
  Json extra;  // null or an object (e.g. {"matched_ratio": 0.97})
  JsonPassthrough passthrough;
};

struct Performance {
  double latency_ms = 0;
  double reference_latency_ms = 0;
  double speedup_factor = 0;
  JsonPassthrough passthrough;
};

struct Evaluation {
  EvalStatus status = EvalStatus::kPassed;
  Environment environment;
  std::string timestamp;  // ISO 8601
  std::string log;
  std::optional<Correctness> correctness;
  std::optional<Performance> performance;
  // kforge's additions (seeds, tolerances, per-trial errors, timing spread, device details),
  // written under the key "kforge"; FlashInfer-Bench's models ignore unknown keys.
  Json kforge;
  JsonPassthrough passthrough;
};

struct Trace {
  std::string definition;
  Workload workload;
  std::optional<std::string> solution;
  std::optional<Evaluation> evaluation;
  JsonPassthrough passthrough;

  bool is_workload_only() const { return !solution && !evaluation; }
};

// Validates the schema and FlashInfer-Bench's rule tying status to blocks: PASSED needs
// correctness and performance, INCORRECT_NUMERICAL correctness only, other statuses neither.
Trace parse_trace(const Json& j);
Json to_json(const Trace& t);

}  // namespace kforge
