#include "store/migrations.h"

#include "core/error.h"

namespace kforge::store {

namespace {

// Timestamps are ISO-8601 UTC text; JSON columns hold objects written by nlohmann-json. The
// shape group '' in best/best_history stands for the whole definition (every workload).
const char* kVersion1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  definition  TEXT NOT NULL,
  generator   TEXT NOT NULL,
  config      TEXT NOT NULL,
  seed        INTEGER NOT NULL,
  budget      TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished')),
  stop_reason TEXT NOT NULL DEFAULT '',
  created     TEXT NOT NULL,
  updated     TEXT NOT NULL
);

CREATE TABLE candidates (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id),
  step          INTEGER NOT NULL,
  definition    TEXT NOT NULL,
  name          TEXT NOT NULL,
  generator     TEXT NOT NULL,
  plan          TEXT NOT NULL DEFAULT '',
  content_hash  TEXT NOT NULL,
  solution      TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
  agent_seconds REAL,
  agent_exit    INTEGER,
  eval_seconds  REAL NOT NULL DEFAULT 0,
  created       TEXT NOT NULL,
  UNIQUE (run_id, step)
);
CREATE INDEX candidates_by_definition ON candidates (definition, state);
CREATE INDEX candidates_by_hash ON candidates (content_hash);

CREATE TABLE candidate_parents (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  parent_id    INTEGER NOT NULL REFERENCES candidates(id),
  rank         INTEGER NOT NULL,
  PRIMARY KEY (candidate_id, parent_id)
);

CREATE TABLE candidate_files (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  path         TEXT NOT NULL,
  content      TEXT NOT NULL,
  PRIMARY KEY (candidate_id, path)
);

CREATE TABLE evaluations (
  id            INTEGER PRIMARY KEY,
  candidate_id  INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  stage         TEXT NOT NULL,
  workload      TEXT NOT NULL,
  shape_group   TEXT NOT NULL,
  status        TEXT NOT NULL,
  max_abs_error REAL,
  max_rel_error REAL,
  matched_ratio REAL,
  latency_us    REAL,
  spread_us     REAL,
  stddev_us     REAL,
  reference_us  REAL,
  seed          INTEGER,
  environment   TEXT,
  log           TEXT NOT NULL DEFAULT '',
  created       TEXT NOT NULL
);
CREATE INDEX evaluations_by_candidate ON evaluations (candidate_id, stage);

CREATE TABLE summaries (
  candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
  tag          TEXT NOT NULL DEFAULT '',
  tag_group    TEXT NOT NULL DEFAULT '',
  stage        TEXT NOT NULL,
  changed      TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  latency_us   REAL,
  text         TEXT NOT NULL,
  created      TEXT NOT NULL
);
CREATE INDEX summaries_by_tag ON summaries (tag);

CREATE TABLE best (
  definition   TEXT NOT NULL,
  shape_group  TEXT NOT NULL,
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  latency_us   REAL NOT NULL,
  noise_us     REAL NOT NULL,
  updated      TEXT NOT NULL,
  PRIMARY KEY (definition, shape_group)
);

CREATE TABLE best_history (
  id                  INTEGER PRIMARY KEY,
  definition          TEXT NOT NULL,
  shape_group         TEXT NOT NULL,
  event               TEXT NOT NULL CHECK (event IN ('promote', 'rollback')),
  candidate_id        INTEGER NOT NULL REFERENCES candidates(id),
  previous_id         INTEGER REFERENCES candidates(id),
  latency_us          REAL NOT NULL,
  previous_latency_us REAL,
  noise_us            REAL NOT NULL,
  reason              TEXT NOT NULL,
  run_id              INTEGER REFERENCES runs(id),
  created             TEXT NOT NULL
);
)sql";

const char* kVersion2 = R"sql(
ALTER TABLE evaluations ADD COLUMN trace TEXT;
)sql";

bool has_version_table(SqliteDb& db) {
  auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  return st.step();
}

}  // namespace

const std::vector<Migration>& store_migrations() {
  static const std::vector<Migration> steps = {
      {1, "runs, candidates, evaluations, summaries, best and history", kVersion1},
      {2, "evaluations keep the evaluator's trace", kVersion2},
  };
  return steps;
}

int schema_version(SqliteDb& db) {
  if (!has_version_table(db)) return 0;
  auto st = db.prepare("SELECT version FROM schema_version");
  if (!st.step()) throw Error("schema_version table is empty", "one row").at_file(db.file().string());
  return static_cast<int>(st.int64(0));
}

void migrate(SqliteDb& db, const std::vector<Migration>& steps) {
  const int newest = steps.empty() ? 0 : steps.back().version;
  if (schema_version(db) > newest) {
    throw Error("database schema version " + std::to_string(schema_version(db)) + " is newer than this kforge",
                "version " + std::to_string(newest) + " or older (use a newer kforge)")
        .at_file(db.file().string());
  }
  if (schema_version(db) == newest) return;  // the usual case: no write lock taken
  for (const Migration& m : steps) {
    Transaction tx(db);
    // Read inside the transaction: another process may have migrated meanwhile.
    if (schema_version(db) >= m.version) continue;
    db.exec(m.sql);
    db.prepare("UPDATE schema_version SET version = ?1").bind(1, m.version).run();
    tx.commit();
  }
}

}  // namespace kforge::store
