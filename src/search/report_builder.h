// @brief Fills the report's data (report/report_data.h) from the search store: per definition
// the trajectory of candidates, the changes of the best, a leaderboard and the lineage of the
// best. The trajectory is in the representatives' latencies (what every candidate that passed
// the quick gate was timed on); the leaderboard in the mean over every workload (full gate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "report/report_data.h"
#include "store/store.h"

namespace kforge::search {

struct ReportOptions {
  std::optional<std::int64_t> run;  // only this run (default: every run)
  std::string definition;           // only this definition (default: every one searched)
  std::string title = "kforge search report";
  std::size_t leaderboard_rows = 10;
};

report::ReportData build_report(store::Store& store, const ReportOptions& options);

}  // namespace kforge::search
