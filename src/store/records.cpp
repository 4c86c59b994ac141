#include "store/records.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace kforge::store {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

namespace {

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

}  // namespace

Json to_json(const RunRecord& r) {
  return {{"id", r.id}, {"definition", r.definition}, {"generator", r.generator}, {"seed", r.seed},
          {"budget", r.budget}, {"status", r.status}, {"stop_reason", r.stop_reason}, {"created", r.created},
          {"updated", r.updated}, {"config", r.config}};
}

Json to_json(const CandidateRecord& c) {
  Json j = {{"id", c.id}, {"run", c.run_id}, {"step", c.step}, {"definition", c.definition}, {"name", c.name},
            {"generator", c.generator}, {"parents", c.parents}, {"plan", c.plan}, {"content_hash", c.content_hash},
            {"state", c.state}, {"agent_seconds", optional_json(c.agent_seconds)},
            {"agent_exit", c.agent_exit ? Json(*c.agent_exit) : Json()}, {"eval_seconds", c.eval_seconds},
            {"created", c.created}};
  if (!c.files.empty()) {
    Json files = Json::array();
    for (const auto& f : c.files) files.push_back({{"path", f.path}, {"content", f.content}});
    j["files"] = files;
  }
  return j;
}

Json to_json(const EvaluationRecord& e) {
  return {{"stage", e.stage}, {"workload", e.workload}, {"shape_group", e.shape_group}, {"status", e.status},
          {"max_abs_error", optional_json(e.max_abs_error)}, {"max_rel_error", optional_json(e.max_rel_error)},
          {"matched_ratio", optional_json(e.matched_ratio)}, {"latency_us", optional_json(e.latency_us)},
          {"spread_us", optional_json(e.spread_us)}, {"stddev_us", optional_json(e.stddev_us)},
          {"reference_us", optional_json(e.reference_us)}, {"seed", e.seed ? Json(*e.seed) : Json()},
          {"environment", e.environment}, {"log", e.log}, {"created", e.created}};
}

Json to_json(const SummaryRecord& s) {
  return {{"tag", s.tag}, {"tag_group", s.tag_group}, {"stage", s.stage}, {"changed", s.changed},
          {"outcome", s.outcome}, {"latency_us", optional_json(s.latency_us)}, {"text", s.text}, {"created", s.created}};
}

Json to_json(const BestRecord& b) {
  return {{"definition", b.definition}, {"shape_group", b.shape_group}, {"candidate", b.candidate_id},
          {"latency_us", b.latency_us}, {"noise_us", b.noise_us}, {"updated", b.updated}};
}

Json to_json(const BestEvent& e) {
  return {{"id", e.id}, {"definition", e.definition}, {"shape_group", e.shape_group}, {"event", e.event},
          {"candidate", e.candidate_id}, {"previous", e.previous_id ? Json(*e.previous_id) : Json()},
          {"latency_us", e.latency_us}, {"previous_latency_us", optional_json(e.previous_latency_us)},
          {"noise_us", e.noise_us}, {"reason", e.reason}, {"run", e.run_id ? Json(*e.run_id) : Json()},
          {"created", e.created}};
}

Json to_json(const CandidateSummary& cs) {
  Json j = to_json(cs.candidate);
  j["summary"] = cs.summary ? to_json(*cs.summary) : Json();
  return j;
}

}  // namespace kforge::store
