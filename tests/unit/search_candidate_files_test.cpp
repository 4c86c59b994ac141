// Candidates between disk and store: the content hash sees what decides the kernel only, a record
// written to disk loads back as the same solution, and changes are described line by line.
#include <gtest/gtest.h>

#include "common/exploit_staging.h"
#include "common/fake_judge.h"
#include "search/candidate_files.h"

namespace kforge::search {
namespace {

namespace fs = std::filesystem;

const fs::path g_scratch = test_support::scratch_folder("kforge-search-candidate-files-test");

TEST(SearchCandidateFilesTest, TheHashIgnoresNamesAndSourceOrderButNotContent) {
  auto a = test_support::fake_solution("a", "d", "int x;").solution;
  auto b = a;
  b.name = "renamed";
  b.description = "other words";
  EXPECT_EQ(content_hash(a), content_hash(b));
  a.sources.push_back({"z.h", "#pragma once", {}});
  b.sources.insert(b.sources.begin(), {"z.h", "#pragma once", {}});
  EXPECT_EQ(content_hash(a), content_hash(b));
  b.sources[0].content += " ";
  EXPECT_NE(content_hash(a), content_hash(b));
  auto c = a;
  c.spec.entry_point = "z.h::run";
  EXPECT_NE(content_hash(a), content_hash(c));
}

TEST(SearchCandidateFilesTest, ARecordWrittenToDiskLoadsBackTheSame) {
  Solution s = test_support::fake_solution("a", "d", "int x;\n").solution;
  s.sources.push_back({"sub/impl.h", "#pragma once\n", {}});
  store::CandidateRecord rec = candidate_record(s);
  EXPECT_FALSE(rec.solution["sources"][0].contains("content"));
  ASSERT_EQ(rec.files.size(), 2u);
  rec.id = 3;
  const SolutionDir dir = write_candidate(rec, g_scratch / "c3");
  const SolutionDir loaded = load_solution_dir(dir.dir);
  EXPECT_EQ(to_json(loaded.solution), to_json(s));
  EXPECT_EQ(content_hash(solution_of(rec)), rec.content_hash);
  rec.files.pop_back();
  EXPECT_THROW(solution_of(rec), Error);
}

TEST(SearchCandidateFilesTest, ChangesAreCountedInLines) {
  const std::vector<store::SourceFileRecord> before = {{"k.cpp", "a\nb\nc\n"}, {"old.h", "x\n"}, {"same.h", "s\n"}};
  const std::vector<store::SourceFileRecord> after = {{"k.cpp", "a\nB\nc\nd\n"}, {"new.h", "y\n"}, {"same.h", "s\n"}};
  EXPECT_EQ(describe_changes(before, after), "k.cpp: +2 -1 lines; new new.h; removed old.h");
  EXPECT_EQ(describe_changes(before, before), "no change");
  // A moved line is neither added nor removed.
  EXPECT_EQ(describe_changes({{"k", "a\nb\n"}}, {{"k", "b\na\n"}}), "k: lines moved");
}

}  // namespace
}  // namespace kforge::search
