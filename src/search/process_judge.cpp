#include "search/process_judge.h"

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "harness/process.h"
#include "search/search_config.h"

namespace kforge::search {

namespace fs = std::filesystem;

ProcessJudge::ProcessJudge(fs::path kforge_exe, fs::path dataset_root, EvalConfig base,
                           std::map<std::string, std::string> env, fs::path work_dir)
    : m_exe(std::move(kforge_exe)),
      m_dataset(std::move(dataset_root)),
      m_work(std::move(work_dir)),
      m_base(std::move(base)),
      m_env(std::move(env)) {}

ProcessJudge::~ProcessJudge() {
  std::error_code ec;
  if (!m_base.keep_work_dirs) fs::remove_all(m_work, ec);
}

Json ProcessJudge::run_job(Json job, double timeout_seconds) {
  const fs::path dir = m_work / ("job-" + std::to_string(m_calls++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  job["dataset"] = m_dataset.string();
  job["eval"] = to_json(m_base);
  job["eval"]["work_dir"] = (dir / "work").string();
  write_file_atomic(dir / "job.json", job.dump());
  ProcessOptions po;
  po.timeout_seconds = timeout_seconds;
  po.env = m_env;
  const ProcessResult pr = run_process({m_exe.string(), "search-worker", "--job", (dir / "job.json").string()}, po);
  const fs::path result = dir / "result.json";
  if (!pr.ok() || !fs::exists(result)) {
    throw Error("search worker " + pr.describe() + ": " + pr.output.substr(0, 2000), "a result.json")
        .at_file((dir / "job.json").string());
  }
  std::ifstream in(result);
  Json out = Json::parse(in);
  if (!m_base.keep_work_dirs) fs::remove_all(dir);
  return out;
}

BuildResult ProcessJudge::build(const Solution& solution) {
  const Json r = run_job({{"op", "build"}, {"solution", to_json(solution)}}, m_base.build.timeout_seconds + 60);
  BuildResult b;
  b.ok = r.at("ok").get<bool>();
  b.library = r.at("library").get<std::string>();
  b.log = r.at("log").get<std::string>();
  b.key = r.at("key").get<std::string>();
  b.cached = r.at("cached").get<bool>();
  b.seconds = r.at("seconds").get<double>();
  return b;
}

std::vector<WorkloadResult> ProcessJudge::evaluate(const SolutionDir& solution,
                                                   const std::vector<const Located<Trace>*>& workloads, Stage stage,
                                                   std::uint64_t seed) {
  Json uuids = Json::array();
  for (const auto* w : workloads) uuids.push_back(w->value.workload.uuid);
  // Each workload runs two worker phases, each bounded by the evaluator's own timeout.
  const double limit = m_base.build.timeout_seconds + 2.5 * m_base.timeout_seconds * static_cast<double>(workloads.size() + 1);
  const Json r = run_job({{"op", "evaluate"}, {"solution", to_json(solution.solution)}, {"dir", solution.dir.string()},
                          {"workloads", uuids}, {"stage", stage_name(stage)}, {"seed", seed}},
                         limit);
  std::vector<WorkloadResult> out;
  for (const auto& x : r.at("results")) {
    WorkloadResult w;
    w.trace = parse_trace(x.at("trace"));
    w.skipped = x.at("skipped").get<bool>();
    w.skip_reason = x.at("skip_reason").get<std::string>();
    out.push_back(std::move(w));
  }
  return out;
}

void run_judge_job(const fs::path& job_file) {
  const Json job = Json::parse(read_text_file(job_file));
  const Dataset ds = load_dataset(job.at("dataset").get<std::string>());
  EvalConfig config = eval_config_from_json(job.at("eval"));
  config.work_dir = job.at("eval").at("work_dir").get<std::string>();
  EvaluatorJudge judge(ds, config);
  const std::string op = job.at("op").get<std::string>();
  const Solution solution = parse_solution(job.at("solution"));
  Json result;
  if (op == "build") {
    const BuildResult b = judge.build(solution);
    result = {{"ok", b.ok}, {"library", b.library.string()}, {"log", b.log}, {"key", b.key}, {"cached", b.cached},
              {"seconds", b.seconds}};
  } else if (op == "evaluate") {
    std::vector<const Located<Trace>*> workloads;
    for (const auto& u : job.at("workloads")) {
      const auto* w = ds.workload(u.get<std::string>());
      if (!w) throw Error("workload " + u.get<std::string>() + " not in the dataset").at_file(job_file.string());
      workloads.push_back(w);
    }
    const SolutionDir sd{job.at("dir").get<std::string>(), solution};
    Json results = Json::array();
    for (const auto& r : judge.evaluate(sd, workloads, parse_stage(job.at("stage").get<std::string>()),
                                        job.at("seed").get<std::uint64_t>())) {
      results.push_back({{"trace", to_json(r.trace)}, {"skipped", r.skipped}, {"skip_reason", r.skip_reason}});
    }
    result = {{"results", results}};
  } else {
    throw Error("unknown op '" + op + "'", "build or evaluate").at_file(job_file.string());
  }
  write_file_atomic(job_file.parent_path() / "result.json", result.dump());
}

}  // namespace kforge::search
