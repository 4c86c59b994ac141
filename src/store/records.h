// @brief The rows of the search store as plain structs: runs, candidates and their files,
// per-workload evaluations, summaries, and the best per definition and shape group with its
// history. Schema: store/migrations.cpp; design: docs/search-loop.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/json_fields.h"

namespace kforge::store {

struct RunRecord {
  std::int64_t id = 0;
  std::string definition;
  std::string generator;  // agent | tune
  Json config;            // the options the run was started with (resume reads them back)
  std::uint64_t seed = 0;
  Json budget;            // {"max_candidates", "eval_minutes", "agent_minutes", ...}
  std::string status = "running";  // running | finished
  std::string stop_reason;
  std::string created, updated;
};

struct SourceFileRecord {
  std::string path;
  std::string content;
};

struct CandidateRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  int step = 0;  // 0: the run's seed solution; the generator's proposals from 1
  std::string definition;
  std::string name;        // the solution's name
  std::string generator;   // seed | agent | tune
  std::vector<std::int64_t> parents;  // the first is the one it was derived from
  std::string plan;        // the generator's intent (an agent's PLAN.md, a tuner configuration)
  std::string content_hash;
  Json solution;           // solution.json with the sources' contents left out (they are `files`)
  std::vector<SourceFileRecord> files;
  std::string state = "pending";  // pending (in flight) | done (summarized)
  std::optional<double> agent_seconds;
  std::optional<int> agent_exit;
  double eval_seconds = 0;
  std::string created;
};

// One workload of one cascade stage.
struct EvaluationRecord {
  std::int64_t id = 0;
  std::int64_t candidate_id = 0;
  std::string stage;        // quick | timing | full | verify | regression | rung<N>
  std::string workload;     // uuid
  std::string shape_group;  // label from search/shapes.h
  std::string status;       // FlashInfer-Bench status, or SKIPPED
  std::optional<double> max_abs_error, max_rel_error, matched_ratio;
  std::optional<double> latency_us;    // mean of the timing trials' medians
  std::optional<double> spread_us;     // max - min of those medians: the measured noise
  std::optional<double> stddev_us;
  std::optional<double> reference_us;
  std::optional<std::int64_t> seed;    // first correctness seed
  Json environment;                    // null or the trace's environment
  std::string log;
  Json trace;                          // null or the whole FlashInfer-Bench trace
  std::string created;
};

// What a candidate's evaluation taught: kept for the report and for retrieval into later tasks.
struct SummaryRecord {
  std::int64_t candidate_id = 0;
  // "" (no failure: promoted, or kept as an elite) or one of: scan, compile_error, runtime_error,
  // timeout, incorrect, slower, no_change.
  std::string tag;
  std::string tag_group;  // the shape group an `incorrect` (or a failure) was seen on
  std::string stage;      // the furthest cascade stage reached
  std::string changed;    // what changed from the parent
  Json outcome;           // per shape group: {"status", "latency_us", "best_us"}
  std::optional<double> latency_us;  // mean over the representatives, when timed
  std::string text;       // one readable paragraph
  std::string created;
};

struct BestRecord {
  std::string definition;
  std::string shape_group;  // "" for the definition as a whole
  std::int64_t candidate_id = 0;
  double latency_us = 0;
  double noise_us = 0;
  std::string updated;
};

struct BestEvent {
  std::int64_t id = 0;
  std::string definition;
  std::string shape_group;
  std::string event;  // promote | rollback
  std::int64_t candidate_id = 0;             // the best after the event
  std::optional<std::int64_t> previous_id;   // the best before it
  double latency_us = 0;
  std::optional<double> previous_latency_us;
  double noise_us = 0;
  std::string reason;
  std::optional<std::int64_t> run_id;
  std::string created;
};

// A candidate with its summary (when done), as lists and retrieval need them.
struct CandidateSummary {
  CandidateRecord candidate;  // files left empty
  std::optional<SummaryRecord> summary;
};

// "2026-11-24T10:31:02.123Z"
std::string utc_now();

// JSON forms for `kforge db --json` (candidate files included only when the record has them).
Json to_json(const RunRecord& r);
Json to_json(const CandidateRecord& c);
Json to_json(const EvaluationRecord& e);  // without the trace
Json to_json(const SummaryRecord& s);
Json to_json(const BestRecord& b);
Json to_json(const BestEvent& e);
Json to_json(const CandidateSummary& cs);

}  // namespace kforge::store
