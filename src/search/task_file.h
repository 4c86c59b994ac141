// @brief TASK.md, what an agent reads at each step: the operator's meaning (its description and
// reference code), the shape groups with the parent's numbers and roofline gaps, the parent,
// the evaluator's last errors, the most similar earlier attempts, and how to check a draft.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "search/retrieval.h"
#include "trace/definition.h"

namespace kforge::search {

struct GroupNumbers {
  std::string group;
  int workloads = 0;
  std::string representative;       // "3daa0974 batch_size=4"
  std::optional<double> parent_us;  // the parent's mean on the group
  std::optional<double> best_us;    // the group's best
  std::optional<double> floor_us;   // roofline floor of the representative(s)
};

struct ErrorNote {
  std::int64_t candidate_id = 0;
  std::string tag, group, stage;
  std::string text;  // the failing log's head
};

struct TaskInputs {
  const Definition* definition = nullptr;
  std::string device;  // the roofline preset the floors are for
  std::vector<GroupNumbers> groups;
  std::int64_t parent_id = 0;
  std::string parent_name, parent_why, parent_summary;
  std::string focus_group;
  std::vector<std::string> files;  // the solution's sources, under solution/
  std::vector<ErrorNote> last_errors;
  std::vector<Retrieved> similar;
  std::string eval_command;
  int step = 0;
};

std::string render_task(const TaskInputs& in);

}  // namespace kforge::search
