#include "trace/trace.h"

#include <array>

#include "core/error.h"

namespace kforge {
namespace {

constexpr std::array<std::pair<EvalStatus, std::string_view>, 7> kStatuses{{
    {EvalStatus::kPassed, "PASSED"},
    {EvalStatus::kIncorrectShape, "INCORRECT_SHAPE"},
    {EvalStatus::kIncorrectNumerical, "INCORRECT_NUMERICAL"},
    {EvalStatus::kIncorrectDtype, "INCORRECT_DTYPE"},
    {EvalStatus::kRuntimeError, "RUNTIME_ERROR"},
    {EvalStatus::kCompileError, "COMPILE_ERROR"},
    {EvalStatus::kTimeout, "TIMEOUT"},
}};

Environment parse_environment(const Json& j) {
  require_object(j, "an environment");
  Environment e;
  e.hardware = string_field(j, "hardware");
  if (j.contains("libs") && !j["libs"].is_null()) {
    if (!j["libs"].is_object()) throw Error("got " + j["libs"].dump(), "an object").in_field("libs");
    for (const auto& [k, v] : j["libs"].items()) {
      if (!v.is_string()) throw Error("got " + v.dump(), "a version string").in_field(k).in_field("libs");
      e.libs.add(k, v.get<std::string>());
    }
  }
  e.passthrough = JsonPassthrough::capture(j, {"hardware", "libs"});
  return e;
}

Correctness parse_correctness(const Json& j) {
  require_object(j, "a correctness block");
  Correctness c;
  c.max_relative_error = number_field(j, "max_relative_error");
  c.max_absolute_error = number_field(j, "max_absolute_error");
  c.extra = j.contains("extra") ? j["extra"] : Json(nullptr);
  c.passthrough = JsonPassthrough::capture(j, {"max_relative_error", "max_absolute_error", "extra"});
  return c;
}

Performance parse_performance(const Json& j) {
  require_object(j, "a performance block");
  Performance p;
  p.latency_ms = number_field(j, "latency_ms");
  p.reference_latency_ms = number_field(j, "reference_latency_ms");
  p.speedup_factor = number_field(j, "speedup_factor");
  p.passthrough = JsonPassthrough::capture(j, {"latency_ms", "reference_latency_ms", "speedup_factor"});
  return p;
}

Evaluation parse_evaluation(const Json& j) {
  require_object(j, "an evaluation");
  Evaluation e;
  e.status = parse_status(string_field(j, "status"));
  try {
    e.environment = parse_environment(field(j, "environment", "an environment object"));
  } catch (Error& err) {
    throw err.in_field("environment");
  }
  e.timestamp = string_field(j, "timestamp");
  e.log = optional_string(j, "log").value_or("");
  if (j.contains("correctness") && !j["correctness"].is_null()) {
    try {
      e.correctness = parse_correctness(j["correctness"]);
    } catch (Error& err) {
      throw err.in_field("correctness");
    }
  }
  if (j.contains("performance") && !j["performance"].is_null()) {
    try {
      e.performance = parse_performance(j["performance"]);
    } catch (Error& err) {
      throw err.in_field("performance");
    }
  }
  const bool passed = e.status == EvalStatus::kPassed;
  const bool numerical = e.status == EvalStatus::kIncorrectNumerical;
  if ((passed || numerical) != e.correctness.has_value()) {
    throw Error(std::string("status ") + std::string(status_name(e.status)) +
                    (e.correctness ? " must not carry" : " needs") + " a correctness block",
                "correctness exactly for PASSED and INCORRECT_NUMERICAL").in_field("correctness");
  }
  if (passed != e.performance.has_value()) {
    throw Error(std::string("status ") + std::string(status_name(e.status)) +
                    (e.performance ? " must not carry" : " needs") + " a performance block",
                "performance exactly for PASSED").in_field("performance");
  }
  e.kforge = j.contains("kforge") ? j["kforge"] : Json(nullptr);
  e.passthrough = JsonPassthrough::capture(
      j, {"status", "environment", "timestamp", "log", "correctness", "performance", "kforge"});
  return e;
}

Json evaluation_json(const Evaluation& e) {
  Json env = Json::object();
  env["hardware"] = e.environment.hardware;
  Json libs = Json::object();
  for (const auto& [k, v] : e.environment.libs) libs[k] = v;
  env["libs"] = libs;
  Json f = Json::object();
  f["status"] = status_name(e.status);
  f["environment"] = e.environment.passthrough.emit(env);
  f["timestamp"] = e.timestamp;
  f["log"] = e.log;
  if (e.correctness) {
    const auto& c = *e.correctness;
    f["correctness"] = c.passthrough.emit(Json{{"max_relative_error", number_to_json(c.max_relative_error)},
                                               {"max_absolute_error", number_to_json(c.max_absolute_error)},
                                               {"extra", c.extra}});
  }
  if (e.performance) {
    const auto& p = *e.performance;
    f["performance"] = p.passthrough.emit(Json{{"latency_ms", number_to_json(p.latency_ms)},
                                               {"reference_latency_ms", number_to_json(p.reference_latency_ms)},
                                               {"speedup_factor", number_to_json(p.speedup_factor)}});
  }
  if (!e.kforge.is_null()) f["kforge"] = e.kforge;
  return e.passthrough.emit(f);
}

}  // namespace

std::string_view status_name(EvalStatus s) {
  for (const auto& [st, name] : kStatuses) {
    if (st == s) return name;
  }
  throw Error("internal: unknown EvalStatus");
}

EvalStatus parse_status(std::string_view name) {
  for (const auto& [st, n] : kStatuses) {
    if (n == name) return st;
  }
  throw Error("unknown status '" + std::string(name) + "'",
              "one of PASSED, INCORRECT_SHAPE, INCORRECT_NUMERICAL, INCORRECT_DTYPE, RUNTIME_ERROR, "
              "COMPILE_ERROR, TIMEOUT").in_field("status");
}

Trace parse_trace(const Json& j) {
  require_object(j, "a trace");
  Trace t;
  t.definition = string_field(j, "definition");
  try {
    t.workload = parse_workload(field(j, "workload", "a workload object"));
  } catch (Error& e) {
    throw e.in_field("workload");
  }
  t.solution = optional_string(j, "solution");
  if (j.contains("evaluation") && !j["evaluation"].is_null()) {
    try {
      t.evaluation = parse_evaluation(j["evaluation"]);
    } catch (Error& e) {
      throw e.in_field("evaluation");
    }
  }
  t.passthrough = JsonPassthrough::capture(j, {"definition", "workload", "solution", "evaluation"});
  return t;
}

Json to_json(const Trace& t) {
  Json f = Json::object();
  f["definition"] = t.definition;
  f["workload"] = to_json(t.workload);
  f["solution"] = t.solution ? Json(*t.solution) : Json(nullptr);
  f["evaluation"] = t.evaluation ? evaluation_json(*t.evaluation) : Json(nullptr);
  return t.passthrough.emit(f);
}

}  // namespace kforge
