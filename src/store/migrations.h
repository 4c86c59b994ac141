// @brief The store's schema as an ordered list of migrations, and the code that brings a
// database file up to the newest version (each step in its own transaction).
#pragma once

#include <string>
#include <vector>

#include "store/sqlite.h"

namespace kforge::store {

struct Migration {
  int version;      // the schema version after this step: 1, 2, ...
  std::string what;  // one line, for messages
  std::string sql;
};

// Version 1: runs, candidates (+ parents, files), evaluations, summaries, best and its history.
// Version 2: evaluations keep the evaluator's whole FlashInfer-Bench trace (JSON).
const std::vector<Migration>& store_migrations();

// 0 for a database without kforge's schema_version table.
int schema_version(SqliteDb& db);

// Applies the steps above the file's version, in order. Throws Error for a file written by a
// newer kforge (a version above the last step), which this binary must not modify.
void migrate(SqliteDb& db, const std::vector<Migration>& steps = store_migrations());

}  // namespace kforge::store
