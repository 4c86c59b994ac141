#include "search/search_config.h"

#include "core/error.h"

namespace kforge::search {

namespace {

template <class T>
T get_or(const Json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const Json::exception&) {
    throw Error("wrong type", "a value like " + Json(fallback).dump()).in_field(key);
  }
}

}  // namespace

Json to_json(const EvalConfig& c) {
  Json j = {{"trials", c.trials},
            {"timing", {{"warmup", c.timing.warmup}, {"iterations", c.timing.iterations}, {"cold_cache", c.timing.cold_cache},
                        {"method", c.timing.method}}},
            {"timing_trials", c.timing_trials},
            {"timeout_seconds", c.timeout_seconds},
            {"backend", c.backend},
            {"reference", c.reference},
            {"seed", c.seed},
            {"build", {{"cuda_arch", c.build.cuda_arch}, {"cache_dir", c.build.cache_dir.string()},
                       {"extra_flags", c.build.extra_flags}, {"timeout_seconds", c.build.timeout_seconds}}},
            {"cpu_gflop_budget", c.cpu_gflop_budget},
            {"keep_work_dirs", c.keep_work_dirs},
            {"torch_reference", c.torch_reference},
            {"python", c.python},
            {"torch_warmup", c.torch_warmup},
            {"torch_iterations", c.torch_iterations}};
  if (c.tolerance) {
    j["tolerance"] = {{"atol", c.tolerance->atol}, {"rtol", c.tolerance->rtol},
                      {"required_matched_ratio", c.tolerance->required_matched_ratio}};
  }
  return j;
}

EvalConfig eval_config_from_json(const Json& j) {
  EvalConfig c;
  try {
    c.trials = get_or(j, "trials", c.trials);
    if (j.contains("timing")) {
      const Json& t = j["timing"];
      c.timing.warmup = get_or(t, "warmup", c.timing.warmup);
      c.timing.iterations = get_or(t, "iterations", c.timing.iterations);
      c.timing.cold_cache = get_or(t, "cold_cache", c.timing.cold_cache);
      c.timing.method = get_or(t, "method", c.timing.method);
    }
    c.timing_trials = get_or(j, "timing_trials", c.timing_trials);
    c.timeout_seconds = get_or(j, "timeout_seconds", c.timeout_seconds);
    c.backend = get_or(j, "backend", c.backend);
    c.reference = get_or(j, "reference", c.reference);
    c.seed = get_or(j, "seed", c.seed);
    if (j.contains("build")) {
      const Json& b = j["build"];
      c.build.cuda_arch = get_or(b, "cuda_arch", c.build.cuda_arch);
      c.build.cache_dir = get_or(b, "cache_dir", std::string());
      c.build.extra_flags = get_or(b, "extra_flags", c.build.extra_flags);
      c.build.timeout_seconds = get_or(b, "timeout_seconds", c.build.timeout_seconds);
    }
    c.cpu_gflop_budget = get_or(j, "cpu_gflop_budget", c.cpu_gflop_budget);
    c.keep_work_dirs = get_or(j, "keep_work_dirs", c.keep_work_dirs);
    c.torch_reference = get_or(j, "torch_reference", c.torch_reference);
    c.python = get_or(j, "python", c.python);
    c.torch_warmup = get_or(j, "torch_warmup", c.torch_warmup);
    c.torch_iterations = get_or(j, "torch_iterations", c.torch_iterations);
    if (j.contains("tolerance")) {
      Tolerance t;
      t.atol = get_or(j["tolerance"], "atol", t.atol);
      t.rtol = get_or(j["tolerance"], "rtol", t.rtol);
      t.required_matched_ratio = get_or(j["tolerance"], "required_matched_ratio", t.required_matched_ratio);
      c.tolerance = t;
    }
  } catch (Error& e) {
    throw e.in_field("eval");
  }
  return c;
}

Json to_json(const SearchConfig& c) {
  return {{"data", c.data.string()},
          {"definition", c.definition},
          {"solution", c.solution.string()},
          {"run_dir", c.run_dir.string()},
          {"generator", c.generator},
          {"agent_cmd", c.agent_cmd},
          {"agent_timeout_seconds", c.agent_timeout_seconds},
          {"strategy", {{"name", c.strategy.name}, {"count", c.strategy.count}, {"seed", c.strategy.seed},
                        {"eta", c.strategy.eta}, {"rungs", c.strategy.rungs}}},
          {"budget", {{"max_candidates", c.budget.max_candidates}, {"eval_minutes", c.budget.eval_minutes},
                      {"agent_minutes", c.budget.agent_minutes}, {"patience", c.budget.patience}}},
          {"seed", c.seed},
          {"min_gain", c.min_gain},
          {"regression_every", c.regression_every},
          {"jobs", c.jobs},
          {"gpus", c.gpus},
          {"shapes", {{"bands", c.shapes.bands}, {"max_axes", c.shapes.max_axes},
                      {"representatives", c.shapes.representatives}}},
          {"eval", to_json(c.eval)}};
}

SearchConfig search_config_from_json(const Json& j) {
  require(j.is_object(), "run config is not an object", "a JSON object");
  SearchConfig c;
  c.data = get_or(j, "data", std::string());
  c.definition = get_or(j, "definition", std::string());
  c.solution = get_or(j, "solution", std::string());
  c.run_dir = get_or(j, "run_dir", std::string());
  c.generator = get_or(j, "generator", c.generator);
  c.agent_cmd = get_or(j, "agent_cmd", c.agent_cmd);
  c.agent_timeout_seconds = get_or(j, "agent_timeout_seconds", c.agent_timeout_seconds);
  if (j.contains("strategy")) {
    const Json& s = j["strategy"];
    c.strategy.name = get_or(s, "name", c.strategy.name);
    c.strategy.count = get_or(s, "count", c.strategy.count);
    c.strategy.seed = get_or(s, "seed", c.strategy.seed);
    c.strategy.eta = get_or(s, "eta", c.strategy.eta);
    c.strategy.rungs = get_or(s, "rungs", c.strategy.rungs);
  }
  if (j.contains("budget")) {
    const Json& b = j["budget"];
    c.budget.max_candidates = get_or(b, "max_candidates", c.budget.max_candidates);
    c.budget.eval_minutes = get_or(b, "eval_minutes", c.budget.eval_minutes);
    c.budget.agent_minutes = get_or(b, "agent_minutes", c.budget.agent_minutes);
    c.budget.patience = get_or(b, "patience", c.budget.patience);
  }
  c.seed = get_or(j, "seed", c.seed);
  c.min_gain = get_or(j, "min_gain", c.min_gain);
  c.regression_every = get_or(j, "regression_every", c.regression_every);
  c.jobs = get_or(j, "jobs", c.jobs);
  c.gpus = get_or(j, "gpus", c.gpus);
  if (j.contains("shapes")) {
    const Json& s = j["shapes"];
    c.shapes.bands = get_or(s, "bands", c.shapes.bands);
    c.shapes.max_axes = get_or(s, "max_axes", c.shapes.max_axes);
    c.shapes.representatives = get_or(s, "representatives", c.shapes.representatives);
  }
  if (j.contains("eval")) c.eval = eval_config_from_json(j["eval"]);
  return c;
}

}  // namespace kforge::search
