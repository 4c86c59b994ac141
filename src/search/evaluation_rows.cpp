#include "search/evaluation_rows.h"

#include <algorithm>
#include <cctype>

namespace kforge::search {

namespace {

constexpr std::size_t kRowLogChars = 16 << 10;  // a row keeps the head and tail of long logs

std::string cap(const std::string& s) {
  if (s.size() <= kRowLogChars) return s;
  return s.substr(0, kRowLogChars / 2) + "\n[... log truncated ...]\n" + s.substr(s.size() - kRowLogChars / 2);
}

std::optional<double> json_number(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

}  // namespace

std::vector<store::EvaluationRecord> to_rows(const std::vector<WorkloadResult>& results, const std::string& stage,
                                             const ShapeGrouping& shapes) {
  std::vector<store::EvaluationRecord> rows;
  for (const auto& r : results) {
    store::EvaluationRecord row;
    row.stage = stage;
    row.workload = r.trace.workload.uuid;
    row.shape_group = shapes.group_of(row.workload);
    row.created = store::utc_now();
    if (r.skipped || !r.trace.evaluation) {
      row.status = "SKIPPED";
      row.log = r.skip_reason;
      rows.push_back(std::move(row));
      continue;
    }
    const Evaluation& e = *r.trace.evaluation;
    row.status = std::string(status_name(e.status));
    if (e.correctness) {
      row.max_abs_error = e.correctness->max_absolute_error;
      row.max_rel_error = e.correctness->max_relative_error;
      row.matched_ratio = json_number(e.correctness->extra, "matched_ratio");
    }
    if (e.performance) {
      row.latency_us = e.performance->latency_ms * 1e3;
      row.reference_us = e.performance->reference_latency_ms * 1e3;
    }
    if (e.kforge.is_object()) {
      if (e.kforge.contains("timing")) {
        row.spread_us = json_number(e.kforge["timing"], "spread_us");
        row.stddev_us = json_number(e.kforge["timing"], "stddev_us");
      }
      if (e.kforge.contains("seeds") && e.kforge["seeds"].contains("trials") && !e.kforge["seeds"]["trials"].empty()) {
        row.seed = e.kforge["seeds"]["trials"][0].get<std::int64_t>();
      }
    }
    Json trace = to_json(r.trace);
    row.environment = trace["evaluation"]["environment"];
    if (e.kforge.is_object() && e.kforge.contains("environment")) row.environment["kforge"] = e.kforge["environment"];
    row.log = cap(e.log);
    trace["evaluation"]["log"] = row.log;
    row.trace = std::move(trace);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string failure_tag(const std::string& status) {
  if (status == "COMPILE_ERROR") return "compile_error";
  if (status == "RUNTIME_ERROR") return "runtime_error";
  if (status == "TIMEOUT") return "timeout";
  if (status.rfind("INCORRECT", 0) == 0) return "incorrect";
  return "";
}

const store::EvaluationRecord* first_failure(const std::vector<store::EvaluationRecord>& rows) {
  for (const auto& r : rows) {
    if (r.status != "PASSED" && r.status != "SKIPPED") return &r;
  }
  return nullptr;
}

Timings passed_timings(const std::vector<store::EvaluationRecord>& rows) {
  Timings t;
  for (const auto& r : rows) {
    if (r.status == "PASSED" && r.latency_us) t[r.workload] = {*r.latency_us, r.spread_us.value_or(0)};
  }
  return t;
}

std::map<std::string, double> group_means(const std::vector<store::EvaluationRecord>& rows) {
  std::map<std::string, std::pair<double, int>> acc;
  for (const auto& r : rows) {
    if (r.status != "PASSED" || !r.latency_us) continue;
    acc[r.shape_group].first += *r.latency_us;
    ++acc[r.shape_group].second;
  }
  std::map<std::string, double> out;
  for (const auto& [g, sn] : acc) out[g] = sn.first / sn.second;
  return out;
}

Timings group_timings(const std::vector<store::EvaluationRecord>& rows, const std::string& group) {
  Timings t;
  for (const auto& r : rows) {
    if (r.shape_group == group && r.status == "PASSED" && r.latency_us) t[r.workload] = {*r.latency_us, r.spread_us.value_or(0)};
  }
  return t;
}

std::string headline(const std::string& log) {
  std::string first;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.rfind("$ ", 0) == 0) continue;
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.find("error") != std::string::npos) return line;
    if (first.empty()) first = line;
  }
  return first;
}

std::string failure_message(const store::EvaluationRecord& failed) {
  return failed.status + " on " + failed.workload.substr(0, 8) + " (" + failed.shape_group + "): " + headline(failed.log) +
         "\n" + log_head(failed.log);
}

std::string log_head(const std::string& log, int max_lines, std::size_t max_chars) {
  std::string out;
  int lines = 0;
  for (char c : log) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    out += c;
    if (c == '\n' && ++lines >= max_lines) break;
  }
  return out;
}

}  // namespace kforge::search
