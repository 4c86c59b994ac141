// @brief The search report as one self-contained HTML page: inline CSS and SVG, no script, no
// external resource, readable offline and with JavaScript disabled.
#pragma once

#include <string>

#include "report/report_data.h"

namespace kforge::report {

// Per definition: a summary line, the trajectory chart with its legend, the leaderboard, the
// lineage of the best (root to best, with latency, change and summary) and the failure tags per
// window of trajectory positions. Every text from the data is escaped. Definitions without
// candidates, and a report without definitions, render as short notes.
std::string render_html(const ReportData& data);

}  // namespace kforge::report
