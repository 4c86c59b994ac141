#include "store/store.h"

#include <cstdlib>

#include "core/error.h"
#include "store/migrations.h"

namespace kforge::store {

namespace {

Json parse_json_column(const std::string& text) { return text.empty() ? Json() : Json::parse(text); }
std::string json_text(const Json& j) { return j.is_null() ? std::string() : j.dump(); }

constexpr const char* kCandidateColumns =
    "c.id, c.run_id, c.step, c.definition, c.name, c.generator, c.plan, c.content_hash, c.solution, c.state, "
    "c.agent_seconds, c.agent_exit, c.eval_seconds, c.created";
constexpr const char* kSummaryColumns =
    "s.candidate_id, s.tag, s.tag_group, s.stage, s.changed, s.outcome, s.latency_us, s.text, s.created";

CandidateRecord read_candidate(const Statement& st, int col = 0) {
  CandidateRecord c;
  c.id = st.int64(col);
  c.run_id = st.int64(col + 1);
  c.step = static_cast<int>(st.int64(col + 2));
  c.definition = st.text(col + 3);
  c.name = st.text(col + 4);
  c.generator = st.text(col + 5);
  c.plan = st.text(col + 6);
  c.content_hash = st.text(col + 7);
  c.solution = parse_json_column(st.text(col + 8));
  c.state = st.text(col + 9);
  c.agent_seconds = st.optional_real(col + 10);
  if (auto e = st.optional_int64(col + 11)) c.agent_exit = static_cast<int>(*e);
  c.eval_seconds = st.real(col + 12);
  c.created = st.text(col + 13);
  return c;
}
constexpr int kCandidateColumnCount = 14;

std::optional<SummaryRecord> read_summary(const Statement& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  SummaryRecord s;
  s.candidate_id = st.int64(col);
  s.tag = st.text(col + 1);
  s.tag_group = st.text(col + 2);
  s.stage = st.text(col + 3);
  s.changed = st.text(col + 4);
  s.outcome = parse_json_column(st.text(col + 5));
  s.latency_us = st.optional_real(col + 6);
  s.text = st.text(col + 7);
  s.created = st.text(col + 8);
  return s;
}

RunRecord read_run(const Statement& st) {
  RunRecord r;
  r.id = st.int64(0);
  r.definition = st.text(1);
  r.generator = st.text(2);
  r.config = parse_json_column(st.text(3));
  r.seed = static_cast<std::uint64_t>(st.int64(4));
  r.budget = parse_json_column(st.text(5));
  r.status = st.text(6);
  r.stop_reason = st.text(7);
  r.created = st.text(8);
  r.updated = st.text(9);
  return r;
}
constexpr const char* kRunColumns = "id, definition, generator, config, seed, budget, status, stop_reason, created, updated";

BestEvent read_event(const Statement& st) {
  BestEvent e;
  e.id = st.int64(0);
  e.definition = st.text(1);
  e.shape_group = st.text(2);
  e.event = st.text(3);
  e.candidate_id = st.int64(4);
  e.previous_id = st.optional_int64(5);
  e.latency_us = st.real(6);
  e.previous_latency_us = st.optional_real(7);
  e.noise_us = st.real(8);
  e.reason = st.text(9);
  e.run_id = st.optional_int64(10);
  e.created = st.text(11);
  return e;
}

void insert_evaluations(SqliteDb& db, std::int64_t candidate_id, const std::vector<EvaluationRecord>& rows) {
  auto st = db.prepare(
      "INSERT INTO evaluations (candidate_id, stage, workload, shape_group, status, max_abs_error, max_rel_error, "
      "matched_ratio, latency_us, spread_us, stddev_us, reference_us, seed, environment, log, created, trace) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  for (const auto& r : rows) {
    st.reset();
    st.bind(1, candidate_id).bind(2, r.stage).bind(3, r.workload).bind(4, r.shape_group).bind(5, r.status);
    st.bind(6, r.max_abs_error).bind(7, r.max_rel_error).bind(8, r.matched_ratio).bind(9, r.latency_us);
    st.bind(10, r.spread_us).bind(11, r.stddev_us).bind(12, r.reference_us).bind(13, r.seed);
    if (r.environment.is_null()) {
      st.bind_null(14);
    } else {
      st.bind(14, json_text(r.environment));
    }
    st.bind(15, r.log).bind(16, r.created.empty() ? utc_now() : r.created);
    if (r.trace.is_null()) {
      st.bind_null(17);
    } else {
      st.bind(17, json_text(r.trace));
    }
    st.run();
  }
}

void apply_best_event(SqliteDb& db, const BestEvent& e) {
  const std::string now = e.created.empty() ? utc_now() : e.created;
  db.prepare(
        "INSERT INTO best (definition, shape_group, candidate_id, latency_us, noise_us, updated) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (definition, shape_group) DO UPDATE SET candidate_id = excluded.candidate_id, "
        "latency_us = excluded.latency_us, noise_us = excluded.noise_us, updated = excluded.updated")
      .bind(1, e.definition)
      .bind(2, e.shape_group)
      .bind(3, e.candidate_id)
      .bind(4, e.latency_us)
      .bind(5, e.noise_us)
      .bind(6, now)
      .run();
  db.prepare(
        "INSERT INTO best_history (definition, shape_group, event, candidate_id, previous_id, latency_us, "
        "previous_latency_us, noise_us, reason, run_id, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
      .bind(1, e.definition)
      .bind(2, e.shape_group)
      .bind(3, e.event)
      .bind(4, e.candidate_id)
      .bind(5, e.previous_id)
      .bind(6, e.latency_us)
      .bind(7, e.previous_latency_us)
      .bind(8, e.noise_us)
      .bind(9, e.reason)
      .bind(10, e.run_id)
      .bind(11, now)
      .run();
}

// Binds ?1 (the candidate) and ?2..?8 (tag, tag_group, stage, changed, outcome, latency_us, text),
// the parameters the summary's insert and update share.
Statement& bind_summary(Statement&& st, std::int64_t candidate_id, const SummaryRecord& s) {
  return st.bind(1, candidate_id)
      .bind(2, s.tag)
      .bind(3, s.tag_group)
      .bind(4, s.stage)
      .bind(5, s.changed)
      .bind(6, s.outcome.is_null() ? std::string("{}") : s.outcome.dump())
      .bind(7, s.latency_us)
      .bind(8, s.text);
}

std::vector<CandidateSummary> read_candidate_summaries(Statement& st) {
  std::vector<CandidateSummary> out;
  while (st.step()) out.push_back({read_candidate(st), read_summary(st, kCandidateColumnCount)});
  return out;
}

std::string candidate_summary_query(const std::string& where_order) {
  return std::string("SELECT ") + kCandidateColumns + ", " + kSummaryColumns +
         " FROM candidates c LEFT JOIN summaries s ON s.candidate_id = c.id " + where_order;
}

}  // namespace

std::filesystem::path default_store_file() {
  if (const char* env = std::getenv("KFORGE_DB"); env && *env) return env;
  return std::filesystem::path("runs") / "kforge.db";
}

Store::Store(const std::filesystem::path& file) : m_db(file) { migrate(m_db); }

std::int64_t Store::create_run(const RunRecord& run) {
  const std::string now = utc_now();
  Transaction tx(m_db);
  m_db.prepare(
          "INSERT INTO runs (definition, generator, config, seed, budget, status, stop_reason, created, updated) "
          "VALUES (?1, ?2, ?3, ?4, ?5, 'running', '', ?6, ?6)")
      .bind(1, run.definition)
      .bind(2, run.generator)
      .bind(3, run.config.is_null() ? std::string("{}") : run.config.dump())
      .bind(4, static_cast<std::int64_t>(run.seed))
      .bind(5, run.budget.is_null() ? std::string("{}") : run.budget.dump())
      .bind(6, now)
      .run();
  const std::int64_t id = m_db.last_insert_id();
  tx.commit();
  return id;
}

void Store::finish_run(std::int64_t run_id, const std::string& reason) {
  m_db.prepare("UPDATE runs SET status = 'finished', stop_reason = ?2, updated = ?3 WHERE id = ?1")
      .bind(1, run_id)
      .bind(2, reason)
      .bind(3, utc_now())
      .run();
}

void Store::reopen_run(std::int64_t run_id) {
  m_db.prepare("UPDATE runs SET status = 'running', stop_reason = '', updated = ?2 WHERE id = ?1")
      .bind(1, run_id)
      .bind(2, utc_now())
      .run();
}

std::int64_t Store::add_candidate(const CandidateRecord& c) {
  Transaction tx(m_db);
  m_db.prepare(
          "INSERT INTO candidates (run_id, step, definition, name, generator, plan, content_hash, solution, state, "
          "agent_seconds, agent_exit, eval_seconds, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, "
          "?10, 0, ?11)")
      .bind(1, c.run_id)
      .bind(2, c.step)
      .bind(3, c.definition)
      .bind(4, c.name)
      .bind(5, c.generator)
      .bind(6, c.plan)
      .bind(7, c.content_hash)
      .bind(8, c.solution.dump())
      .bind(9, c.agent_seconds)
      .bind(10, c.agent_exit)
      .bind(11, c.created.empty() ? utc_now() : c.created)
      .run();
  const std::int64_t id = m_db.last_insert_id();
  auto parent = m_db.prepare("INSERT INTO candidate_parents (candidate_id, parent_id, rank) VALUES (?1, ?2, ?3)");
  for (std::size_t i = 0; i < c.parents.size(); ++i) {
    parent.reset();
    parent.bind(1, id).bind(2, c.parents[i]).bind(3, static_cast<std::int64_t>(i)).run();
  }
  auto file = m_db.prepare("INSERT INTO candidate_files (candidate_id, path, content) VALUES (?1, ?2, ?3)");
  for (const auto& f : c.files) {
    file.reset();
    file.bind(1, id).bind(2, f.path).bind(3, f.content).run();
  }
  tx.commit();
  return id;
}

void Store::add_evaluations(std::int64_t candidate_id, const std::vector<EvaluationRecord>& rows) {
  Transaction tx(m_db);
  insert_evaluations(m_db, candidate_id, rows);
  tx.commit();
}

void Store::complete_candidate(std::int64_t candidate_id, const SummaryRecord& s, double eval_seconds,
                               const std::vector<BestEvent>& best_changes) {
  Transaction tx(m_db);
  bind_summary(m_db.prepare("INSERT INTO summaries (candidate_id, tag, tag_group, stage, changed, outcome, latency_us, "
                            "text, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
               candidate_id, s)
      .bind(9, s.created.empty() ? utc_now() : s.created)
      .run();
  m_db.prepare("UPDATE candidates SET state = 'done', eval_seconds = ?2 WHERE id = ?1 AND state = 'pending'")
      .bind(1, candidate_id)
      .bind(2, eval_seconds)
      .run();
  if (m_db.changes() != 1) throw Error("candidate " + std::to_string(candidate_id) + " is not pending").at_file(file().string());
  for (const auto& e : best_changes) apply_best_event(m_db, e);
  tx.commit();
}

void Store::update_summary(std::int64_t candidate_id, const SummaryRecord& s, double extra_eval_seconds,
                           const std::vector<BestEvent>& best_changes) {
  Transaction tx(m_db);
  bind_summary(m_db.prepare("UPDATE summaries SET tag = ?2, tag_group = ?3, stage = ?4, changed = ?5, outcome = ?6, "
                            "latency_us = ?7, text = ?8 WHERE candidate_id = ?1"),
               candidate_id, s)
      .run();
  if (m_db.changes() != 1) throw Error("candidate " + std::to_string(candidate_id) + " has no summary").at_file(file().string());
  m_db.prepare("UPDATE candidates SET eval_seconds = eval_seconds + ?2 WHERE id = ?1")
      .bind(1, candidate_id)
      .bind(2, extra_eval_seconds)
      .run();
  for (const auto& e : best_changes) apply_best_event(m_db, e);
  tx.commit();
}

void Store::record_best_change(const BestEvent& e, const std::vector<EvaluationRecord>& evidence,
                               std::int64_t evidence_candidate) {
  Transaction tx(m_db);
  if (!evidence.empty()) insert_evaluations(m_db, evidence_candidate, evidence);
  apply_best_event(m_db, e);
  tx.commit();
}

void Store::discard_partial(std::int64_t candidate_id) {
  Transaction tx(m_db);
  auto st = m_db.prepare("SELECT state FROM candidates WHERE id = ?1");
  st.bind(1, candidate_id);
  if (!st.step() || st.text(0) != "pending") {
    throw Error("candidate " + std::to_string(candidate_id) + " is not pending").at_file(file().string());
  }
  m_db.prepare("DELETE FROM evaluations WHERE candidate_id = ?1").bind(1, candidate_id).run();
  tx.commit();
}

std::optional<RunRecord> Store::run(std::int64_t id) {
  auto st = m_db.prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_run(st);
}

std::vector<RunRecord> Store::runs() {
  auto st = m_db.prepare(std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id");
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

std::vector<SourceFileRecord> Store::files(std::int64_t candidate_id) {
  auto st = m_db.prepare("SELECT path, content FROM candidate_files WHERE candidate_id = ?1 ORDER BY path");
  st.bind(1, candidate_id);
  std::vector<SourceFileRecord> out;
  while (st.step()) out.push_back({st.text(0), st.text(1)});
  return out;
}

std::optional<CandidateRecord> Store::candidate(std::int64_t id) {
  auto st = m_db.prepare(std::string("SELECT ") + kCandidateColumns + " FROM candidates c WHERE c.id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  CandidateRecord c = read_candidate(st);
  auto parents = m_db.prepare("SELECT parent_id FROM candidate_parents WHERE candidate_id = ?1 ORDER BY rank");
  parents.bind(1, id);
  while (parents.step()) c.parents.push_back(parents.int64(0));
  c.files = files(id);
  return c;
}

std::vector<CandidateSummary> Store::run_candidates(std::int64_t run_id) {
  auto st = m_db.prepare(candidate_summary_query("WHERE c.run_id = ?1 ORDER BY c.step, c.id"));
  st.bind(1, run_id);
  auto out = read_candidate_summaries(st);
  auto parents = m_db.prepare("SELECT parent_id FROM candidate_parents WHERE candidate_id = ?1 ORDER BY rank");
  for (auto& cs : out) {
    parents.reset();
    parents.bind(1, cs.candidate.id);
    while (parents.step()) cs.candidate.parents.push_back(parents.int64(0));
  }
  return out;
}

std::vector<CandidateSummary> Store::definition_candidates(const std::string& definition, int limit) {
  auto st = m_db.prepare(
      candidate_summary_query("WHERE c.definition = ?1 AND c.state = 'done' ORDER BY c.id DESC LIMIT ?2"));
  st.bind(1, definition).bind(2, limit);
  return read_candidate_summaries(st);
}

std::vector<CandidateSummary> Store::lineage(std::int64_t id) {
  std::vector<CandidateSummary> chain;
  auto st = m_db.prepare(candidate_summary_query("WHERE c.id = ?1"));
  auto parent = m_db.prepare("SELECT parent_id FROM candidate_parents WHERE candidate_id = ?1 AND rank = 0");
  std::optional<std::int64_t> next = id;
  while (next) {
    st.reset();
    st.bind(1, *next);
    if (!st.step()) {
      if (chain.empty()) throw Error("no candidate " + std::to_string(id)).at_file(file().string());
      break;
    }
    chain.push_back({read_candidate(st), read_summary(st, kCandidateColumnCount)});
    parent.reset();
    parent.bind(1, *next);
    next.reset();
    if (parent.step()) next = parent.int64(0);
    if (chain.size() > 100000) throw Error("candidate lineage has a cycle").at_file(file().string());
  }
  return {chain.rbegin(), chain.rend()};
}

std::vector<EvaluationRecord> Store::evaluations(std::int64_t candidate_id, const std::string& stage) {
  auto st = m_db.prepare(
      "SELECT id, candidate_id, stage, workload, shape_group, status, max_abs_error, max_rel_error, matched_ratio, "
      "latency_us, spread_us, stddev_us, reference_us, seed, environment, log, trace, created FROM evaluations "
      "WHERE candidate_id = ?1 AND (?2 = '' OR stage = ?2) ORDER BY id");
  st.bind(1, candidate_id).bind(2, stage);
  std::vector<EvaluationRecord> out;
  while (st.step()) {
    EvaluationRecord r;
    r.id = st.int64(0);
    r.candidate_id = st.int64(1);
    r.stage = st.text(2);
    r.workload = st.text(3);
    r.shape_group = st.text(4);
    r.status = st.text(5);
    r.max_abs_error = st.optional_real(6);
    r.max_rel_error = st.optional_real(7);
    r.matched_ratio = st.optional_real(8);
    r.latency_us = st.optional_real(9);
    r.spread_us = st.optional_real(10);
    r.stddev_us = st.optional_real(11);
    r.reference_us = st.optional_real(12);
    r.seed = st.optional_int64(13);
    r.environment = parse_json_column(st.text(14));
    r.log = st.text(15);
    r.trace = parse_json_column(st.text(16));
    r.created = st.text(17);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<SummaryRecord> Store::summary(std::int64_t candidate_id) {
  auto st = m_db.prepare(std::string("SELECT ") + kSummaryColumns + " FROM summaries s WHERE s.candidate_id = ?1");
  st.bind(1, candidate_id);
  if (!st.step()) return std::nullopt;
  return read_summary(st, 0);
}

std::optional<std::int64_t> Store::find_in_run(std::int64_t run_id, const std::string& content_hash,
                                               const std::string& generator) {
  auto st = m_db.prepare(
      "SELECT id FROM candidates WHERE run_id = ?1 AND content_hash = ?2 AND generator = ?3 ORDER BY id LIMIT 1");
  st.bind(1, run_id).bind(2, content_hash).bind(3, generator);
  if (!st.step()) return std::nullopt;
  return st.int64(0);
}

std::optional<BestRecord> Store::best(const std::string& definition, const std::string& shape_group) {
  auto st = m_db.prepare(
      "SELECT definition, shape_group, candidate_id, latency_us, noise_us, updated FROM best WHERE definition = ?1 AND "
      "shape_group = ?2");
  st.bind(1, definition).bind(2, shape_group);
  if (!st.step()) return std::nullopt;
  return BestRecord{st.text(0), st.text(1), st.int64(2), st.real(3), st.real(4), st.text(5)};
}

std::vector<BestRecord> Store::bests(const std::string& definition) {
  auto st = m_db.prepare(
      "SELECT definition, shape_group, candidate_id, latency_us, noise_us, updated FROM best WHERE (?1 = '' OR "
      "definition = ?1) ORDER BY definition, shape_group");
  st.bind(1, definition);
  std::vector<BestRecord> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.int64(2), st.real(3), st.real(4), st.text(5)});
  return out;
}

std::vector<BestEvent> Store::best_history(const std::string& definition) {
  auto st = m_db.prepare(
      "SELECT id, definition, shape_group, event, candidate_id, previous_id, latency_us, previous_latency_us, "
      "noise_us, reason, run_id, created FROM best_history WHERE (?1 = '' OR definition = ?1) ORDER BY id");
  st.bind(1, definition);
  std::vector<BestEvent> out;
  while (st.step()) out.push_back(read_event(st));
  return out;
}

std::vector<CandidateSummary> Store::failures(const std::string& tag, std::optional<std::int64_t> run_id) {
  auto st = m_db.prepare(candidate_summary_query(
      "WHERE s.tag != '' AND (?1 = '' OR s.tag = ?1) AND (?2 IS NULL OR c.run_id = ?2) ORDER BY c.id DESC"));
  st.bind(1, tag).bind(2, run_id);
  return read_candidate_summaries(st);
}

std::string Store::integrity_check() {
  auto st = m_db.prepare("PRAGMA integrity_check");
  if (!st.step()) return "no result";
  return st.text(0);
}

}  // namespace kforge::store
