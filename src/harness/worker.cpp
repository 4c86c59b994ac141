#include "harness/worker.h"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <random>

#include "core/atomic_file.h"
#include "core/safetensors.h"
#include "synth/synthesizer.h"
#include "trace/dataset.h"

extern "C" {
#include "kforge/solution_abi.h"
}
#include "kforge/abi_descriptor.h"

namespace kforge {
namespace fs = std::filesystem;

Json to_json(const WorkerJob& j) {
  return {{"phase", j.phase},
          {"dataset", j.dataset.string()},
          {"definition", j.definition},
          {"workload", j.workload},
          {"library", j.library.string()},
          {"entry", j.entry},
          {"backend", j.backend},
          {"seeds", j.seeds},
          {"post_check_seed", j.post_check_seed},
          {"timing_trials", j.timing_trials},
          {"timing",
           {{"warmup", j.timing.warmup},
            {"iterations", j.timing.iterations},
            {"cold_cache", j.timing.cold_cache},
            {"method", j.timing.method}}},
          {"out_dir", j.out_dir.string()}};
}

WorkerJob worker_job_from_json(const Json& j) {
  WorkerJob w;
  w.phase = j.at("phase").get<std::string>();
  w.dataset = j.at("dataset").get<std::string>();
  w.definition = j.at("definition").get<std::string>();
  w.workload = j.at("workload").get<std::string>();
  w.library = j.at("library").get<std::string>();
  w.entry = j.at("entry").get<std::string>();
  w.backend = j.at("backend").get<std::string>();
  w.seeds = j.at("seeds").get<std::vector<std::uint64_t>>();
  w.post_check_seed = j.at("post_check_seed").get<std::uint64_t>();
  w.timing_trials = j.at("timing_trials").get<int>();
  const Json& t = j.at("timing");
  w.timing.warmup = t.at("warmup").get<int>();
  w.timing.iterations = t.at("iterations").get<int>();
  w.timing.cold_cache = t.at("cold_cache").get<bool>();
  w.timing.method = t.at("method").get<std::string>();
  w.out_dir = j.at("out_dir").get<std::string>();
  return w;
}

unsigned char poison_byte(DType dtype) { return dtype_is_floating(dtype) ? 0xFF : 0x7F; }

namespace {

// A candidate failure the result reports (as opposed to a broken job).
struct CandidateFailure {
  std::string kind;  // "runtime_error"
  std::string message;
};

kforge_dtype abi_dtype(DType d) {
  switch (d) {
    case DType::kFloat32: return KFORGE_FLOAT32;
    case DType::kFloat16: return KFORGE_FLOAT16;
    case DType::kBFloat16: return KFORGE_BFLOAT16;
    case DType::kFloat8E4M3FN: return KFORGE_FLOAT8_E4M3FN;
    case DType::kFloat8E5M2: return KFORGE_FLOAT8_E5M2;
    case DType::kInt64: return KFORGE_INT64;
    case DType::kInt32: return KFORGE_INT32;
    case DType::kInt16: return KFORGE_INT16;
    case DType::kInt8: return KFORGE_INT8;
    case DType::kBool: return KFORGE_BOOL;
    case DType::kFloat4E2M1: break;
  }
  throw Error("dtype " + std::string(dtype_name(d)) + " has no ABI code");
}

kforge_arg tensor_arg(void* data, DType dtype, const Shape& shape) {
  if (shape.size() > KFORGE_MAX_RANK) throw Error("rank " + std::to_string(shape.size()) + " exceeds the ABI's 8");
  return contiguous_tensor_arg(data, abi_dtype(dtype), shape.data(), shape.size());
}

kforge_arg scalar_arg(const Tensor& t) {
  kforge_arg a{};
  a.kind = KFORGE_SCALAR;
  a.dtype = abi_dtype(t.dtype());
  if (dtype_is_floating(t.dtype())) {
    a.scalar.f64 = t.get(0);
  } else {
    a.scalar.i64 = static_cast<std::int64_t>(t.get(0));
  }
  return a;
}

struct LoadedSolution {
  void* handle = nullptr;
  kforge_entry_fn entry = nullptr;
  kforge_workspace_fn workspace = nullptr;
};

LoadedSolution load_solution(const fs::path& lib, const std::string& entry) {
  LoadedSolution s;
  s.handle = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!s.handle) throw CandidateFailure{"runtime_error", std::string("dlopen failed: ") + ::dlerror()};
  s.entry = reinterpret_cast<kforge_entry_fn>(::dlsym(s.handle, entry.c_str()));
  if (!s.entry) {
    throw CandidateFailure{"runtime_error", "entry point '" + entry + "' not exported (declare it extern \"C\")"};
  }
  s.workspace = reinterpret_cast<kforge_workspace_fn>(::dlsym(s.handle, (entry + "_workspace_size").c_str()));
  return s;
}

// One set of inputs and outputs resident on the backend, with the ABI argument arrays.
struct CallSet {
  std::uint64_t seed = 0;
  TensorMap host_inputs;
  std::vector<std::unique_ptr<BackendBuffer>> input_buffers;  // tensor inputs, definition order
  std::vector<kforge_arg> inputs;
  std::vector<kforge_arg> outputs;
};

class Runner {
 public:
  Runner(const WorkerJob& job, Backend& backend) : m_job(job), m_backend(backend) {
    m_dataset = load_dataset(job.dataset);
    const auto* d = m_dataset.definition(job.definition);
    if (!d) throw Error("definition '" + job.definition + "' not in dataset");
    m_def = &d->value;
    const auto* w = m_dataset.workload(job.workload);
    if (!w) throw Error("workload '" + job.workload + "' not in dataset");
    m_workload = &w->value.workload;
    m_axes = resolve_axes(*m_def, *m_workload);
    m_output_buffers = alloc_outputs();
    m_solution = load_solution(job.library, job.entry);
  }

  std::vector<std::unique_ptr<BackendBuffer>> alloc_outputs() {
    std::vector<std::unique_ptr<BackendBuffer>> buffers;
    for (const auto& [name, spec] : m_def->outputs) {
      const Shape shape = resolve_shape(spec, m_axes);
      buffers.push_back(m_backend.alloc(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(spec.dtype)));
    }
    return buffers;
  }

  CallSet make_set(std::uint64_t seed) {
    CallSet set;
    set.seed = seed;
    set.host_inputs = synthesize_inputs(*m_def, *m_workload, &m_dataset, seed).tensors;
    for (const auto& [name, spec] : m_def->inputs) {
      const Tensor& t = set.host_inputs.at(name);
      if (spec.is_scalar()) {
        set.inputs.push_back(scalar_arg(t));
        continue;
      }
      set.input_buffers.push_back(m_backend.alloc(t.nbytes()));
      m_backend.upload(*set.input_buffers.back(), t);
      set.inputs.push_back(tensor_arg(set.input_buffers.back()->data(), t.dtype(), t.shape()));
    }
    std::size_t i = 0;
    for (const auto& [name, spec] : m_def->outputs) {
      set.outputs.push_back(tensor_arg(m_output_buffers[i++]->data(), spec.dtype, resolve_shape(spec, m_axes)));
    }
    return set;
  }

  // New values for `seed` in the buffers `set` already holds: the same addresses, other data.
  void refill(CallSet& set, std::uint64_t seed) {
    set.seed = seed;
    set.host_inputs = synthesize_inputs(*m_def, *m_workload, &m_dataset, seed).tensors;
    std::size_t i = 0, b = 0;
    for (const auto& [name, spec] : m_def->inputs) {
      const Tensor& t = set.host_inputs.at(name);
      if (spec.is_scalar()) {
        set.inputs[i++] = scalar_arg(t);
        continue;
      }
      if (t.nbytes() != set.input_buffers[b]->bytes()) throw Error("input '" + name + "' changed size with the seed");
      m_backend.upload(*set.input_buffers[b++], t);
      ++i;
    }
  }

  void ensure_workspace(const CallSet& set) {
    if (m_workspace_ready) return;
    m_workspace_ready = true;
    if (!m_solution.workspace) return;
    const std::uint64_t bytes = m_solution.workspace(set.inputs.data(), static_cast<std::int32_t>(set.inputs.size()),
                                                     set.outputs.data(), static_cast<std::int32_t>(set.outputs.size()));
    if (bytes > (std::uint64_t{64} << 30)) {
      throw CandidateFailure{"runtime_error", "workspace query asked for " + std::to_string(bytes) + " bytes"};
    }
    m_workspace = m_backend.alloc(static_cast<std::size_t>(bytes));
    m_backend.fill(*m_workspace, 0);
  }

  // The bare call, as timed: no checks, no synchronization.
  std::int32_t call(const CallSet& set) {
    return m_solution.entry(set.inputs.data(), static_cast<std::int32_t>(set.inputs.size()), set.outputs.data(),
                            static_cast<std::int32_t>(set.outputs.size()), m_workspace ? m_workspace->data() : nullptr,
                            m_workspace ? m_workspace->bytes() : 0, m_backend.stream());
  }

  void poison_outputs() { poison(m_output_buffers); }
  void poison(const std::vector<std::unique_ptr<BackendBuffer>>& buffers) {
    std::size_t i = 0;
    for (const auto& [name, spec] : m_def->outputs) m_backend.fill(*buffers[i++], poison_byte(spec.dtype));
  }

  TensorMap download_outputs() { return download(m_output_buffers); }
  TensorMap download(const std::vector<std::unique_ptr<BackendBuffer>>& buffers) {
    TensorMap out;
    std::size_t i = 0;
    for (const auto& [name, spec] : m_def->outputs) {
      out.emplace(name, m_backend.download(*buffers[i++], spec.dtype, resolve_shape(spec, m_axes)));
    }
    return out;
  }

  // Writes `outputs` to out_dir/<label>.safetensors and returns the record the parent checks.
  Json record(const TensorMap& outputs, const std::string& label, std::uint64_t seed) {
    std::vector<std::pair<std::string, const Tensor*>> list;
    for (const auto& [name, spec] : m_def->outputs) list.emplace_back(name, &outputs.at(name));
    const fs::path file = m_job.out_dir / (label + ".safetensors");
    write_safetensors(file, list);
    return {{"label", label}, {"seed", seed}, {"outputs", file.string()}};
  }

  // A checked call: poisoned outputs, return code, stream-ordering and input-integrity checks.
  // Writes the outputs to out_dir/<label>.safetensors and returns its record.
  Json checked_call(const CallSet& set, const std::string& label) {
    ensure_workspace(set);
    poison_outputs();
    m_backend.sync_all();
    const std::int32_t rc = call(set);
    if (rc != 0) throw CandidateFailure{"runtime_error", "entry point returned error code " + std::to_string(rc)};
    m_backend.sync_stream();
    // The first snapshot is taken before anything waits for the whole device (check_errors
    // synchronizes it): only then can work left running on another stream show up as a change.
    // A fault fails the download itself, and is reported like any other.
    TensorMap outputs = download_outputs();
    m_backend.sync_all();
    m_backend.check_errors();
    const TensorMap settled = download_outputs();
    for (const auto& [name, t] : outputs) {
      if (!t.equals(settled.at(name))) {
        throw CandidateFailure{"runtime_error", "output '" + name + "' changed after the candidate's stream completed: "
                                               "work was left running on another stream (not joined to the stream passed in)"};
      }
    }
    std::size_t b = 0;
    for (const auto& [name, spec] : m_def->inputs) {
      if (spec.is_scalar()) continue;
      const Tensor& original = set.host_inputs.at(name);
      if (!m_backend.download(*set.input_buffers[b++], original.dtype(), original.shape()).equals(original)) {
        throw CandidateFailure{"runtime_error", "input '" + name + "' was modified by the call (inputs are read-only)"};
      }
    }
    return record(outputs, label, set.seed);
  }

  Json run_correctness() {
    Json trials = Json::array();
    for (std::size_t i = 0; i < m_job.seeds.size(); ++i) {
      const CallSet set = make_set(m_job.seeds[i]);
      trials.push_back(checked_call(set, "trial_" + std::to_string(i)));
    }
    return {{"trials", trials}};
  }

  Json run_performance() {
    std::vector<CallSet> sets;
    for (auto seed : m_job.seeds) sets.push_back(make_set(seed));
    if (sets.empty()) throw Error("performance job without timing seeds");
    // Inputs no timed call sees, with poisoned outputs of their own, for the call that follows
    // the timing loop (timing_fresh below); prepared now so that nothing delays that call.
    CallSet fresh = make_set(m_job.post_check_seed);
    const auto fresh_buffers = alloc_outputs();
    for (std::size_t i = 0; i < fresh_buffers.size(); ++i) fresh.outputs[i].data = fresh_buffers[i]->data();
    poison(fresh_buffers);
    ensure_workspace(sets.front());
    Json trials = Json::array();
    std::size_t next = 0;
    std::string bad_rc;
    std::size_t last = 0;
    // Rotating input sets: consecutive calls never see the same buffers or values.
    auto timed = [&] {
      last = next++ % sets.size();
      if (const std::int32_t rc = call(sets[last]); rc != 0 && bad_rc.empty()) bad_rc = std::to_string(rc);
    };
    // One timed call per trial, drawn from the OS's entropy (nothing the candidate can read in
    // the job or derive from seeds), has its outputs checked: a candidate that knows the
    // schedule and computes only the calls it expects to be checked is caught here.
    std::random_device entropy;
    Json timing_random = Json::array();
    std::vector<double> medians;
    for (int t = 0; t < m_job.timing_trials; ++t) {
      TimingConfig cfg = m_job.timing;
      // Never the last timed call: timing_last checks it, and the check's delay must not fall
      // between the loop and timing_fresh, which relies on following the loop at once.
      if (cfg.iterations >= 2) {
        const int checked = static_cast<int>(entropy() % static_cast<unsigned>(cfg.iterations - 1));
        cfg.after_timed_call = [&, t, checked](int i) {
          if (i == checked) {
            timing_random.push_back(record(download_outputs(), "timing_random_" + std::to_string(t), sets[last].seed));
          }
        };
      }
      const TimingStats s = m_backend.time_calls(timed, cfg);
      m_backend.check_errors();
      if (!bad_rc.empty()) throw CandidateFailure{"runtime_error", "entry point returned error code " + bad_rc + " while timed"};
      medians.push_back(s.median_us);
      trials.push_back({{"median_us", s.median_us}, {"mean_us", s.mean_us}, {"min_us", s.min_us}, {"max_us", s.max_us},
                        {"stddev_us", s.stddev_us}, {"method", s.method}, {"per_call_us", s.per_call_us}});
    }
    // One more bare call the moment the loop returns, issued like a timed call (no poison or
    // synchronization before it) on inputs no earlier call saw, into poisoned outputs of its own.
    // A candidate that guesses which calls are timed (by their count, by the time between them)
    // and skips those leaves poison here; timing_last alone catches it only when the loop does
    // not end on the input set the candidate last computed.
    const std::int32_t fresh_rc = call(fresh);
    m_backend.sync_all();
    m_backend.check_errors();
    if (fresh_rc != 0) {
      throw CandidateFailure{"runtime_error", "entry point returned error code " + std::to_string(fresh_rc)};
    }
    // The last timed call's outputs must be right for the set it used: catches work skipped
    // only while timed.
    Json timing_last = record(download_outputs(), "timing_last", sets[last].seed);
    Json timing_fresh = record(download(fresh_buffers), "timing_fresh", fresh.seed);
    // Two checked calls on the buffers of the last timed set. First its same inputs again, with
    // poisoned outputs: a candidate that skips work on inputs it has seen, leaving an earlier
    // call's outputs in place, fails here whichever set the timing loop ended on (timing_last
    // alone misses it when the loop ends on the set computed last). Then new values in those same
    // buffers: a candidate that caches outputs by address or by shape replays stale ones (new
    // buffers would only catch that when the allocator happens to hand back an old address).
    // Both calls also verify that the timed calls left that set's inputs intact.
    CallSet& reused = sets[last];
    Json post_repeat = checked_call(reused, "post_repeat");
    refill(reused, m_job.post_check_seed);
    Json post_check = checked_call(reused, "post_check");
    return {{"timing", trials},          {"timing_last", timing_last},   {"timing_fresh", timing_fresh},
            {"timing_random", timing_random}, {"post_repeat", post_repeat}, {"post_check", post_check}};
  }

  Json environment() { return m_backend.environment(); }

 private:
  const WorkerJob& m_job;
  Backend& m_backend;
  Dataset m_dataset;
  const Definition* m_def = nullptr;
  const Workload* m_workload = nullptr;
  Axes m_axes;
  std::vector<std::unique_ptr<BackendBuffer>> m_output_buffers;
  std::unique_ptr<BackendBuffer> m_workspace;
  bool m_workspace_ready = false;
  LoadedSolution m_solution;
};

}  // namespace

int run_worker(const WorkerJob& job) {
  Json result = {{"phase", job.phase}, {"status", "ok"}};
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Backend> backend;
  try {
    backend = job.backend == "cuda" ? make_cuda_backend() : make_cpu_backend();
    Runner runner(job, *backend);
    result["environment"] = runner.environment();
    result.update(job.phase == "performance" ? runner.run_performance() : runner.run_correctness());
  } catch (const CandidateFailure& f) {
    result["status"] = f.kind;
    result["error"] = f.message;
  } catch (const std::exception& e) {
    // CUDA faults surface here (sticky errors after the candidate's call).
    result["status"] = "runtime_error";
    result["error"] = e.what();
  }
  result["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(job.out_dir / "result.json", result.dump(2));
  return 0;
}

}  // namespace kforge
