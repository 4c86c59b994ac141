// @brief Memory for the next task: the earlier attempts on a definition most worth reading,
// successes and failures, chosen by code similarity, shape group and failure tag.
//
// Score of an attempt (only the definition's own attempts are candidates):
//   similarity  token-set Jaccard of its sources and the parent's (identifiers and numbers,
//               comments and literals excluded): attempts on code like the parent's teach most;
//   + 0.3       when it concerns the focus group (a success that became best on it, a failure
//               seen on it);
// Failures are then picked greedily with 0.25 taken off per failure already picked with the
// same tag, so three compile errors do not crowd out the one wrong result. Ties: newest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/records.h"

namespace kforge::search {

struct PastAttempt {
  store::CandidateSummary attempt;  // with its summary
  std::string source;               // its files, concatenated
};

struct RetrievalQuery {
  std::string parent_source;
  std::string focus_group;
  std::int64_t exclude_id = 0;  // the parent itself
  int successes = 2;
  int failures = 3;
};

struct Retrieved {
  const PastAttempt* attempt = nullptr;
  bool success = false;
  double similarity = 0;
  double score = 0;
};

// Successes first (best score first), then failures in pick order.
std::vector<Retrieved> retrieve_similar(const std::vector<PastAttempt>& attempts, const RetrievalQuery& query);

}  // namespace kforge::search
