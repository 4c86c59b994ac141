#include "search/retrieval.h"

#include <algorithm>
#include <map>

#include "search/source_text.h"

namespace kforge::search {

namespace {

bool concerns(const store::SummaryRecord& s, const std::string& group) {
  if (group.empty()) return false;
  if (!s.tag.empty()) return s.tag_group == group;
  if (!s.outcome.is_object() || !s.outcome.contains("group_best")) return false;
  const Json& g = s.outcome["group_best"];
  return std::find(g.begin(), g.end(), Json(group)) != g.end();
}

}  // namespace

std::vector<Retrieved> retrieve_similar(const std::vector<PastAttempt>& attempts, const RetrievalQuery& query) {
  const auto parent_tokens = code_tokens(query.parent_source);
  std::vector<Retrieved> successes, failures;
  for (const auto& a : attempts) {
    const auto& s = a.attempt.summary;
    if (!s || a.attempt.candidate.id == query.exclude_id || s->tag == "no_change") continue;
    Retrieved r;
    r.attempt = &a;
    r.success = s->tag.empty();
    r.similarity = jaccard(parent_tokens, code_tokens(a.source));
    r.score = r.similarity + (concerns(*s, query.focus_group) ? 0.3 : 0.0);
    (r.success ? successes : failures).push_back(r);
  }
  auto by_score = [](const Retrieved& x, const Retrieved& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.attempt->attempt.candidate.id > y.attempt->attempt.candidate.id;
  };
  std::sort(successes.begin(), successes.end(), by_score);
  if (successes.size() > static_cast<std::size_t>(query.successes)) successes.resize(static_cast<std::size_t>(query.successes));

  std::vector<Retrieved> out = successes;
  std::map<std::string, int> tags_taken;
  for (int k = 0; k < query.failures && !failures.empty(); ++k) {
    auto adjusted = [&](const Retrieved& r) { return r.score - 0.25 * tags_taken[r.attempt->attempt.summary->tag]; };
    auto pick = std::max_element(failures.begin(), failures.end(), [&](const Retrieved& x, const Retrieved& y) {
      if (adjusted(x) != adjusted(y)) return adjusted(x) < adjusted(y);
      return x.attempt->attempt.candidate.id < y.attempt->attempt.candidate.id;
    });
    ++tags_taken[pick->attempt->attempt.summary->tag];
    out.push_back(*pick);
    failures.erase(pick);
  }
  return out;
}

}  // namespace kforge::search
