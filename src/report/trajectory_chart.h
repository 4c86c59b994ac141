// @brief The trajectory chart of one definition: inline SVG (no script, no external resource)
// and the HTML legend that goes with it.
#pragma once

#include <string>

#include "report/report_data.h"

namespace kforge::report {

// x: trajectory position; y: latency in us (log scale when the range is wide). Each passing
// candidate with a latency is a dot (class "dot"); every other candidate is a mark on the strip
// below the plot (class "fail") colored by its failure tag; the running best is a step line
// (class "best") with rollbacks circled; the baseline a dashed line (class "baseline"). Each
// mark carries a <title> (the browser's tooltip). Empty when the definition has no candidates.
std::string trajectory_svg(const DefinitionReport& def);

// The legend: the mark kinds present in the chart and one entry per failure tag on the strip,
// with its count.
std::string trajectory_legend(const DefinitionReport& def);

// Whether the candidate is drawn as a dot (passed, with a positive latency).
bool is_dot(const CandidatePoint& c);

}  // namespace kforge::report
