// Schema versions: a store written by an older kforge (tests/search/fixtures/store_v1.sql) opens
// migrated with its rows intact; a newer one is refused; a failing step changes nothing.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/exploit_staging.h"
#include "core/error.h"
#include "store/migrations.h"
#include "store/store.h"
#include "trace/dataset.h"

namespace kforge::store {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-store-migration-test");

fs::path fresh_db(const std::string& name) {
  const fs::path p = g_scratch / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p;
}

TEST(StoreMigrationTest, AVersionOneStoreOpensMigratedWithItsRows) {
  const fs::path file = fresh_db("v1");
  {
    SqliteDb db(file);
    // The dump creates tables in name order; foreign keys are checked once everything is in.
    db.exec("PRAGMA foreign_keys = OFF;");
    db.exec(read_text_file(fs::path(KFORGE_SOURCE_DIR) / "tests/search/fixtures/store_v1.sql"));
    db.exec("PRAGMA foreign_keys = ON;");
    EXPECT_EQ(schema_version(db), 1);
  }
  Store st(file);
  EXPECT_EQ(schema_version(st.db()), 2);
  EXPECT_EQ(st.integrity_check(), "ok");
  auto fk = st.db().prepare("PRAGMA foreign_key_check");
  EXPECT_FALSE(fk.step());
  const auto run = st.run(1);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->stop_reason, "max candidates (2)");
  EXPECT_EQ(st.best("gdn_decode_qk4_v8_d128_k_last")->candidate_id, 2);
  EXPECT_EQ(st.lineage(2).size(), 2u);
  EXPECT_EQ(st.candidate(2)->files.at(0).content, "int k = 1;");
  const auto rows = st.evaluations(2);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].latency_us, 100.0);
  EXPECT_TRUE(rows[0].trace.is_null());  // version 1 kept no traces
  // Version 2's column takes new rows.
  EvaluationRecord r = rows[0];
  r.stage = "regression";
  r.trace = {{"solution", "seed-r1s1"}};
  st.add_evaluations(2, {r});
  EXPECT_EQ(st.evaluations(2, "regression").at(0).trace["solution"], "seed-r1s1");
  // Opening again changes nothing.
  Store again(file);
  EXPECT_EQ(schema_version(again.db()), 2);
  EXPECT_EQ(again.evaluations(2).size(), 2u);
}

TEST(StoreMigrationTest, AStoreFromANewerKforgeIsRefused) {
  const fs::path file = fresh_db("newer");
  {
    Store st(file);
    st.db().exec("UPDATE schema_version SET version = 99");
  }
  try {
    Store st(file);
    FAIL() << "opened a version 99 store";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this kforge"), std::string::npos) << e.what();
  }
}

TEST(StoreMigrationTest, StepsApplyInOrderAndAFailingStepChangesNothing) {
  const fs::path file = fresh_db("steps");
  SqliteDb db(file);
  const std::vector<Migration> two = {
      {1, "t", "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0); "
               "CREATE TABLE t (a INTEGER);"},
      {2, "t.b", "ALTER TABLE t ADD COLUMN b TEXT;"}};
  migrate(db, {two[0]});
  EXPECT_EQ(schema_version(db), 1);
  migrate(db, two);
  EXPECT_EQ(schema_version(db), 2);
  db.exec("INSERT INTO t (a, b) VALUES (1, 'x')");
  auto broken = two;
  broken.push_back({3, "bad", "CREATE TABLE u (x INTEGER); THIS IS NOT SQL;"});
  EXPECT_THROW(migrate(db, broken), Error);
  EXPECT_EQ(schema_version(db), 2);
  auto u = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'u'");
  EXPECT_FALSE(u.step());  // the half of step 3 that ran was rolled back
}

}  // namespace
}  // namespace kforge::store
