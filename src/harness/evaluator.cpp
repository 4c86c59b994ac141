#include "harness/evaluator.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "core/atomic_file.h"
#include "core/safetensors.h"
#include "harness/process.h"
#include "harness/worker.h"
#include "roofline/roofline.h"
#include "synth/synthesizer.h"

namespace kforge {
namespace fs = std::filesystem;

// Inputs and reference outputs per (reference, workload, seed), shared by the solutions of a
// bench run; bounded, oldest evicted first, since full-size workloads hold hundreds of MB.
struct Evaluator::RefCache {
  struct Entry {
    TensorMap inputs, outputs;
    std::size_t bytes = 0;
  };
  static constexpr std::size_t kMaxBytes = std::size_t{2} << 30;
  std::map<std::string, Entry> entries;  // "<ref>|<uuid>|<seed>"
  std::vector<std::string> order;        // insertion order, for eviction
  std::size_t bytes = 0;
  std::map<std::string, TimingStats> latency;  // "<ref>|<uuid>"

  const Entry& put(const std::string& key, Entry e) {
    for (const auto* m : {&e.inputs, &e.outputs}) {
      for (const auto& [n, t] : *m) e.bytes += t.nbytes();
    }
    while (!order.empty() && bytes + e.bytes > kMaxBytes) {
      bytes -= entries.at(order.front()).bytes;
      entries.erase(order.front());
      order.erase(order.begin());
    }
    bytes += e.bytes;
    order.push_back(key);
    return entries[key] = std::move(e);
  }
};

namespace {

constexpr std::size_t kMaxLog = 4 << 20;  // FlashInfer-Bench caps logs at 5 MB

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string capped(std::string s) {
  if (s.size() > kMaxLog) s = s.substr(0, kMaxLog / 2) + "\n[... log truncated ...]\n" + s.substr(s.size() - kMaxLog / 2);
  return s;
}

// Outcome of one worker phase as the evaluator sees it.
struct PhaseOutcome {
  std::optional<EvalStatus> failure;  // set when the phase failed
  std::string message;
  Json result;      // result.json when it exists
  std::string log;  // worker output
};

}  // namespace

Evaluator::Evaluator(const Dataset& dataset, EvalConfig config)
    : m_dataset(dataset), m_config(std::move(config)), m_cache(std::make_unique<RefCache>()) {
  if (m_config.work_dir.empty()) m_config.work_dir = fs::temp_directory_path() / ("kforge-eval-" + std::to_string(::getpid()));
  if (m_config.worker_exe.empty()) m_config.worker_exe = fs::read_symlink("/proc/self/exe");
  if (m_config.torch_script.empty()) m_config.torch_script = fs::path(KFORGE_SOURCE_DIR) / "tools/torch_ref/run_reference.py";
}

Evaluator::~Evaluator() {
  if (!m_config.keep_work_dirs) {
    std::error_code ec;
    fs::remove_all(m_config.work_dir, ec);
  }
}

std::string Evaluator::backend_for(const Solution& s) const {
  if (s.spec.language == "cpp") return "cpu";
  return "cuda";
}

ReferenceProvider& Evaluator::reference_for(const std::string& backend) {
  const bool gpu = m_config.reference == "gpu" || (m_config.reference == "auto" && backend == "cuda");
  if (gpu) {
    if (!m_gpu_ref) m_gpu_ref = make_gpu_reference();
    return *m_gpu_ref;
  }
  if (!m_cpu_ref) m_cpu_ref = make_cpu_reference();
  return *m_cpu_ref;
}

std::vector<WorkloadResult> Evaluator::evaluate(const SolutionDir& s, const std::vector<const Located<Trace>*>& workloads,
                                                const std::function<void(const WorkloadResult&)>& progress) {
  const BuildResult build = build_solution(s.solution, m_config.build);
  std::vector<WorkloadResult> out;
  for (const auto* w : workloads) {
    out.push_back(evaluate_one(s, build, *w));
    if (progress) progress(out.back());
  }
  return out;
}

WorkloadResult Evaluator::evaluate_one(const SolutionDir& sd, const BuildResult& build, const Located<Trace>& lw) {
  const Solution& sol = sd.solution;
  WorkloadResult r;
  r.trace.definition = lw.value.definition;
  r.trace.workload = lw.value.workload;
  r.trace.solution = sol.name;
  Evaluation& ev = r.trace.evaluation.emplace();
  ev.timestamp = now_iso8601();
  ev.environment.hardware = "unknown";
  ev.environment.libs.add("kforge", "0.1.0");

  const auto* ld = m_dataset.definition(lw.value.definition);
  if (!ld) throw Error("workload's definition '" + lw.value.definition + "' not in dataset").at_file(lw.file).at_line(lw.line);
  const Definition& def = ld->value;
  if (sol.definition != def.name) {
    throw Error("solution '" + sol.name + "' implements '" + sol.definition + "'", "a workload of that definition");
  }
  const Axes axes = resolve_axes(def, lw.value.workload);
  const std::string backend = backend_for(sol);
  if (backend == "cuda" && !cuda_backend_available()) {
    r.skipped = true;
    r.skip_reason = "cuda solution and no usable GPU here";
    return r;
  }
  if (backend == "cpu") {
    const auto cost = estimate_roofline(def, axes, nullptr, device_peaks("h100"));
    if (cost.flops > m_config.cpu_gflop_budget * 1e9) {
      r.skipped = true;
      r.skip_reason = "about " + std::to_string(static_cast<long long>(cost.flops / 1e9)) +
                      " GFLOP: above the CPU backend's budget (--cpu-gflop-budget)";
      return r;
    }
  }
  if (!build.ok) {
    ev.status = EvalStatus::kCompileError;
    ev.log = capped(build.log);
    return r;
  }

  const Tolerance tol = m_config.tolerance.value_or(default_tolerance(def));
  ReferenceProvider& ref = reference_for(backend);
  std::vector<std::uint64_t> trial_seeds;
  for (int i = 0; i < m_config.trials; ++i) trial_seeds.push_back(m_config.seed + static_cast<std::uint64_t>(i));
  std::vector<std::uint64_t> timing_seeds(trial_seeds.begin(), trial_seeds.begin() + std::min<std::ptrdiff_t>(2, m_config.trials));
  const std::uint64_t post_seed = m_config.seed + static_cast<std::uint64_t>(m_config.trials);
  if (timing_seeds.size() < 2) timing_seeds.push_back(post_seed + 1);

  // Copies out of the cache: an entry may be evicted by the next call.
  auto reference = [&](std::uint64_t seed) -> std::pair<TensorMap, TensorMap> {
    const std::string key = ref.name() + "|" + lw.value.workload.uuid + "|" + std::to_string(seed);
    auto it = m_cache->entries.find(key);
    if (it != m_cache->entries.end()) return {it->second.inputs, it->second.outputs};
    RefCache::Entry e;
    e.inputs = synthesize_inputs(def, lw.value.workload, &m_dataset, seed).tensors;
    e.outputs = ref.outputs(def, axes, e.inputs);
    const RefCache::Entry& stored = m_cache->put(key, std::move(e));
    return {stored.inputs, stored.outputs};
  };

  static int job_counter = 0;
  // A job folder holds the candidate's outputs, which match the reference when it passes. They go
  // as soon as this workload is judged: the next solution of the run shares the work folder, and
  // a candidate that copies a previous solution's outputs for the same seeds needs no reference.
  struct JobDirs {
    std::vector<fs::path> dirs;
    bool keep = false;
    ~JobDirs() {
      std::error_code ec;
      for (const auto& d : dirs) {
        if (!keep) fs::remove_all(d, ec);
      }
    }
  } job_dirs{{}, m_config.keep_work_dirs};
  auto run_phase = [&](const std::string& phase, const std::vector<std::uint64_t>& seeds) {
    PhaseOutcome o;
    WorkerJob job;
    job.phase = phase;
    job.dataset = fs::absolute(m_dataset.root);
    job.definition = def.name;
    job.workload = lw.value.workload.uuid;
    job.library = build.library;
    job.entry = sol.spec.entry_symbol();
    job.backend = backend;
    job.seeds = seeds;
    job.post_check_seed = post_seed;
    job.timing_trials = m_config.timing_trials;
    job.timing = m_config.timing;
    job.out_dir = m_config.work_dir / (sol.name + "-" + lw.value.workload.uuid.substr(0, 8) + "-" + phase + "-" +
                                       std::to_string(job_counter++));
    fs::create_directories(job.out_dir);
    job_dirs.dirs.push_back(job.out_dir);
    const fs::path job_file = job.out_dir / "job.json";
    write_file_atomic(job_file, to_json(job).dump(2));
    ProcessOptions po;
    po.timeout_seconds = m_config.timeout_seconds;
    po.cwd = job.out_dir;
    const ProcessResult pr = run_process({m_config.worker_exe.string(), "worker", "--job", job_file.string()}, po);
    o.log = pr.output;
    if (pr.timed_out) {
      o.failure = EvalStatus::kTimeout;
      o.message = phase + " phase " + pr.describe();
      return o;
    }
    const fs::path result_file = job.out_dir / "result.json";
    if (!pr.ok() || !fs::exists(result_file)) {
      o.failure = EvalStatus::kRuntimeError;
      o.message = "worker (" + phase + " phase) " + pr.describe() + (fs::exists(result_file) ? "" : ", no result written");
      return o;
    }
    std::ifstream in(result_file);
    o.result = Json::parse(in);
    if (o.result.at("status") != "ok") {
      o.failure = EvalStatus::kRuntimeError;
      o.message = o.result.value("error", std::string("candidate failed"));
    }
    return o;
  };

  Json kf = {{"seeds", {{"trials", trial_seeds}, {"timing_sets", timing_seeds}, {"post_check", post_seed}}},
             {"tolerance", {{"atol", tol.atol}, {"rtol", tol.rtol}, {"required_matched_ratio", tol.required_matched_ratio}}},
             {"reference", ref.name()},
             {"backend", backend},
             {"build", {{"key", build.key}, {"cached", build.cached}, {"seconds", build.seconds}}}};
  std::string log;
  double max_abs = 0, max_rel = 0, min_ratio = 1;
  Json checks = Json::array();
  // Compares one recorded call of the candidate with the reference for its seed.
  auto check = [&](const Json& record) -> std::optional<Comparison> {
    const std::uint64_t seed = record.at("seed").get<std::uint64_t>();
    auto [inputs, expected] = reference(seed);
    auto actual_raw = read_safetensors(record.at("outputs").get<std::string>());
    const TensorMap actual(actual_raw.begin(), actual_raw.end());
    Comparison c = compare_outputs(def, axes, inputs, expected, actual, tol);
    max_abs = std::max(max_abs, c.max_abs_error);
    max_rel = std::max(max_rel, c.max_rel_error);
    min_ratio = std::min(min_ratio, c.matched_ratio);
    checks.push_back({{"call", record.at("label")}, {"seed", seed}, {"status", status_name(c.status)},
                      {"max_abs_error", number_to_json(c.max_abs_error)}, {"max_rel_error", number_to_json(c.max_rel_error)},
                      {"matched_ratio", c.matched_ratio}});
    log += record.at("label").get<std::string>() + " (seed " + std::to_string(seed) + "): " +
           std::string(status_name(c.status)) + (c.message.empty() ? "" : ": " + c.message) + "\n";
    if (c.status != EvalStatus::kPassed) return c;
    return std::nullopt;
  };
  auto finish_failure = [&](EvalStatus status, const std::string& message, const std::string& worker_log) {
    ev.status = status;
    ev.log = capped(log + message + "\n" + (worker_log.empty() ? "" : "--- worker output ---\n" + worker_log));
    if (status == EvalStatus::kIncorrectNumerical) {
      ev.correctness = Correctness{max_rel, max_abs, Json{{"matched_ratio", min_ratio}}, {}};
    }
    kf["checks"] = checks;
    ev.kforge = kf;
  };
  auto take_environment = [&](const Json& result) {
    if (!result.contains("environment")) return;
    const Json& e = result["environment"];
    ev.environment.hardware = e.value("hardware", std::string("unknown"));
    for (const char* k : {"cuda_runtime", "cuda_driver"}) {
      if (e.contains(k)) ev.environment.libs.add(k, e[k].get<std::string>());
    }
    kf["environment"] = e;
  };

  // Phase 1: correctness on fresh inputs per trial.
  PhaseOutcome p1 = run_phase("correctness", trial_seeds);
  take_environment(p1.result);
  if (p1.failure) {
    finish_failure(*p1.failure, p1.message, p1.log);
    return r;
  }
  for (const auto& t : p1.result.at("trials")) {
    if (auto bad = check(t)) {
      finish_failure(bad->status, "", p1.log);
      return r;
    }
  }
  // Phase 2: timing on rotating inputs; then a randomly chosen timed call per trial, the last
  // timed call, a fresh call and two checked calls after the loop are compared.
  PhaseOutcome p2 = run_phase("performance", timing_seeds);
  if (p2.failure) {
    finish_failure(*p2.failure, "after the correctness trials passed: " + p2.message, p2.log);
    return r;
  }
  std::vector<Json> after_timing{p2.result.at("timing_last"), p2.result.at("timing_fresh")};
  for (const auto& rec : p2.result.value("timing_random", Json::array())) after_timing.push_back(rec);
  for (const char* key : {"post_repeat", "post_check"}) after_timing.push_back(p2.result.at(key));
  for (const auto& rec : after_timing) {
    if (auto bad = check(rec)) {
      finish_failure(bad->status,
                     "the " + rec.at("label").get<std::string>() + " call failed although the correctness trials passed",
                     p2.log);
      return r;
    }
  }
  // The definition's own PyTorch code on trial 0's inputs. It runs only now, after the workers
  // have exited, and its outputs are deleted once read: no candidate can ever read them.
  std::optional<double> torch_us;
  if (m_config.torch_reference) {
    const fs::path dir = m_config.work_dir / ("torch-" + lw.value.workload.uuid.substr(0, 8) + "-" + std::to_string(job_counter++));
    fs::create_directories(dir);
    auto [inputs, expected] = reference(trial_seeds.front());
    std::vector<std::pair<std::string, const Tensor*>> list;
    for (const auto& [name, spec] : def.inputs) list.emplace_back(name, &inputs.at(name));
    write_safetensors(dir / "inputs.safetensors", list);
    ProcessOptions po;
    po.timeout_seconds = m_config.timeout_seconds;
    const auto pr = run_process({m_config.python, m_config.torch_script.string(), "--definition", ld->file, "--inputs",
                                 (dir / "inputs.safetensors").string(), "--outputs", (dir / "outputs.safetensors").string(),
                                 "--timing", (dir / "timing.json").string(), "--warmup", std::to_string(m_config.torch_warmup),
                                 "--iterations", std::to_string(m_config.torch_iterations)},
                                po);
    if (!pr.ok()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      throw Error("the PyTorch reference failed (" + pr.describe() + "): " + pr.output.substr(0, 2000),
                  "python3 with torch and safetensors, and a GPU (or drop --torch-reference)");
    }
    auto torch_raw = read_safetensors(dir / "outputs.safetensors");
    const TensorMap torch_out(torch_raw.begin(), torch_raw.end());
    std::ifstream tin(dir / "timing.json");
    const Json timing = Json::parse(tin);
    std::error_code ec;
    fs::remove_all(dir, ec);
    // How far kforge's own reference is from the normative one, for the record.
    const Comparison agree = compare_outputs(def, axes, inputs, torch_out, expected, tol);
    kf["torch_reference"] = {{"kforge_reference_vs_torch", status_name(agree.status)},
                             {"max_abs_error", number_to_json(agree.max_abs_error)},
                             {"median_us", timing.at("median_us")},
                             {"method", timing.at("method")},
                             {"torch", timing.at("torch")}};
    auto cand_raw = read_safetensors(p1.result.at("trials")[0].at("outputs").get<std::string>());
    const Comparison c = compare_outputs(def, axes, inputs, torch_out, TensorMap(cand_raw.begin(), cand_raw.end()), tol);
    log += "trial_0 vs the PyTorch reference: " + std::string(status_name(c.status)) +
           (c.message.empty() ? "" : ": " + c.message) + "\n";
    if (c.status != EvalStatus::kPassed) {
      finish_failure(c.status, "the candidate disagrees with the definition's PyTorch reference", p2.log);
      return r;
    }
    torch_us = timing.at("median_us").get<double>();
  }
  std::vector<double> medians;
  for (const auto& t : p2.result.at("timing")) medians.push_back(t.at("median_us").get<double>());
  const TimingStats over_trials = summarize_times(medians, p2.result.at("timing")[0].at("method").get<std::string>());

  const std::string lat_key = ref.name() + "|" + lw.value.workload.uuid;
  auto lat = m_cache->latency.find(lat_key);
  if (lat == m_cache->latency.end()) {
    auto [inputs, expected] = reference(trial_seeds.front());
    lat = m_cache->latency.emplace(lat_key, ref.time(def, axes, inputs, m_config.timing)).first;
  }
  const double latency_ms = over_trials.mean_us / 1e3;
  // With --torch-reference the contest's definition of speedup: over the PyTorch reference.
  const double ref_ms = (torch_us ? *torch_us : lat->second.median_us) / 1e3;
  ev.status = EvalStatus::kPassed;
  ev.correctness = Correctness{max_rel, max_abs, Json{{"matched_ratio", min_ratio}}, {}};
  ev.performance = Performance{latency_ms, ref_ms, latency_ms > 0 ? ref_ms / latency_ms : 0.0, {}};
  kf["checks"] = checks;
  kf["timing"] = {{"method", over_trials.method},
                  {"trial_medians_us", medians},
                  {"mean_us", over_trials.mean_us},
                  {"spread_us", over_trials.max_us - over_trials.min_us},
                  {"stddev_us", over_trials.stddev_us},
                  {"warmup", m_config.timing.warmup},
                  {"iterations", m_config.timing.iterations},
                  {"cold_cache", m_config.timing.cold_cache},
                  {"reference_method", lat->second.method},
                  {"kforge_reference_us", lat->second.median_us},
                  {"reference_latency_is", torch_us ? "torch" : ref.name()}};
  ev.kforge = kf;
  ev.log = capped(log);
  return r;
}

}  // namespace kforge
