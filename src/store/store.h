// @brief The search loop's persistent record: one SQLite file (WAL, foreign keys, migrated to
// the newest schema on open). Every write that must be whole is one transaction, so killing the
// process at any point loses at most the candidate being evaluated (left `pending`, resumable).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/sqlite.h"

namespace kforge::store {

// $KFORGE_DB when set, else runs/kforge.db: where `kforge search`, `db` and `report` look.
std::filesystem::path default_store_file();

class Store {
 public:
  explicit Store(const std::filesystem::path& file);

  const std::filesystem::path& file() const { return m_db.file(); }
  SqliteDb& db() { return m_db; }

  // --- writes ---
  std::int64_t create_run(const RunRecord& run);
  // Sets status (finished) and the reason the run stopped.
  void finish_run(std::int64_t run_id, const std::string& reason);
  // Marks a finished run as running again (resume).
  void reopen_run(std::int64_t run_id);
  // Candidate, parents and files in one transaction; state pending. Returns the new id.
  std::int64_t add_candidate(const CandidateRecord& c);
  // One stage's rows, in one transaction.
  void add_evaluations(std::int64_t candidate_id, const std::vector<EvaluationRecord>& rows);
  // Summary, state done, evaluation time and any changes of the best, in one transaction: a
  // candidate is either pending or complete with everything it caused.
  void complete_candidate(std::int64_t candidate_id, const SummaryRecord& summary, double eval_seconds,
                          const std::vector<BestEvent>& best_changes = {});
  // Replaces a completed candidate's summary (a tuner trial measured again at a higher rung),
  // adds to its evaluation time and applies any changes of the best, in one transaction.
  void update_summary(std::int64_t candidate_id, const SummaryRecord& summary, double extra_eval_seconds = 0,
                      const std::vector<BestEvent>& best_changes = {});
  // A change of the best outside a candidate's completion (a rollback after a regression
  // check): the best row and its history entry, in one transaction.
  void record_best_change(const BestEvent& e, const std::vector<EvaluationRecord>& evidence = {},
                          std::int64_t evidence_candidate = 0);
  // Drops the evaluations of a pending candidate, so a resumed run evaluates it afresh.
  void discard_partial(std::int64_t candidate_id);

  // --- reads ---
  std::optional<RunRecord> run(std::int64_t id);
  std::vector<RunRecord> runs();
  // With files and parents; nullopt when absent.
  std::optional<CandidateRecord> candidate(std::int64_t id);
  // The run's candidates by step (files left empty), with summaries.
  std::vector<CandidateSummary> run_candidates(std::int64_t run_id);
  // Every completed candidate of a definition (all runs), newest first, at most `limit`.
  std::vector<CandidateSummary> definition_candidates(const std::string& definition, int limit = 500);
  std::vector<SourceFileRecord> files(std::int64_t candidate_id);
  // From the root to `id`, following each candidate's first parent.
  std::vector<CandidateSummary> lineage(std::int64_t id);
  std::vector<EvaluationRecord> evaluations(std::int64_t candidate_id, const std::string& stage = "");
  std::optional<SummaryRecord> summary(std::int64_t candidate_id);
  // The run's first candidate from `generator` with this content, if any (a trial replayed
  // on resume).
  std::optional<std::int64_t> find_in_run(std::int64_t run_id, const std::string& content_hash,
                                          const std::string& generator);
  std::optional<BestRecord> best(const std::string& definition, const std::string& shape_group = "");
  // Every best row of a definition ("" first), or of all definitions when `definition` is empty.
  std::vector<BestRecord> bests(const std::string& definition = "");
  std::vector<BestEvent> best_history(const std::string& definition = "");
  // Completed candidates whose summary carries `tag` (any failure tag when empty), newest first.
  std::vector<CandidateSummary> failures(const std::string& tag = "", std::optional<std::int64_t> run_id = {});
  // "ok" when SQLite's integrity check passes, else its first message.
  std::string integrity_check();

 private:
  SqliteDb m_db;
};

}  // namespace kforge::store
