// @brief From the evaluator's traces to the store's evaluation rows and back to the numbers the
// search decides on: passed timings, failure tags, per-group means.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/evaluator.h"
#include "search/noise_rule.h"
#include "search/shapes.h"
#include "store/records.h"

namespace kforge::search {

// One row per result (skipped workloads as status SKIPPED), with errors, timing spread, seed,
// environment, a capped log and the trace.
std::vector<store::EvaluationRecord> to_rows(const std::vector<WorkloadResult>& results, const std::string& stage,
                                             const ShapeGrouping& shapes);

// The failure tag of a status: compile_error, runtime_error, timeout, incorrect; "" for PASSED
// and SKIPPED.
std::string failure_tag(const std::string& status);

// The first row that is neither PASSED nor SKIPPED.
const store::EvaluationRecord* first_failure(const std::vector<store::EvaluationRecord>& rows);

// Timings of the PASSED rows, by workload.
Timings passed_timings(const std::vector<store::EvaluationRecord>& rows);

// Mean latency of the PASSED rows per shape group.
std::map<std::string, double> group_means(const std::vector<store::EvaluationRecord>& rows);

// The rows' timings restricted to one shape group.
Timings group_timings(const std::vector<store::EvaluationRecord>& rows, const std::string& group);

// The line of a log that says most: the first mentioning an error (compiler command lines,
// "$ c++ ...", skipped), else the first non-empty one.
std::string headline(const std::string& log);

// "INCORRECT_NUMERICAL on a5714b69 (batch_size 1): <headline>", then the log's head.
std::string failure_message(const store::EvaluationRecord& failed);

// The first lines of a log, at most `max_lines` lines and `max_chars` characters.
std::string log_head(const std::string& log, int max_lines = 20, std::size_t max_chars = 2000);

}  // namespace kforge::search
