// Shared by the search's unit tests (search_cascade_test, search_promotion_test, search_loop_test):
// a Judge that builds and runs nothing. A solution's behaviour is read from markers in its sources:
//   LATENCY <us>          its latency on every workload (default 100), spread 1% of it
//   LATENCY_ON <prefix> <us>  its latency on the workloads whose uuid starts with <prefix>
//   BROKEN                the build fails ("k.cpp:1:1: error: BROKEN")
//   WRONG_ON <prefix>     INCORRECT_NUMERICAL on the workloads whose uuid starts with <prefix>
//   WRONG_AT_VERIFY       INCORRECT_NUMERICAL on every workload of the verify stage only
//   SKIP                  every workload skipped
// The first workload of the search fixture is 901e5104 (batch 1), the others a5714b69 (batch 1)
// and 5ea4c400 (batch 2).
// `adjust` may change a latency per (solution, stage), e.g. to make the best slow at a regression check.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "search/judge.h"
#include "search/shapes.h"
#include "trace/dataset.h"

namespace kforge::test_support {

inline std::string marker_value(const Solution& s, const std::string& marker) {
  for (const auto& src : s.sources) {
    const auto at = src.content.find(marker);
    if (at == std::string::npos) continue;
    const auto start = at + marker.size();
    const auto end = src.content.find_first_of(" \n", start + 1);
    return src.content.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  return "";
}

inline bool has_marker(const Solution& s, const std::string& marker) {
  for (const auto& src : s.sources) {
    if (src.content.find(marker) != std::string::npos) return true;
  }
  return false;
}

class FakeJudge : public search::Judge {
 public:
  std::function<double(const Solution&, search::Stage, double)> adjust;
  int builds = 0;
  std::vector<std::pair<std::string, search::Stage>> calls;  // (solution name, stage)

  BuildResult build(const Solution& s) override {
    ++builds;
    BuildResult b;
    b.ok = !has_marker(s, "BROKEN");
    b.log = b.ok ? "" : "$ c++ -O3 k.cpp\nk.cpp:1:1: error: BROKEN\n";
    return b;
  }

  std::vector<WorkloadResult> evaluate(const SolutionDir& sd, const std::vector<const Located<Trace>*>& workloads,
                                       search::Stage stage, std::uint64_t seed) override {
    calls.emplace_back(sd.solution.name, stage);
    const std::string lat = marker_value(sd.solution, "LATENCY ");
    const double base_us = lat.empty() ? 100.0 : std::stod(lat);
    const std::string on_prefix = marker_value(sd.solution, "LATENCY_ON ");
    const std::string on_us = on_prefix.empty() ? "" : marker_value(sd.solution, "LATENCY_ON " + on_prefix + " ");
    const std::string wrong_on = marker_value(sd.solution, "WRONG_ON ");
    std::vector<WorkloadResult> out;
    for (const auto* w : workloads) {
      double us = !on_prefix.empty() && w->value.workload.uuid.rfind(on_prefix, 0) == 0 ? std::stod(on_us) : base_us;
      if (adjust) us = adjust(sd.solution, stage, us);
      WorkloadResult r;
      r.trace.definition = w->value.definition;
      r.trace.workload = w->value.workload;
      r.trace.solution = sd.solution.name;
      if (has_marker(sd.solution, "SKIP")) {
        r.skipped = true;
        r.skip_reason = "skipped by the fake";
        out.push_back(r);
        continue;
      }
      Evaluation& ev = r.trace.evaluation.emplace();
      ev.timestamp = "2026-11-24T00:00:00";
      ev.environment.hardware = "fake";
      const bool wrong = (!wrong_on.empty() && w->value.workload.uuid.rfind(wrong_on, 0) == 0) ||
                         (stage == search::Stage::kVerify && has_marker(sd.solution, "WRONG_AT_VERIFY"));
      ev.kforge = {{"seeds", {{"trials", {seed}}}}};
      if (wrong) {
        ev.status = EvalStatus::kIncorrectNumerical;
        ev.correctness = Correctness{1, 1, Json{{"matched_ratio", 0.5}}, {}};
        ev.log = "trial_0 (seed " + std::to_string(seed) + "): INCORRECT_NUMERICAL: output 'o' differs\n";
      } else {
        ev.status = EvalStatus::kPassed;
        ev.correctness = Correctness{0, 0, Json{{"matched_ratio", 1.0}}, {}};
        ev.performance = Performance{us / 1e3, 1.0, 1e3 / us, {}};
        ev.kforge["timing"] = {{"spread_us", us / 100}, {"stddev_us", us / 200}};
      }
      out.push_back(r);
    }
    return out;
  }
};

// tests/search/fixtures/dataset: three gdn_decode workloads (batch sizes 1, 1, 2: two shape groups).
inline const Dataset& search_fixture() {
  static const Dataset ds = load_dataset(std::filesystem::path(KFORGE_SOURCE_DIR) / "tests/search/fixtures/dataset");
  return ds;
}
inline const std::string kSearchDefinition = "gdn_decode_qk4_v8_d128_k_last";

// The fixture's shape groups (batch_size 1: two workloads; batch_size 2: one).
inline search::ShapeGrouping search_fixture_shapes() {
  return search::group_workloads(search_fixture().definition(kSearchDefinition)->value,
                                 search_fixture().workloads_of(kSearchDefinition));
}

// A cpp solution of the definition whose one source is `source`.
inline SolutionDir fake_solution(const std::string& name, const std::string& definition, const std::string& source) {
  Solution s;
  s.name = name;
  s.definition = definition;
  s.author = "test";
  s.spec.language = "cpp";
  s.spec.target_hardware = {"cpu"};
  s.spec.entry_point = "k.cpp::run";
  s.sources = {{"k.cpp", source, {}}};
  return {"", s};
}

}  // namespace kforge::test_support
